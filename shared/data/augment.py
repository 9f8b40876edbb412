"""Training-time augmentation from Keras preprocessing layers, applied to batches in tf.data."""

import tensorflow as tf

from shared.errors import fail

AUGMENTATIONS = ("flip", "crop", "color")
BOX_ONLY = ("mosaic", "jitter")  # four images in one; box-aware scale jitter: detection only


def parse_augment(text, extra=()):
    """`"auto"`, `"none"` or a comma list of `AUGMENTATIONS` (and `extra`) to a list of names.

    `auto` is the three common ones here; a training run replaces it beforehand with the
    policy the data calls for (`shared.engine.defaults.augment_for`).
    """
    known = AUGMENTATIONS + tuple(extra)
    text = (text or "none").strip().lower()
    if text == "auto":
        return list(AUGMENTATIONS)
    if text == "none":
        return []
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in known:
            fail(f"Unknown augmentation `{name}`", f"Use a comma list of {', '.join(known)}, 'auto' or 'none'",
                 augment=text)
    return names


def build_augmenter(names, seed=0):
    """A function `augment(images, training=True)` on float batches in 0..255, or None when empty.

    flip: horizontal mirror of half the images. crop: zoom in by up to 20% and shift by up
    to 10% of the side, reflecting at the edges, in one affine warp per image. color:
    brightness (+-20% of the range), contrast (x0.8..1.2) and saturation (x0.3..1.7, a blend
    with the image's gray) per image, clipped to 0..255. Plain TensorFlow ops, seeded by
    `seed` and the global seed: about twice as fast as the equivalent Keras layers, so
    augmenting never holds up training.
    """
    names = [name for name in AUGMENTATIONS if name in names]
    if not names:
        return None

    def augment(images, training=True):
        if not training:
            return images
        images = tf.convert_to_tensor(images, tf.float32)
        if "flip" in names:
            images = _flip(images, seed)
        if "crop" in names:
            images = _zoom_shift(images, 0.2, 0.1, seed + 1)
        if "color" in names:
            images = _colour(images, seed + 3)
        return images

    return augment


def _uniform(batch, low, high, seed):
    return tf.random.uniform([batch], low, high, seed=seed)


def _flip(images, seed):
    mirror = _uniform(tf.shape(images)[0], 0.0, 1.0, seed) < 0.5
    return tf.where(mirror[:, None, None, None], tf.reverse(images, [2]), images)


def _zoom_shift(images, zoom, shift, seed):
    """Each output pixel reads input (scale * (x - c) + c + t): scale < 1 zooms in."""
    batch = tf.shape(images)[0]
    height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
    scale = _uniform(batch, 1.0 - zoom, 1.0, seed)
    tx = _uniform(batch, -shift, shift, seed + 10) * width
    ty = _uniform(batch, -shift, shift, seed + 20) * height
    zero = tf.zeros_like(scale)
    transforms = tf.stack([scale, zero, (1.0 - scale) * (width - 1) / 2 + tx,
                           zero, scale, (1.0 - scale) * (height - 1) / 2 + ty, zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=transforms,
                                                 output_shape=tf.shape(images)[1:3], fill_value=0.0,
                                                 interpolation="BILINEAR", fill_mode="REFLECT")


def _colour(images, seed):
    batch = tf.shape(images)[0]
    images = images + _uniform(batch, -0.2, 0.2, seed)[:, None, None, None] * 255.0
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    images = (images - mean) * _uniform(batch, 0.8, 1.2, seed + 10)[:, None, None, None] + mean
    gray = tf.reduce_mean(images, axis=3, keepdims=True)
    images = gray + (images - gray) * _uniform(batch, 0.3, 1.7, seed + 20)[:, None, None, None]
    return tf.clip_by_value(images, 0.0, 255.0)
