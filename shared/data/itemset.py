"""`ItemSet`: what one split of any task's data shares, whatever its labels are."""

import dataclasses
import os

import numpy as np

from shared.data.files import not_regular
from shared.data.images import find_unreadable, read_image


class ItemSet:
    """Base of the task sets (a dataclass each): images from files (`paths`) or an array (`images`,
    `uint8 [N, H, W, 3]`), with per-image labels of the task's own kind.

    A subclass lists in `ITEM_FIELDS` its fields that hold one entry per image (lists or arrays,
    the first one set giving the length), and in `TALLIES` its fields that count what reading
    found (a subset starts them afresh); `skipped` lists `(path, reason)` for files left out.
    """

    ITEM_FIELDS = ("paths", "images")
    TALLIES = ("skipped",)
    ARRAY_NAME = "#{}"  # the name of item i of an in-memory set

    def __len__(self):
        for field in self.ITEM_FIELDS:
            value = getattr(self, field)
            if value is not None:
                return len(value)
        return 0

    def image(self, index):
        """Image `index` as `uint8 [H, W, 3]`, at its original size."""
        return self.images[index] if self.images is not None else read_image(self.paths[index])

    def name(self, index):
        """How reports name item `index`: its file's name."""
        return os.path.basename(self.paths[index]) if self.paths is not None else self.ARRAY_NAME.format(index)

    def location(self, index):
        """Where item `index` is, for a link a person clicks: its file's whole path, or its name in an array."""
        return self.paths[index] if self.paths is not None else self.ARRAY_NAME.format(index)

    def subset(self, indices):
        """The items at `indices`, in that order; tallies start afresh."""
        indices = np.asarray(indices, np.int64)

        def pick(value):
            if value is None:
                return None
            if isinstance(value, np.ndarray):
                return value[indices]
            return [value[i] for i in indices]

        fresh = {field.name: field.default_factory() for field in dataclasses.fields(self)
                 if field.name in self.TALLIES}
        return dataclasses.replace(self, **{name: pick(getattr(self, name)) for name in self.ITEM_FIELDS}, **fresh)

    def keep(self, indices):
        """Keep only the items at `indices`, in place (tallies stay). Returns self."""
        kept = self.subset(indices)
        for name in self.ITEM_FIELDS:
            setattr(self, name, getattr(kept, name))
        return self

    def unreadable(self):
        """`{path: reason}` of the files that will not decode, the ones that are not regular files (a FIFO,
        a device, a link loop) among them, never opened."""
        bad = {path: why for path in self.paths if (why := not_regular(path))}
        bad.update(find_unreadable([path for path in self.paths if path not in bad]))
        return bad

    def check(self):
        """Decode every file once (a truncated file must not stop an epoch later); move the ones that fail
        to `skipped`, and the ones that are not regular files (a FIFO, a device, a link loop) unopened.
        Returns self."""
        if self.paths is None:
            return self
        bad = self.unreadable()
        if bad:
            self.keep([i for i, path in enumerate(self.paths) if path not in bad])
            self.skipped += sorted(bad.items())
        return self
