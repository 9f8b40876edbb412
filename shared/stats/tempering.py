"""Temperature scaling inside a model's graph: what `predict`, `evaluate` and every export run."""

import tensorflow as tf

from shared.stats.calibration import TINY


def temper(probabilities, temperature, axis=-1):
    """Probabilities of the logits divided by `temperature` (log p is the logits up to a constant, which the
    softmax removes); `probabilities` as they are at 1.0. The arg-max, every decision, stays."""
    if float(temperature) == 1.0:
        return probabilities
    return tf.nn.softmax(tf.math.log(tf.maximum(probabilities, TINY)) / float(temperature), axis=axis)
