"""`ImageSet`: labelled images from files or an in-memory array, one split of a data set."""

import dataclasses
import hashlib
import os

import numpy as np

from shared.data.images import find_unreadable, read_image


@dataclasses.dataclass
class ImageSet:
    """Images with integer labels.

    Exactly one of `paths` (image files) and `images` (`uint8 [N, H, W, 3]`) is set.
    `regions` (`bool [N, H, W]`, optional) marks where each image's object is, when the data
    says (built-in digits: the ink); evaluation then scores how much of each heat map falls on it.
    `skipped` lists `(path, reason)` for files left out because they would not decode.
    """

    ITEM_FIELDS = ("labels", "paths", "images", "regions")  # one entry per image (not a dataclass field)

    labels: np.ndarray
    class_names: list
    paths: list = None
    images: np.ndarray = None
    regions: np.ndarray = None
    skipped: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int32)

    def __len__(self):
        return len(self.labels)

    def subset(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        return ImageSet(
            labels=self.labels[indices],
            class_names=self.class_names,
            paths=[self.paths[i] for i in indices] if self.paths is not None else None,
            images=self.images[indices] if self.images is not None else None,
            regions=self.regions[indices] if self.regions is not None else None,
        )

    def relabel(self, remap, class_names):
        """This set with class `i` renamed to `remap[i]` of `class_names` (a model's class table)."""
        return dataclasses.replace(self, labels=np.asarray(remap)[self.labels], class_names=list(class_names))

    def image(self, index):
        """Image `index` as `uint8 [H, W, 3]`, at its original size."""
        if self.images is not None:
            return self.images[index]
        return read_image(self.paths[index])

    def name(self, index):
        return self.paths[index] if self.paths is not None else f"#{index}"

    def drop_unreadable(self):
        """Decode every file once; move the ones that fail to `skipped`. Returns self."""
        if self.paths is None:
            return self
        bad = find_unreadable(self.paths)
        if bad:
            keep = [i for i, path in enumerate(self.paths) if path not in bad]
            self.skipped += sorted(bad.items())
            self.paths = [self.paths[i] for i in keep]
            self.labels = self.labels[keep]
            self.regions = self.regions[keep] if self.regions is not None else None
        return self

    def fingerprint(self):
        """A content-free but change-sensitive hash: names, sizes, labels (or the pixels)."""
        digest = hashlib.sha256()
        digest.update(",".join(self.class_names).encode())
        digest.update(self.labels.tobytes())
        if self.images is not None:
            digest.update(np.ascontiguousarray(self.images).tobytes())
        else:
            for path in self.paths:
                digest.update(os.path.basename(path).encode())
                digest.update(str(os.path.getsize(path)).encode())
        return digest.hexdigest()[:16]
