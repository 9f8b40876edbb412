"""tf.data for detection: letterbox, pad boxes to a fixed count, cache, shuffle, augment with the boxes.

Batches follow the data contract: `(float32 images [B, S, S, 3] in 0..255,
{"boxes": float32 [B, N, 4] xyxy letterboxed pixels, "labels": int32 [B, N]})`, padded
with -1.
"""

import numpy as np
import tensorflow as tf

from shared.data.augment import augment_batch, augmented
from shared.data.decode import decode_image
from shared.data.letterbox import letterbox
from shared.data.pipeline import CACHE_LIMIT_BYTES


def padded_targets(dataset, max_boxes):
    """Boxes and labels of every image padded with -1 to `[N, max_boxes, ...]` arrays."""
    boxes = np.full((len(dataset), max_boxes, 4), -1.0, np.float32)
    labels = np.full((len(dataset), max_boxes), -1, np.int32)
    for i, (b, lab) in enumerate(zip(dataset.boxes, dataset.labels)):
        n = min(len(lab), max_boxes)
        boxes[i, :n], labels[i, :n] = b[:n], lab[:n]
    return boxes, labels


MOSAIC_SHARE = 0.5  # of the training images; the rest stay single, as test images are
JITTER_SCALE = (0.75, 1.3)  # keras-cv's YOLOV8 training recipe


def _box_layers(names, seed, image_size):
    """keras-cv's layers for the detection-only words: `mosaic` (four images of the batch tiled, a window
    of the input size cut around a random centre) and `jitter` (JitteredResize, multi-scale training:
    each image scaled by `JITTER_SCALE`, then a window of `image_size` cut at random). Keras core has
    neither."""
    layers = []
    if "mosaic" in names:
        from keras_cv.layers import Mosaic

        layers.append(Mosaic(bounding_box_format="xyxy", seed=seed + 4))
    if "jitter" in names:
        from keras_cv.layers import JitteredResize

        layers.append(JitteredResize((image_size, image_size), JITTER_SCALE, bounding_box_format="xyxy",
                                     seed=seed + 5))
    return layers


def _mosaic(layer, images, boxes, labels):
    """`MOSAIC_SHARE` of the batch tiled by `layer`; every image gets 4x the box slots."""
    tiled = layer({"images": images, "bounding_boxes": {"boxes": boxes, "classes": tf.cast(labels, tf.float32)}})
    n = tf.shape(boxes)[1]
    single_boxes = tf.pad(boxes, [[0, 0], [0, 3 * n], [0, 0]], constant_values=-1.0)
    single_labels = tf.pad(labels, [[0, 0], [0, 3 * n]], constant_values=-1)
    tiled_boxes = _dense(tiled["bounding_boxes"]["boxes"], 4 * n)  # keras-cv returns them ragged
    tiled_labels = tf.cast(tf.round(_dense(tiled["bounding_boxes"]["classes"], 4 * n)), tf.int32)
    use = tf.random.uniform([tf.shape(images)[0]]) < MOSAIC_SHARE
    return (tf.where(use[:, None, None, None], tf.cast(tiled["images"], images.dtype), images),
            tf.where(use[:, None, None], tiled_boxes, single_boxes),
            tf.where(use[:, None], tiled_labels, single_labels))


def _dense(values, slots):
    """Ragged or dense `[B, n, ...]` padded with -1 to `[B, slots, ...]`."""
    if isinstance(values, tf.RaggedTensor):
        values = values.to_tensor(default_value=-1.0)
    pad = [[0, 0], [0, slots - tf.shape(values)[1]]] + [[0, 0]] * (len(values.shape) - 2)
    return tf.pad(tf.cast(values, tf.float32), pad, constant_values=-1.0)


def _jitter(layer, images, boxes, labels):
    """Every image scaled and cut by keras-cv's JitteredResize; boxes back to dense slots."""
    out = layer({"images": images, "bounding_boxes": {"boxes": boxes, "classes": tf.cast(labels, tf.float32)}})
    n = tf.shape(boxes)[1]
    return (tf.cast(out["images"], images.dtype), _dense(out["bounding_boxes"]["boxes"], n),
            tf.cast(tf.round(_dense(out["bounding_boxes"]["classes"], n)), tf.int32))


def _apply_box_layers(layers, images, boxes, labels):
    for layer in layers:
        tile = _mosaic if type(layer).__name__ == "Mosaic" else _jitter
        images, boxes, labels = tile(layer, images, boxes, labels)
    return images, boxes, labels


def detection_dataset(dataset, image_size, batch_size, max_boxes=None, training=False, seed=0, augment=None):
    """Batched `tf.data.Dataset` of letterboxed images and padded targets.

    Args:
        dataset: `DetectionSet`.
        image_size: int, side of the square input (a multiple of 32).
        max_boxes: int, boxes per image after padding (default: the most in `dataset`).
        augment: names among flip, crop, color (`shared.data.augment`) and the detection-only
            mosaic, jitter; used when `training`.
    """
    autotune = tf.data.AUTOTUNE
    max_boxes = max_boxes or dataset.max_objects()
    boxes, labels = padded_targets(dataset, max_boxes)

    def place(image, b, lab, long_side=None):
        image, scale = letterbox(image[None], image_size)
        if long_side is not None:  # decoded at reduced scale: boxes are in the file's full-size pixels
            scale = image_size / long_side
        b = tf.where(lab[:, None] >= 0, b * scale, -1.0)
        return image[0], b, lab

    if dataset.images is not None:
        ds = tf.data.Dataset.from_tensor_slices((dataset.images, boxes, labels))
        ds = ds.map(place, num_parallel_calls=autotune)
    else:
        long_sides = np.array([max(size) for size in dataset.sizes], np.float32)
        paths = tf.constant(list(dataset.paths), tf.string)
        ds = tf.data.Dataset.from_tensor_slices((paths, boxes, labels, long_sides))
        ds = ds.map(lambda p, b, lab, side: place(decode_image(tf.io.read_file(p), image_size, "long"), b, lab, side),
                    num_parallel_calls=autotune)
    if len(dataset) * image_size * image_size * 3 * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(len(dataset), 10000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    layers = _box_layers(augment or (), seed, image_size) if training else []
    if layers:
        ds = ds.map(lambda x, b, lab: _apply_box_layers(layers, x, b, lab), num_parallel_calls=autotune)
    if training:
        ds = augmented(ds, augment or (), seed, lambda draw, x, b, lab: augment_batch(augment, draw, x, b, lab)[:3])
    return ds.map(lambda x, b, lab: (x, {"boxes": b, "labels": lab})).prefetch(autotune)
