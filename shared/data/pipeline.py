"""The tf.data input pipeline: parallel decode, resize, cache, shuffle, augment, prefetch."""

import tensorflow as tf

from shared.data.augment import augment_batch, augmented
from shared.data.decode import decode_image
from shared.data.preprocess import resize_images

CACHE_LIMIT_BYTES = 2 * 1024**3


def image_dataset(imageset, image_size, batch_size, training=False, seed=0, augment=()):
    """A batched `tf.data.Dataset` of `(float32 images 0..255, int32 labels)`.

    Args:
        imageset: `ImageSet`, files or an in-memory array.
        image_size: int, square size images are resized to.
        batch_size: int.
        training: bool, shuffle (seeded) and augment.
        seed: int, seed of the shuffle and of the augmentation's draws.
        augment: names among flip, crop, color (`shared.data.augment`); used only when `training`.

    Files go through the one decode (`shared.data.decode`), JPEGs at reduced scale when
    they are much larger than `image_size`. Decoded, resized images are cached in memory
    when they fit in 2 GiB, so later epochs skip decoding. The readers have already
    decoded every file once and left out the ones that fail, so the dataset keeps a
    known length.
    """
    autotune = tf.data.AUTOTUNE
    labels = tf.constant(imageset.labels, tf.int32)
    if imageset.images is not None:
        ds = tf.data.Dataset.from_tensor_slices((imageset.images, labels))
        ds = ds.map(lambda image, label: (resize_images(image, image_size), label), num_parallel_calls=autotune)
    else:
        ds = tf.data.Dataset.from_tensor_slices((tf.constant(list(imageset.paths), tf.string), labels))
        ds = ds.map(
            lambda path, label: (resize_images(decode_image(tf.io.read_file(path), image_size), image_size), label),
            num_parallel_calls=autotune,
        )
    if len(imageset) * image_size * image_size * 3 * 4 <= CACHE_LIMIT_BYTES:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(len(imageset), 20000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training:
        ds = augmented(ds, augment, seed, lambda draw, x, y: (augment_batch(augment, draw, x)[0], y))
    return ds.prefetch(autotune)
