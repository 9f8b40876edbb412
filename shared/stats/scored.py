"""What an evaluation leaves for later statistics: each image's outcome, and how to score resamples of them.

`evaluate` writes `per_image.npz` beside its report (classification and segmentation; detection and
instance segmentation leave COCO files that say the same); a task's `Task.scored` reads it back as a
`Scored`, which `trident compare` pairs image by image.
"""

import dataclasses
import os

import numpy as np

from shared.errors import fail
from shared.io import atomic_path

PER_IMAGE = "per_image.npz"


@dataclasses.dataclass
class Scored:
    """A split's images and how to score any resample of them.

    Attributes:
        images: list of str, the images' names, in the order `score`'s weights follow.
        score: callable, `weights [R, N] -> {metric: [R] values}` (`shared.stats.bootstrap`).
        metrics: tuple of str, the headline metrics; `compare`'s verdict is on the first.
        correct: bool `[N]`, each image right or wrong (classification: McNemar's test), or None.
    """

    images: list
    score: object
    metrics: tuple
    correct: np.ndarray = None

    def values(self):
        """`{metric: value}` on the split as it is (every image drawn once)."""
        scores = self.score(np.ones((1, len(self.images))))
        return {name: float(scores[name][0]) for name in self.metrics}


def write_per_image(folder, images, **arrays):
    """`folder/per_image.npz`: the images' names and one array per outcome (written whole or not at all)."""
    path = os.path.join(folder, PER_IMAGE)
    with atomic_path(path, ".npz") as tmp:
        np.savez_compressed(tmp, images=np.asarray(images, dtype=str), **arrays)
    return path


def read_per_image(folder):
    """The arrays `write_per_image` wrote; a clear error when the folder has none."""
    path = os.path.join(folder, PER_IMAGE)
    if not os.path.isfile(path):
        fail(f"Evaluation {folder} has no {PER_IMAGE} (made by an older Trident, or not an evaluation)",
             "Evaluate the run again (`trident <task> evaluate --run RUN`)", evaluation=folder)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        fail(f"Cannot read {path}: {error}", "Evaluate the run again to rewrite it", evaluation=folder)
