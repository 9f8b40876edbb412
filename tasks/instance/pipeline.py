"""tf.data for instance segmentation: letterboxed images, padded boxes and labels, and each image's
instance-id map at the mask resolution, augmented together (`shared.data.augment`).

Batches: `(float32 images [B, S, S, 3] in 0..255, {"boxes": float32 [B, N, 4] xyxy letterboxed
pixels, "labels": int32 [B, N] (-1 = padding), "instances": int32 [B, S / r, S / r]})` where the
map holds k + 1 where object k is (r: the model's mask stride).
"""

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.augment import augment_batch, augmented
from shared.data.decode import decode_image
from shared.data.detection_pipeline import padded_targets
from shared.data.letterbox import letterbox
from shared.data.pipeline import CACHE_LIMIT_BYTES


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


def instance_dataset(dataset, image_size, batch_size, stride, max_boxes=None, training=False, seed=0, augment=()):
    """Batched `tf.data.Dataset` of letterboxed images and their targets (see the module's docstring).

    Args:
        dataset: `InstanceSet`.
        stride: int, the model's mask stride (the id maps are `image_size / stride` square).
        augment: names among flip, crop, color (`shared.data.augment`); used when `training`.
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
    if training:
        ds = augmented(ds, augment, seed, lambda draw, x, b, lab, ids: augment_batch(augment, draw, x, b, lab, ids))
    return ds.map(lambda x, b, lab, ids: (x, {"boxes": b, "labels": lab, "instances": ids})).prefetch(autotune)
