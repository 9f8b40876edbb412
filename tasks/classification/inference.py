"""End-to-end classification, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.preprocess import resize_images


def make_classify(model):
    """`classify(images [B, H, W, 3] of any size and dtype, 0..255) -> dict`.

    Images are resized to the training size inside. Outputs: `probabilities [B, C]`,
    `class_ids [B]`, `class_names [B]`, `scores [B]` (the top probability).
    """
    def classify(images):
        names = tf.constant(model.class_names)  # inside: a captured tensor would be an extra input to converters
        probabilities = model(resize_images(images, model.image_size), training=False)
        class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_ids": class_ids, "class_names": tf.gather(names, class_ids),
                "scores": tf.reduce_max(probabilities, axis=-1)}

    return classify
