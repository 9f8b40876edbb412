"""tf.data for segmentation: image and mask resized together, cached, and augmented identically.

Batches follow the data contract: `(float32 images [B, S, S, 3] in 0..255, int32 masks
[B, S, S, 1])` with 255 = ignore. Augmentation (`shared.data.augment`) moves image and mask by the
same draws, the mask by nearest neighbour; what a zoom-out shows beyond the image is ignored.
"""

import numpy as np
import tensorflow as tf

from shared.data.augment import augment_batch, augmented
from shared.data.decode import decode_image
from shared.data.pipeline import CACHE_LIMIT_BYTES
from shared.data.preprocess import resize_images
from shared.data.segmentation import IGNORE


def resize_mask(mask, size):
    """`[H, W, 1]` or `[B, H, W, 1]` class ids to `size` by nearest neighbour (ids never blend)."""
    return tf.cast(tf.image.resize(mask, size, method="nearest"), tf.int32)


def segmentation_dataset(dataset, image_size, batch_size, training=False, seed=0, augment=()):
    """Batched `tf.data.Dataset` of resized images and masks.

    Args:
        dataset: `SegmentationSet`.
        image_size: int, square size used for training and evaluation batches.
        augment: names among flip, crop, color (`shared.data.augment`); used when `training`.
    """
    autotune = tf.data.AUTOTUNE

    def load(index):
        i = int(index)
        return np.asarray(dataset.image(i), np.uint8), np.asarray(dataset.mask(i), np.uint8)[..., None]

    def load_mask(index):
        return np.asarray(dataset.mask(int(index)), np.uint8)[..., None]

    def prepare(index):
        if dataset.paths is None:
            image, mask = tf.numpy_function(load, [index], [tf.uint8, tf.uint8])
        else:  # files: the one decode, in the graph, at reduced scale where the format allows
            path = tf.gather(tf.constant(list(dataset.paths), tf.string), index)
            image = decode_image(tf.io.read_file(path), min_side=image_size)
            mask = tf.numpy_function(load_mask, [index], tf.uint8)
        image.set_shape([None, None, 3])
        mask.set_shape([None, None, 1])
        return resize_images(image, image_size), resize_mask(mask, (image_size, image_size))

    ds = tf.data.Dataset.range(len(dataset)).map(prepare, num_parallel_calls=autotune)
    if len(dataset) * image_size * image_size * 4 * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(len(dataset), 10000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training:
        def apply(draw, images, masks):
            images, _, _, masks = augment_batch(augment, draw, images, maps=masks, map_fill=IGNORE)
            return images, masks

        ds = augmented(ds, augment, seed, apply)
    return ds.prefetch(autotune)
