"""End-to-end classification, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.preprocess import resize_images
from shared.stats.tempering import temper


def make_classify(model, temperature=None):
    """`classify(images [B, H, W, 3] of any size and dtype, 0..255) -> dict`.

    Images are resized to the training size inside. Outputs: `probabilities [B, C]`,
    `class_ids [B]`, `class_names [B]`, `scores [B]` (the top probability). The probabilities
    are calibrated by the temperature training fitted on the val split (`model.calibration`), or by
    `temperature` (1.0: the network's own); a temperature changes no decision.
    """
    temperature = float(temperature or model.calibration.get("temperature", 1.0))

    def classify(images):
        names = tf.constant(model.class_names)  # inside: a captured tensor would be an extra input to converters
        probabilities = model(resize_images(images, model.image_size), training=False)
        probabilities = temper(probabilities, temperature)
        class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_ids": class_ids, "class_names": tf.gather(names, class_ids),
                "scores": tf.reduce_max(probabilities, axis=-1)}

    return classify
