"""What an ImageNet network sees in each image: one feature vector per image, from weights that never saw
the user's labels.

Features of the run's own fine-tuned network would be in-sample for its training images (it has
learned their labels, wrong ones included), so a label review built on them would trust the very
labels it is meant to question. The ImageNet EfficientNet-Lite0 installed with Trident is the same
for every run and offline.
"""

import numpy as np
import tensorflow as tf

from shared.data.decode import decode_image
from shared.data.preprocess import resize_images

EMBED_SIZE = 224  # the size the ImageNet weights were trained at


def embedding_model(size=EMBED_SIZE):
    """`uint8-valued float [B, size, size, 3] -> float32 [B, 1280]`: the ImageNet EfficientNet-Lite0, pooled."""
    import keras

    from shared.backbones import build_backbone

    backbone = build_backbone("efficientnet_lite0", weights="imagenet")
    inputs = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs)["P5"])
    return keras.Model(inputs, pooled)


def embed(itemset, size=EMBED_SIZE, batch_size=32, model=None):
    """`float32 [N, D]`: the pooled ImageNet features of every image of `itemset` (files or an array), each
    decoded as training decodes it and resized to `size` (grey images as three equal channels)."""
    model = model or embedding_model(size)
    if itemset.images is not None:
        images = tf.data.Dataset.from_tensor_slices(itemset.images)
    else:
        images = tf.data.Dataset.from_tensor_slices(list(itemset.paths)).map(
            lambda path: decode_image(tf.io.read_file(path), min_side=size), num_parallel_calls=tf.data.AUTOTUNE)
    images = images.map(lambda image: resize_images(image, size), num_parallel_calls=tf.data.AUTOTUNE)
    batches = images.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    found = [model(batch, training=False).numpy() for batch in batches]
    return np.concatenate(found) if found else np.zeros((0, model.output_shape[-1]), np.float32)
