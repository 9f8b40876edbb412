"""One training-time augmentation stack for every task: images with their boxes and per-pixel maps.

Each `--augment` word means the same for every task:
- flip: a horizontal mirror of half the images;
- crop: a random zoom of `ZOOM` (below 1 shows more than the image, the rest filled with gray;
  above 1 cuts a part out) and a shift of up to `SHIFT` of the side each way, one affine warp;
- color: brightness (+-20% of the range), contrast (x0.8..1.2) and saturation (x0.3..1.7, a blend
  with the image's gray), clipped to 0..255.
Boxes and maps (class masks, instance-id maps, at any resolution) move with their image; a box
pushed (almost) out of the image is dropped. Every draw is stateless and comes from one seed
pair per batch, which comes from `--seed`: the same seed gives the same augmented epochs, whichever
thread of the parallel map runs first. Plain TensorFlow ops on batches: about twice as fast as the
equivalent Keras layers, so augmenting never holds up training.
"""

import tensorflow as tf

from shared.data.letterbox import PAD_VALUE
from shared.errors import fail

AUGMENTATIONS = ("flip", "crop", "color")
BOX_ONLY = ("mosaic", "jitter")  # four images in one; box-aware scale jitter: detection only
ZOOM = (0.8, 1.4)
SHIFT = 0.1
MIN_BOX_SIDE = 2.0  # pixels: a box narrower after the warp has left the image


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


def augmented(batches, names, seed, apply):
    """`batches` with `apply(draw, *batch)` mapped over them, `draw` a fresh `int64 [2]` seed per batch.

    The draws come from `seed` and change every epoch; an empty `names` leaves `batches` as they are.
    """
    if not names:
        return batches
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip((draws, batches)).map(lambda draw, batch: apply(draw, *batch),
                                                      num_parallel_calls=tf.data.AUTOTUNE)


def augment_batch(names, draw, images, boxes=None, labels=None, maps=None, map_fill=0):
    """One batch changed by the words in `names`, every part by the same draws from `draw`.

    Args:
        images: float `[B, H, W, 3]` in 0..255.
        boxes, labels: float `[B, N, 4]` xyxy pixels and int `[B, N]`, padded with -1, or None.
        maps: int `[B, h, w]` or `[B, h, w, 1]` on a grid `h / H` times the image's, or None.
        map_fill: the map's value where the warp shows more than the image (0: no object; 255: ignore).

    Returns:
        `(images, boxes, labels, maps)`, None where None came in.
    """
    flip_draw, zoom_draw, shift_draw, colour_draw = tf.unstack(tf.random.experimental.stateless_split(draw, 4))
    images = tf.convert_to_tensor(images, tf.float32)
    squeeze = maps is not None and len(maps.shape) == 3
    if squeeze:
        maps = maps[..., None]
    if "flip" in names:
        images, boxes, maps = _flip(images, boxes, maps, flip_draw)
    if "crop" in names:
        images, boxes, maps = _zoom_shift(images, boxes, maps, map_fill, zoom_draw, shift_draw)
    if "color" in names:
        images = _colour(images, colour_draw)
    if boxes is not None:
        valid = ((labels >= 0) & (boxes[..., 2] - boxes[..., 0] >= MIN_BOX_SIDE)
                 & (boxes[..., 3] - boxes[..., 1] >= MIN_BOX_SIDE))
        boxes, labels = tf.where(valid[..., None], boxes, -1.0), tf.where(valid, labels, -1)
    return images, boxes, labels, (maps[..., 0] if squeeze else maps)


def _uniform(draw, shape, low, high):
    return tf.random.stateless_uniform(shape, draw, low, high)


def _flip(images, boxes, maps, draw):
    mirror = _uniform(draw, [tf.shape(images)[0]], 0.0, 1.0) < 0.5
    images = tf.where(mirror[:, None, None, None], tf.reverse(images, [2]), images)
    if boxes is not None:
        width = tf.cast(tf.shape(images)[2], tf.float32)
        flipped = tf.stack([width - boxes[..., 2], boxes[..., 1], width - boxes[..., 0], boxes[..., 3]], -1)
        boxes = tf.where(mirror[:, None, None] & (boxes >= 0), flipped, boxes)
    if maps is not None:
        maps = tf.where(mirror[:, None, None, None], tf.reverse(maps, [2]), maps)
    return images, boxes, maps


def _warp(images, zoom, tx, ty, fill, interpolation):
    """Output pixel (x, y) reads input ((x + .5 - c) / zoom + c - t - .5); `t` in this grid's pixels."""
    dtype = images.dtype
    height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
    zero = tf.zeros_like(zoom)
    ox = (0.5 - width / 2) / zoom + width / 2 - tx - 0.5
    oy = (0.5 - height / 2) / zoom + height / 2 - ty - 0.5
    transforms = tf.stack([1 / zoom, zero, ox, zero, 1 / zoom, oy, zero, zero], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(images=tf.cast(images, tf.float32), transforms=transforms,
                                                   output_shape=tf.shape(images)[1:3], fill_value=float(fill),
                                                   interpolation=interpolation, fill_mode="CONSTANT")
    return tf.cast(warped, dtype)


def _zoom_shift(images, boxes, maps, map_fill, zoom_draw, shift_draw):
    batch = tf.shape(images)[0]
    height, width = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)
    zoom = _uniform(zoom_draw, [batch], *ZOOM)
    shift = _uniform(shift_draw, [batch, 2], -SHIFT, SHIFT)
    tx, ty = shift[:, 0] * width, shift[:, 1] * height
    images = _warp(images, zoom, tx, ty, PAD_VALUE, "BILINEAR")
    if maps is not None:
        scale_x = tf.cast(tf.shape(maps)[2], tf.float32) / width
        scale_y = tf.cast(tf.shape(maps)[1], tf.float32) / height
        maps = _warp(maps, zoom, tx * scale_x, ty * scale_y, map_fill, "NEAREST")
    if boxes is not None:
        centre = tf.stack([width, height, width, height]) / 2
        moved = (boxes - centre + tf.stack([tx, ty, tx, ty], -1)[:, None, :]) * zoom[:, None, None] + centre
        limit = tf.stack([width, height, width, height])
        boxes = tf.where(boxes >= 0, tf.clip_by_value(moved, 0.0, limit), boxes)
    return images, boxes, maps


def _colour(images, draw):
    batch = tf.shape(images)[0]
    bright, contrast, saturation = tf.unstack(tf.random.experimental.stateless_split(draw, 3))
    images = images + _uniform(bright, [batch], -0.2, 0.2)[:, None, None, None] * 255.0
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    images = (images - mean) * _uniform(contrast, [batch], 0.8, 1.2)[:, None, None, None] + mean
    gray = tf.reduce_mean(images, axis=3, keepdims=True)
    images = gray + (images - gray) * _uniform(saturation, [batch], 0.3, 1.7)[:, None, None, None]
    return tf.clip_by_value(images, 0.0, 255.0)
