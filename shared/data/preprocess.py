"""The one resize every path uses (training, evaluation, export), so they agree exactly."""

import numpy as np
import tensorflow as tf


def resize_images(images, size):
    """Resize `[B, H, W, 3]` or `[H, W, 3]` images of any dtype to float32 `size x size`.

    Bilinear with antialiasing, so large photos shrink without aliasing; values stay 0..255.
    uint8 images go into the resize as they are: the result is the same as resizing them
    cast to float32, and reading a quarter of the bytes makes it about 1.8x faster.
    """
    if images.shape[-3] == size and images.shape[-2] == size:  # known already the size: no resize op at all
        return tf.cast(images, tf.float32)  # (the same values: at scale 1 the filter is the identity)
    if images.dtype not in (tf.uint8, tf.float32):
        images = tf.cast(images, tf.float32)
    return tf.cast(tf.image.resize(images, (size, size), method="bilinear", antialias=True), tf.float32)


def uint8_at_size(image, size, letterboxed=False):
    """`(uint8 [size, size, 3], scale)`: one `[H, W, 3]` image as a fixed-size runtime takes it,
    resized (or letterboxed, padding 114, for detection; `scale` maps its pixels to the result's)."""
    from shared.data.letterbox import letterbox

    batch = tf.constant(image[None])
    sized, scale = letterbox(batch, size) if letterboxed else (resize_images(batch, size), 1.0)
    return np.clip(np.round(sized[0].numpy()), 0, 255).astype(np.uint8), float(scale)
