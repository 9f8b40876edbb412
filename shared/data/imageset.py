"""`ImageSet`: labelled images from files or an in-memory array, one split of a data set."""

import dataclasses
import hashlib
import os

import numpy as np

from shared.data.itemset import ItemSet


@dataclasses.dataclass
class ImageSet(ItemSet):
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

    def relabel(self, remap, class_names):
        """This set with class `i` renamed to `remap[i]` of `class_names` (a model's class table)."""
        return dataclasses.replace(self, labels=np.asarray(remap)[self.labels], class_names=list(class_names))

    def name(self, index):
        """Item `index`'s whole path (class folders repeat file names), or `#index`."""
        return self.paths[index] if self.paths is not None else self.ARRAY_NAME.format(index)

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
