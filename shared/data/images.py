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
    """Decode every file in parallel; return `{path: reason}` for those that fail."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        problems = pool.map(image_problem, paths)
    return {path: reason for path, reason in zip(paths, problems) if reason}
