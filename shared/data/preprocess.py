"""The one resize every path uses (training, evaluation, export), so they agree exactly."""

import tensorflow as tf


def resize_images(images, size):
    """Resize `[B, H, W, 3]` or `[H, W, 3]` images of any dtype to float32 `size x size`.

    Bilinear with antialiasing, so large photos shrink without aliasing; values stay 0..255.
    """
    images = tf.cast(images, tf.float32)
    return tf.image.resize(images, (size, size), method="bilinear", antialias=True)


def decode_image_bytes(data):
    """Encoded JPEG/PNG/BMP/GIF bytes to `uint8 [H, W, 3]` (first GIF frame, RGB)."""
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image
