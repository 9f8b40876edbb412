"""Reading image files: the formats Trident accepts and a checked decode for each."""

import os
import re

from PIL import Image

from shared.data.files import not_regular
from shared.errors import fail

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
ORIENTATION_TAG = 0x0112


def is_image_file(path):
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def read_image(path, max_pixels=None):
    """Decode an image file to upright `uint8 [H, W, 3]` RGB with `shared.data.decode`.

    The same decode as training and the export: grayscale, RGBA and palette images
    become RGB (alpha is dropped), 16-bit images are scaled to 8 bits, a JPEG's EXIF
    orientation is applied, a GIF gives its first frame. Raises `TridentError` naming
    the file if it cannot be decoded, or (with `max_pixels`) if its header says it has more pixels.
    """
    from shared.data.decode import decode_file

    why = not_regular(path)
    if why:
        fail(f"Image file {path} cannot be read: {why}", "Check the path", path=path)
    if max_pixels is not None:
        _check_pixels(path, max_pixels)
    try:
        return decode_file(path)
    except Exception as error:  # TensorFlow raises InvalidArgumentError and others
        fail(f"Image file {path} cannot be decoded ({_short(error)})",
             "Replace or remove the file; Trident reads JPEG, PNG, BMP and GIF", path=path)


def _check_pixels(path, max_pixels):
    import tensorflow as tf

    from shared.data.decode import header_size

    try:
        height, width = (int(v) for v in header_size(tf.io.read_file(path)).numpy())
    except Exception:  # a header that cannot be read: the decode says what is wrong
        return
    if height * width > max_pixels:
        fail(f"Image file {path} is {width} x {height} = {height * width:,} pixels, over the limit of "
             f"{max_pixels:,} for one image", "Shrink it, or pass --max-pixels with a higher number if the "
             "machine has the memory (3 bytes per pixel, several times over)", path=path)


def _short(error):
    """The first line of a decoder's message, without TensorFlow's op and device decorations."""
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:[^\]]*\].*", "", str(error)).strip()
    lines = text.splitlines()
    return lines[0][:200] if lines else type(error).__name__


def oriented_size(path):
    """`(height, width)` of an image as decoded (EXIF orientation applied), from its header.

    None when the header cannot be read (the decode check reports the file) or the file is not a
    regular one (`shared.data.files`: never opened).
    """
    if not_regular(path):
        return None
    try:
        with Image.open(path) as image:
            height, width = image.height, image.width
            if image.format == "JPEG" and image.getexif().get(ORIENTATION_TAG, 1) in (5, 6, 7, 8):
                height, width = width, height
            return height, width
    except Exception:  # PIL raises many types for corrupt headers
        return None


def find_unreadable(paths):
    """Decode every file as training will; return `{path: reason}` for those that fail.

    JPEGs are decoded at 1/8 scale (the whole compressed stream is still read, so a
    truncated file fails), in parallel. A file kept here decodes everywhere, so pipelines
    need no error skipping, keep a known length (Keras' loss averages and the LR schedule
    rely on it) and never fail mid-epoch.
    """
    if not paths:
        return {}
    import tensorflow as tf

    from shared.data.decode import decode_image

    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), list(paths)))
    ds = ds.map(lambda i, p: (i, tf.shape(decode_image(tf.io.read_file(p), min_side=1))),
                num_parallel_calls=tf.data.AUTOTUNE)
    decoded = {int(i) for i, shape in ds.ignore_errors() if int(tf.reduce_min(shape[:2])) > 0}
    from shared.data.decode import decode_file

    problems = {}
    for i, path in enumerate(paths):
        if i not in decoded:
            try:
                decode_file(path)
                problems[path] = "empty image"
            except Exception as error:  # the reason, from the one decode that failed
                problems[path] = _short(error)
    return problems
