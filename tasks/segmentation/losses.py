"""Segmentation loss: cross-entropy that skips ignored pixels, optional class weights and Dice."""

import keras
import tensorflow as tf

from shared.data.segmentation import IGNORE



@keras.saving.register_keras_serializable(package="trident")
class SegmentationLoss(keras.losses.Loss):
    """Mean pixel cross-entropy over labelled pixels, plus `dice_weight` x soft Dice loss.

    Args:
        num_classes: int.
        class_weights: list of float per class, or None (all 1).
        dice_weight: float, 0 turns Dice off.
        ignore_value: int, label value left out of both terms.

    `y_true`: int `[B, H, W, 1]` class ids; `y_pred`: `[B, H, W, C]` probabilities.
    """

    def __init__(self, num_classes, class_weights=None, dice_weight=0.0, ignore_value=IGNORE, name="segmentation_loss",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.class_weights = list(class_weights) if class_weights is not None else None
        self.dice_weight = dice_weight
        self.ignore_value = ignore_value

    def call(self, y_true, y_pred):
        labels = tf.cast(tf.squeeze(y_true, -1), tf.int32)
        valid = tf.cast(labels != self.ignore_value, tf.float32)
        safe = tf.where(labels == self.ignore_value, 0, labels)
        probabilities = tf.clip_by_value(tf.cast(y_pred, tf.float32), 1e-7, 1.0)
        picked = tf.gather(probabilities, safe, batch_dims=3)
        weights = valid
        if self.class_weights is not None:
            weights = weights * tf.gather(tf.constant(self.class_weights, tf.float32), safe)
        cross_entropy = tf.reduce_sum(-tf.math.log(picked) * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
        if not self.dice_weight:
            return cross_entropy
        onehot = tf.one_hot(safe, self.num_classes) * valid[..., None]
        masked = probabilities * valid[..., None]
        intersection = tf.reduce_sum(onehot * masked, axis=[0, 1, 2])
        totals = tf.reduce_sum(onehot, axis=[0, 1, 2]) + tf.reduce_sum(masked, axis=[0, 1, 2])
        present = tf.cast(tf.reduce_sum(onehot, axis=[0, 1, 2]) > 0, tf.float32)
        dice = (tf.reduce_sum((1.0 - 2.0 * intersection / (totals + 1e-6)) * present)
                / tf.maximum(tf.reduce_sum(present), 1.0))
        return cross_entropy + self.dice_weight * dice

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "class_weights": self.class_weights,
                "dice_weight": self.dice_weight, "ignore_value": self.ignore_value}
