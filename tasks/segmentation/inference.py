"""End-to-end segmentation, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.preprocess import resize_images
from shared.stats.tempering import temper


def make_segment(model, temperature=None):
    """`segment(images uint8 [B, H, W, 3]) -> {"class_map" int32 [B, H, W], "probabilities" [B, H, W, C]}`.

    Images are resized to the training size, segmented, and the probabilities resized
    back (bilinear) to the input's own size before the arg-max, so the class map lines
    up with the original pixels. The probabilities are then calibrated by the temperature
    training fitted on the val split's pixels (`model.calibration`), or by `temperature` (1.0:
    the network's own); the class map is the same either way.
    """
    temperature = float(temperature or model.calibration.get("temperature", 1.0))

    def segment(images):
        shape = tf.shape(images)
        probabilities = model(resize_images(images, model.image_size), training=False)
        probabilities = tf.image.resize(probabilities, shape[1:3], method="bilinear")
        return {"class_map": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
                "probabilities": temper(probabilities, temperature)}

    return segment
