"""tf.data for instance segmentation: letterboxed images, padded boxes and labels, and each image's
instance-id map at the mask resolution; flips, zoom-and-shift and colour applied to all of them alike.

Batches: `(float32 images [B, S, S, 3] in 0..255, {"boxes": float32 [B, N, 4] xyxy letterboxed
pixels, "labels": int32 [B, N] (-1 = padding), "instances": int32 [B, S / r, S / r]})` where the
map holds k + 1 where object k is (r: the model's mask stride).
"""

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.augment import build_augmenter
from shared.data.decode import decode_image
from shared.data.detection_pipeline import padded_targets
from shared.data.letterbox import PAD_VALUE, letterbox
from shared.data.pipeline import CACHE_LIMIT_BYTES

ZOOM = (0.8, 1.4)  # magnification of `crop`: 0.8 shows more of the image, 1.4 less
SHIFT = 0.1  # of the side


def letterboxed_id_map(ids, image_size, stride):
    """An `int32 [H, W]` id map at the letterboxed grid of `image_size / stride` cells (nearest sampling)."""
    height, width = ids.shape
    side = image_size // stride
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(ids.astype(np.int32)).resize(size, Image.NEAREST), np.int32)
    out = np.zeros((side, side), np.int32)
    out[:small.shape[0], :small.shape[1]] = small[:side, :side]
    return out


def id_maps(dataset, image_size, stride, max_boxes):
    """Every image's id map on the mask grid; ids past `max_boxes` (objects training leaves out) are 0."""
    maps = np.stack([letterboxed_id_map(m.id_map(), image_size, stride) for m in dataset.masks]) if len(dataset) \
        else np.zeros((0, image_size // stride, image_size // stride), np.int32)
    return np.where(maps > max_boxes, 0, maps)


def _flip(images, boxes, maps, seed):
    size = tf.cast(tf.shape(images)[2], tf.float32)
    mirror = tf.random.uniform([tf.shape(images)[0]], seed=seed) < 0.5
    flipped = tf.stack([size - boxes[..., 2], boxes[..., 1], size - boxes[..., 0], boxes[..., 3]], -1)
    return (tf.where(mirror[:, None, None, None], tf.reverse(images, [2]), images),
            tf.where(mirror[:, None, None] & (boxes >= 0), flipped, boxes),
            tf.where(mirror[:, None, None], tf.reverse(maps, [2]), maps))


def _warp(images, zoom, tx, ty, scale, fill, interpolation):
    """Output pixel (x, y) reads input ((x + .5 - c) / zoom + c - t - .5) on a grid `scale` times the image's."""
    side = tf.cast(tf.shape(images)[1], tf.float32)
    centre = side / 2
    zero = tf.zeros_like(zoom)
    ox = (0.5 - centre) / zoom + centre - tx * scale - 0.5
    oy = (0.5 - centre) / zoom + centre - ty * scale - 0.5
    transforms = tf.stack([1 / zoom, zero, ox, zero, 1 / zoom, oy, zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=transforms,
                                                 output_shape=tf.shape(images)[1:3], fill_value=fill,
                                                 interpolation=interpolation, fill_mode="CONSTANT")


def _zoom_shift(images, boxes, maps, seed):
    batch = tf.shape(images)[0]
    side = tf.cast(tf.shape(images)[1], tf.float32)
    zoom = tf.random.uniform([batch], *ZOOM, seed=seed)
    tx = tf.random.uniform([batch], -SHIFT, SHIFT, seed=seed + 10) * side
    ty = tf.random.uniform([batch], -SHIFT, SHIFT, seed=seed + 20) * side
    images = _warp(images, zoom, tx, ty, 1.0, PAD_VALUE, "BILINEAR")
    map_scale = tf.cast(tf.shape(maps)[1], tf.float32) / side
    maps = tf.cast(_warp(tf.cast(maps[..., None], tf.float32), zoom, tx, ty, map_scale, 0.0, "NEAREST")[..., 0],
                   tf.int32)
    z, centre = zoom[:, None, None], side / 2
    shift = tf.stack([tx, ty, tx, ty], -1)[:, None, :]
    moved = tf.clip_by_value((boxes - centre + shift) * z + centre, 0.0, side)
    return images, tf.where(boxes >= 0, moved, boxes), maps


def augmenter(names, seed=0):
    """`augment(images, boxes, labels, maps) -> (images, boxes, labels, maps)` for `flip`, `crop`, `color`."""
    colour = build_augmenter(["color"], seed + 3) if "color" in names else None

    def augment(images, boxes, labels, maps):
        if "flip" in names:
            images, boxes, maps = _flip(images, boxes, maps, seed)
        if "crop" in names:
            images, boxes, maps = _zoom_shift(images, boxes, maps, seed + 1)
        if colour:
            images = colour(images)
        # A box pushed (almost) out of the image is dropped: label -1.
        valid = (labels >= 0) & (boxes[..., 2] - boxes[..., 0] >= 2.0) & (boxes[..., 3] - boxes[..., 1] >= 2.0)
        return images, tf.where(valid[..., None], boxes, -1.0), tf.where(valid, labels, -1), maps

    return augment


def instance_dataset(dataset, image_size, batch_size, stride, max_boxes=None, training=False, seed=0, augment=()):
    """Batched `tf.data.Dataset` of letterboxed images and their targets (see the module's docstring).

    Args:
        dataset: `InstanceSet`.
        stride: int, the model's mask stride (the id maps are `image_size / stride` square).
        augment: list of names among flip, crop, color; used when `training`.
    """
    autotune = tf.data.AUTOTUNE
    max_boxes = max_boxes or dataset.max_objects()
    boxes, labels = padded_targets(dataset, max_boxes)
    maps = id_maps(dataset, image_size, stride, max_boxes)

    def place(image, b, lab, ids, long_side=None):
        image, scale = letterbox(image[None], image_size)
        if long_side is not None:  # decoded at reduced scale: boxes are in the file's full-size pixels
            scale = image_size / long_side
        return image[0], tf.where(lab[:, None] >= 0, b * scale, -1.0), lab, ids

    if dataset.images is not None:
        ds = tf.data.Dataset.from_tensor_slices((dataset.images, boxes, labels, maps))
        ds = ds.map(place, num_parallel_calls=autotune)
    else:
        long_sides = np.array([max(size) for size in dataset.sizes], np.float32)
        ds = tf.data.Dataset.from_tensor_slices((tf.constant(list(dataset.paths), tf.string), boxes, labels, maps,
                                                 long_sides))
        ds = ds.map(lambda p, b, lab, ids, side: place(decode_image(tf.io.read_file(p), image_size, "long"), b, lab,
                                                         ids, side), num_parallel_calls=autotune)
    if len(dataset) * image_size * image_size * 3 * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(len(dataset), 10000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment:
        ds = ds.map(augmenter(augment, seed), num_parallel_calls=autotune)
    return ds.map(lambda x, b, lab, ids: (x, {"boxes": b, "labels": lab, "instances": ids})).prefetch(autotune)
