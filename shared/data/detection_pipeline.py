"""tf.data for detection: letterbox, pad boxes to a fixed count, cache, shuffle, box-aware augment.

Batches follow the data contract: `(float32 images [B, S, S, 3] in 0..255,
{"boxes": float32 [B, N, 4] xyxy letterboxed pixels, "labels": int32 [B, N]})`, padded
with -1.
"""

import keras
import numpy as np
import tensorflow as tf

from shared.data.letterbox import letterbox
from shared.data.preprocess import decode_image_bytes
from shared.data.pipeline import CACHE_LIMIT_BYTES


def padded_targets(dataset, max_boxes):
    """Boxes and labels of every image padded with -1 to `[N, max_boxes, ...]` arrays."""
    boxes = np.full((len(dataset), max_boxes, 4), -1.0, np.float32)
    labels = np.full((len(dataset), max_boxes), -1, np.int32)
    for i, (b, l) in enumerate(zip(dataset.boxes, dataset.labels)):
        n = min(len(l), max_boxes)
        boxes[i, :n], labels[i, :n] = b[:n], l[:n]
    return boxes, labels


def build_box_augmenter(names, seed=0):
    """Box-aware Keras layers for `flip`, `crop` (zoom + shift) and `color`; None when empty."""
    layers = []
    if "flip" in names:
        layers.append(keras.layers.RandomFlip("horizontal", bounding_box_format="xyxy", seed=seed))
    if "crop" in names:
        layers.append(keras.layers.RandomZoom((-0.3, 0.2), fill_mode="constant", fill_value=114.0,
                                              bounding_box_format="xyxy", seed=seed + 1))
        layers.append(keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=114.0,
                                                     bounding_box_format="xyxy", seed=seed + 2))
    if "color" in names:
        layers.append(keras.layers.RandomColorJitter(value_range=(0, 255), brightness_factor=0.2,
                                                     contrast_factor=0.2, saturation_factor=(0.3, 0.7),
                                                     seed=seed + 3))
    return layers or None


def _apply_box_augment(layers, images, boxes, labels, size):
    data = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}}
    for layer in layers:
        if isinstance(layer, keras.layers.RandomColorJitter):  # images only; it refuses boxes
            data["images"] = layer(data["images"], training=True)
        else:
            data = layer(data, training=True)
    boxes = tf.clip_by_value(data["bounding_boxes"]["boxes"], 0.0, float(size))
    # A box pushed out of the image keeps its label with zero area: drop it (label -1).
    valid = (labels >= 0) & (boxes[..., 2] - boxes[..., 0] >= 2.0) & (boxes[..., 3] - boxes[..., 1] >= 2.0)
    boxes = tf.where(valid[..., None], boxes, -1.0)
    return data["images"], {"boxes": boxes, "labels": tf.where(valid, labels, -1)}  # labels: the originals, int32


def detection_dataset(dataset, image_size, batch_size, max_boxes=None, training=False, seed=0, augment=None):
    """Batched `tf.data.Dataset` of letterboxed images and padded targets.

    Args:
        dataset: `DetectionSet`.
        image_size: int, side of the square input (a multiple of 32).
        max_boxes: int, boxes per image after padding (default: the most in `dataset`).
        augment: list of Keras layers from `build_box_augmenter`, used when `training`.
    """
    autotune = tf.data.AUTOTUNE
    max_boxes = max_boxes or dataset.max_objects()
    boxes, labels = padded_targets(dataset, max_boxes)

    def place(image, b, l):
        image, scale = letterbox(image[None], image_size)
        b = tf.where(l[:, None] >= 0, b * scale, -1.0)
        return image[0], b, l

    if dataset.images is not None:
        ds = tf.data.Dataset.from_tensor_slices((dataset.images, boxes, labels))
        ds = ds.map(place, num_parallel_calls=autotune)
    else:
        ds = tf.data.Dataset.from_tensor_slices((list(dataset.paths), boxes, labels))
        ds = ds.map(lambda p, b, l: place(decode_image_bytes(tf.io.read_file(p)), b, l), num_parallel_calls=autotune)
    if len(dataset) * image_size * image_size * 3 * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(len(dataset), 10000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment:
        ds = ds.map(lambda x, b, l: _apply_box_augment(augment, x, b, l, image_size), num_parallel_calls=autotune)
    else:
        ds = ds.map(lambda x, b, l: (x, {"boxes": b, "labels": l}))
    return ds.prefetch(autotune)
