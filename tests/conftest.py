"""Shared fixtures: tiny image folders written per test, and quiet TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

CLASSES = ("bars", "dots", "plain")


def pattern(kind, size, rng):
    """A 3-channel uint8 image whose class is visible: stripes, dots or a flat colour."""
    image = np.full((size, size, 3), rng.integers(20, 60), np.uint8)
    if kind == "bars":
        image[:, ::4] = 230
    elif kind == "dots":
        image[::4, ::4] = 230
    else:
        image[:] = rng.integers(120, 200)
    return image


def write_class_folders(root, per_class=6, size=24, seed=0, formats=("png", "jpg")):
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        os.makedirs(os.path.join(root, kind), exist_ok=True)
        for i in range(per_class):
            fmt = formats[i % len(formats)]
            Image.fromarray(pattern(kind, size, rng)).save(os.path.join(root, kind, f"{i}.{fmt}"))
    return str(root)


@pytest.fixture
def class_folder(tmp_path):
    """`tmp/data/<class>/<i>.png|jpg`: 3 classes x 6 images of 24 px."""
    return write_class_folders(tmp_path / "data")


def tiny_train_args(data, runs_dir, *extra):
    return ["--data", str(data), "--backbone", "lenet5", "--image-size", "16", "--batch-size", "2",
            "--epochs", "1", "--runs-dir", str(runs_dir), "--verbose", "0", "--val-fraction", "0.2",
            "--test-fraction", "0.2", *extra]
