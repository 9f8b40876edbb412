"""The one image decode: every way from an image file to pixels goes through `decode_image`.

Training, evaluation, predict, the reports and the export's `serve_bytes` decode with it
(in a tf.data pipeline, eagerly, or inside the SavedModel), so a file gives the same pixels
everywhere:
- the format is read from the bytes, not the name (a PNG named `.jpg` decodes as a PNG);
- grayscale, palette and RGBA (alpha dropped) become RGB; 16-bit PNGs are scaled to 8 bits;
- a JPEG's EXIF orientation is applied, so the pixels stand as a photo viewer shows them;
- a GIF gives its first frame.

With `min_side`, a JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling while
both sides (or the long side, for letterboxing) stay at least `min_side` pixels: a large
photo headed for a small training size costs a fraction of the time and memory of a full
decode, and the antialiased resize that follows sees the same scene.
"""

import tensorflow as tf

JPEG_MAGIC = b"\xff\xd8\xff"
EXIF_SEARCH_BYTES = 65536  # the APP1 segment that holds EXIF is at most 64 KiB, near the start
# Tag 0x0112 (orientation), type SHORT, count 1, in both byte orders; the value follows.
_ORIENTATION_ENTRY = {
    "little": b"\x12\x01\x03\x00\x01\x00\x00\x00",
    "big": b"\x01\x12\x00\x03\x00\x00\x00\x01",
}
_RATIOS = (1, 2, 4, 8)
# The most pixels `predict` and the exports' `serve_bytes` decode from one image unless told otherwise
# (`--max-pixels`): a 100 MP photo is 300 MB decoded; a 1 MB PNG of 20000 x 20000 would be 1.2 GB.
MAX_PIXELS = 100_000_000


def is_jpeg(data):
    return tf.equal(tf.strings.substr(data, 0, 3), JPEG_MAGIC)


def exif_orientation(data):
    """The EXIF orientation (1..8) of encoded JPEG bytes; 1 when absent or invalid."""
    head = tf.strings.substr(data, 0, EXIF_SEARCH_BYTES)
    found = tf.constant(0, tf.int32)
    for order, entry in _ORIENTATION_ENTRY.items():
        parts = tf.strings.split(head, sep=entry)
        after = tf.cond(tf.size(parts) > 1, lambda p=parts: p[1], lambda: tf.constant(b""))
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(after + b"\x00\x00", 0, 2), tf.uint8), tf.int32)
        value = raw[0] + 256 * raw[1] if order == "little" else 256 * raw[0] + raw[1]
        found = tf.where((found == 0) & (tf.size(parts) > 1), value, found)
    return tf.where((found >= 1) & (found <= 8), found, 1)


def apply_orientation(image, orientation):
    """Turn `[H, W, C]` pixels stored with EXIF `orientation` upright (as PIL's `exif_transpose`)."""
    transpose = lambda x: tf.transpose(x, [1, 0, 2])  # noqa: E731
    branches = [
        lambda: image,                                   # 1: as stored
        lambda: tf.reverse(image, [1]),                  # 2: mirrored left-right
        lambda: tf.reverse(image, [0, 1]),               # 3: rotated 180
        lambda: tf.reverse(image, [0]),                  # 4: mirrored top-bottom
        lambda: transpose(image),                        # 5: transposed
        lambda: tf.reverse(transpose(image), [1]),       # 6: rotated 90 clockwise
        lambda: tf.reverse(transpose(image), [0, 1]),    # 7: transversed
        lambda: tf.reverse(transpose(image), [0]),       # 8: rotated 90 counter-clockwise
    ]
    return tf.switch_case(orientation - 1, branches)


def jpeg_ratio(data, min_side, side="short"):
    """The largest DCT scale-down (1, 2, 4 or 8) that keeps the `side` side at least `min_side`."""
    shape = tf.image.extract_jpeg_shape(data)[:2]
    reference = tf.reduce_min(shape) if side == "short" else tf.reduce_max(shape)
    index = tf.constant(0, tf.int32)
    for i, ratio in enumerate(_RATIOS[1:], start=1):  # libjpeg rounds scaled sides up
        index = tf.where((reference + ratio - 1) // ratio >= min_side, i, index)
    return index


def _decode_jpeg(data, min_side, side):
    if min_side is None:
        image = tf.io.decode_jpeg(data, channels=3)
    else:
        index = jpeg_ratio(data, min_side, side)
        image = tf.switch_case(index, [lambda r=r: tf.io.decode_jpeg(data, channels=3, ratio=r) for r in _RATIOS])
    return apply_orientation(image, exif_orientation(data))


def header_size(data):
    """`int64 [2]`: the upright (height, width) an encoded image will decode to, read from its header
    alone (JPEG with its EXIF orientation, PNG, GIF, BMP); `[-1, -1]` for other bytes."""
    head = tf.strings.substr(data + _PAD, 0, 32)

    def number(at, dtype, little_endian):
        value = tf.io.decode_raw(tf.strings.substr(head, at, dtype.size), dtype, little_endian=little_endian)[0]
        return tf.abs(tf.cast(value, tf.int64))  # a BMP stored top-down has a negative height

    def jpeg():
        shape = tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64)
        return tf.where(exif_orientation(data) >= 5, shape[::-1], shape)

    magic = tf.strings.substr(head, 0, 4)
    return tf.case([
        (is_jpeg(data), jpeg),
        (tf.equal(magic, b"\x89PNG"), lambda: tf.stack([number(20, tf.int32, False), number(16, tf.int32, False)])),
        (tf.equal(tf.strings.substr(head, 0, 3), b"GIF"),
         lambda: tf.stack([number(8, tf.uint16, True), number(6, tf.uint16, True)])),
        (tf.equal(tf.strings.substr(head, 0, 2), b"BM"),
         lambda: tf.stack([number(22, tf.int32, True), number(18, tf.int32, True)])),
    ], default=lambda: tf.constant([-1, -1], tf.int64))


_PAD = b"\0" * 32


def pixel_limit_check(data, max_pixels, fix):
    """An op failing (InvalidArgumentError, its message saying `fix`) when the image `data` would decode to
    more than `max_pixels` pixels: checked on the header, before a decode could take the memory."""
    size = header_size(data)
    return tf.debugging.assert_less_equal(
        size[0] * size[1], tf.constant(max_pixels, tf.int64),
        message=f"the image has more than {max_pixels:,} pixels, the limit for one image. {fix}")


def decode_image(data, min_side=None, side="short", max_pixels=None, fix=""):
    """Encoded image bytes (scalar string) to upright `uint8 [H, W, 3]` RGB.

    Args:
        data: scalar string tensor, the file's bytes.
        min_side: int or None; decode JPEGs at reduced scale while the `side` side stays
            at least this many pixels. None decodes at full size.
        side: "short" (the image is resized to a square: both sides matter) or "long"
            (letterboxed: the long side matters).
        max_pixels: int or None; refuse (before decoding) an image of more pixels, the error
            ending with `fix`.
    """
    if max_pixels is not None:
        with tf.control_dependencies([pixel_limit_check(data, max_pixels, fix)]):
            data = tf.identity(data)
    image = tf.cond(
        is_jpeg(data),
        lambda: _decode_jpeg(data, min_side, side),
        lambda: tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False),
    )
    return tf.ensure_shape(image, [None, None, 3])


def decode_file(path, min_side=None, side="short"):
    """`decode_image` of a file, eagerly, as a NumPy array."""
    return decode_image(tf.io.read_file(path), min_side, side).numpy()
