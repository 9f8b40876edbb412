"""tf.data for segmentation: image and mask resized together, cached, and augmented identically.

Batches follow the data contract: `(float32 images [B, S, S, 3] in 0..255, int32 masks
[B, S, S, 1])` with 255 = ignore. Geometric changes use one set of random numbers for
image and mask; the image is interpolated bilinearly, the mask by nearest neighbour.
"""

import numpy as np
import tensorflow as tf

from shared.data.decode import decode_image
from shared.data.pipeline import CACHE_LIMIT_BYTES
from shared.data.preprocess import resize_images


def resize_mask(mask, size):
    """`[H, W, 1]` or `[B, H, W, 1]` class ids to `size` by nearest neighbour (ids never blend)."""
    return tf.cast(tf.image.resize(mask, size, method="nearest"), tf.int32)


def _augment_pair(image, mask, names, size, seed):
    """One image and its mask, changed by the same draws, all derived from `seed` (`int64 [2]`, one per
    example): stateless ops, so the draws do not depend on which thread of the parallel map runs first."""
    flip_seed, scale_seed, y_seed, x_seed, *colour_seeds = tf.unstack(
        tf.random.experimental.stateless_split(seed, num=7))
    if "flip" in names:
        flip = tf.random.stateless_uniform([], flip_seed) < 0.5
        image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
        mask = tf.cond(flip, lambda: tf.reverse(mask, [1]), lambda: mask)
    if "crop" in names:
        scale = tf.random.stateless_uniform([], scale_seed, 0.6, 1.0)
        y0 = tf.random.stateless_uniform([], y_seed, 0.0, 1.0) * (1.0 - scale)
        x0 = tf.random.stateless_uniform([], x_seed, 0.0, 1.0) * (1.0 - scale)
        box = tf.stack([y0, x0, y0 + scale, x0 + scale])[None]
        image = tf.image.crop_and_resize(image[None], box, [0], [size, size], method="bilinear")[0]
        mask = tf.cast(tf.image.crop_and_resize(tf.cast(mask[None], tf.float32), box, [0], [size, size],
                                                method="nearest")[0], tf.int32)
    if "color" in names:
        image = tf.image.stateless_random_brightness(image, 0.2 * 255, colour_seeds[0])
        image = tf.image.stateless_random_contrast(image, 0.8, 1.2, colour_seeds[1])
        image = tf.image.stateless_random_saturation(image, 0.7, 1.3, colour_seeds[2])
        image = tf.clip_by_value(image, 0.0, 255.0)
    return image, mask


def segmentation_dataset(dataset, image_size, batch_size, training=False, seed=0, augment=()):
    """Batched `tf.data.Dataset` of resized images and masks.

    Args:
        dataset: `SegmentationSet`.
        image_size: int, square size used for training and evaluation batches.
        augment: names among flip, crop, color; used when `training`.
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
        if augment:
            # One seed pair per example, a new sequence each epoch, all of it from --seed.
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip((ds, seeds)).map(
                lambda pair, pair_seed: _augment_pair(*pair, tuple(augment), image_size, pair_seed),
                num_parallel_calls=autotune)
    return ds.batch(batch_size).prefetch(autotune)
