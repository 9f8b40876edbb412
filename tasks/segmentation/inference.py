"""End-to-end segmentation, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.preprocess import resize_images


def make_segment(model):
    """`segment(images uint8 [B, H, W, 3]) -> {"class_map" int32 [B, H, W], "probabilities" [B, H, W, C]}`.

    Images are resized to the training size, segmented, and the probabilities resized
    back (bilinear) to the input's own size before the arg-max, so the class map lines
    up with the original pixels.
    """

    def segment(images):
        shape = tf.shape(images)
        probabilities = model(resize_images(images, model.image_size), training=False)
        probabilities = tf.image.resize(probabilities, shape[1:3], method="bilinear")
        return {"class_map": tf.argmax(probabilities, axis=-1, output_type=tf.int32), "probabilities": probabilities}

    return segment
