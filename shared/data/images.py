"""Reading image files: the formats Trident accepts and a checked decode for each."""

import concurrent.futures
import os

import numpy as np
from PIL import Image

from shared.errors import fail

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def is_image_file(path):
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def read_image(path):
    """Decode an image file to `uint8 [H, W, 3]` RGB.

    Grayscale, RGBA and palette images become RGB (alpha is dropped); a GIF gives its
    first frame. Raises `TridentError` naming the file if it cannot be decoded.
    """
    try:
        with Image.open(path) as image:
            image.seek(0)
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        fail(f"Image file {path} does not exist", "Check the path", path=path)
    except Exception as error:
        fail(f"Image file {path} cannot be decoded ({error})",
             "Replace or remove the file; Trident reads JPEG, PNG, BMP and GIF", path=path)


def image_problem(path):
    """None if `path` decodes fully, else a short reason."""
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            if image.width < 1 or image.height < 1:
                return "empty image"
        return None
    except Exception as error:  # PIL raises many types for corrupt data.
        return f"{type(error).__name__}: {error}"


def find_unreadable(paths, workers=8):
    """Decode every file with PIL and with TensorFlow; return `{path: reason}` for failures.

    Reports and `predict` read with PIL, training pipelines with TensorFlow; a file
    kept here decodes in both, so pipelines need no error skipping, keep a known length
    (Keras' loss averages and the LR schedule rely on it) and never fail mid-epoch.
    """
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        problems = dict(zip(paths, pool.map(image_problem, paths)))
    for path in _tensorflow_failures([p for p in paths if not problems[p]]):
        problems[path] = "TensorFlow cannot decode it"
    return {path: reason for path, reason in problems.items() if reason}


def _tensorflow_failures(paths):
    if not paths:
        return []
    import tensorflow as tf

    from shared.data.preprocess import decode_image_bytes

    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), list(paths)))
    ds = ds.map(lambda i, p: (i, tf.shape(decode_image_bytes(tf.io.read_file(p)))), num_parallel_calls=tf.data.AUTOTUNE)
    decoded = {int(i) for i, _ in ds.ignore_errors()}
    return [path for i, path in enumerate(paths) if i not in decoded]
