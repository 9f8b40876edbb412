"""Letterbox resize: keep the aspect ratio, pad to a square. Shared by training, evaluation, export."""

import tensorflow as tf

PAD_VALUE = 114.0


def letterbox(images, size):
    """Resize `[B, H, W, 3]` images (one size per batch) into `size x size`, padding bottom/right.

    Returns:
        (float32 images `[B, size, size, 3]`, scale): original pixel coordinates times
        `scale` are letterboxed coordinates.
    """
    if images.shape[1] == size and images.shape[2] == size:  # known already square at the size: as it is
        return tf.cast(images, tf.float32), tf.constant(1.0)
    if images.shape[1] is None or images.shape[2] is None:  # a graph for any size (an export): decided per call
        shape = tf.shape(images)
        boxed, scale = tf.cond(tf.logical_and(shape[1] == size, shape[2] == size),
                               lambda: (tf.cast(images, tf.float32), tf.constant(1.0)),
                               lambda: _resized_and_padded(images, size))
        return tf.ensure_shape(boxed, [None, size, size, 3]), scale
    return _resized_and_padded(images, size)


def _resized_and_padded(images, size):
    shape = tf.shape(images)
    height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.maximum(height, width)
    new_h = tf.maximum(1, tf.cast(tf.round(height * scale), tf.int32))
    new_w = tf.maximum(1, tf.cast(tf.round(width * scale), tf.int32))
    if images.dtype not in (tf.uint8, tf.float32):  # uint8 resizes as is: same result, faster
        images = tf.cast(images, tf.float32)
    resized = tf.cast(tf.image.resize(images, tf.stack([new_h, new_w]), method="bilinear", antialias=True),
                      tf.float32)
    padded = tf.pad(resized - PAD_VALUE, [[0, 0], [0, size - new_h], [0, size - new_w], [0, 0]]) + PAD_VALUE
    return tf.ensure_shape(padded, [None, size, size, 3]), scale
