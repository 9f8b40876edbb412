"""Segmentation metrics from one confusion matrix: IoU per class, mean IoU, Dice, accuracies."""

import keras
import numpy as np
import tensorflow as tf

from shared.data.segmentation import IGNORE
from shared.stats.bootstrap import weighted_sums


def confusion_matrix(labels, predictions, num_classes, ignore_value=IGNORE):
    """`[C, C]` pixel counts (rows: truth, columns: prediction), ignored pixels left out."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    predictions = np.asarray(predictions).reshape(-1).astype(np.int64)
    keep = labels != ignore_value
    return np.bincount(labels[keep] * num_classes + predictions[keep],
                       minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(matrix, class_names):
    """Mean IoU (over classes present in truth or prediction), per-class IoU and Dice, pixel
    accuracy, mean class accuracy and frequency-weighted IoU."""
    matrix = np.asarray(matrix, np.float64)
    tp = np.diag(matrix)
    truth, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    union = truth + predicted - tp
    present = union > 0
    iou = np.divide(tp, union, out=np.zeros_like(tp), where=present)
    dice = np.divide(2 * tp, truth + predicted, out=np.zeros_like(tp), where=present)
    total = matrix.sum()
    frequency = truth / total if total else truth
    return {
        "mean_iou": float(iou[present].mean()) if present.any() else 0.0,
        "mean_dice": float(dice[present].mean()) if present.any() else 0.0,
        "pixel_accuracy": float(tp.sum() / total) if total else 0.0,
        "mean_class_accuracy": float(np.divide(tp, truth, out=np.zeros_like(tp), where=truth > 0)[truth > 0].mean())
        if (truth > 0).any() else 0.0,
        "frequency_weighted_iou": float((frequency * iou).sum()),
        "per_class": {name: {"iou": float(iou[k]), "dice": float(dice[k]), "pixels": int(truth[k]),
                             "present": bool(present[k])} for k, name in enumerate(class_names)},
    }


def resampled_scores(per_image, class_names):
    """`score(weights [R, N]) -> {metric: [R]}` for bootstrap intervals (`shared.stats.bootstrap`) from each
    image's confusion matrix (`[N, C, C]`): mean IoU, mean Dice and pixel accuracy as `scores_from_confusion`
    makes them, and each class's IoU ("IoU: NAME"; NaN where a resample has none of it, truth or prediction)."""
    per_image = np.asarray(per_image, np.float64).reshape(-1, len(class_names), len(class_names))

    def score(weights):
        matrix = weighted_sums(weights, per_image)
        tp = np.diagonal(matrix, axis1=1, axis2=2)
        truth, predicted = matrix.sum(axis=2), matrix.sum(axis=1)
        union = truth + predicted - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            dice = np.where(union > 0, 2 * tp / (truth + predicted), np.nan)
            out = {"mean IoU": _nanmean(iou), "mean Dice": _nanmean(dice),
                   "pixel accuracy": tp.sum(1) / truth.sum(1)}
        out.update({f"IoU: {name}": iou[:, k] for k, name in enumerate(class_names)})
        return out

    return score


def _nanmean(values):
    """Row means over the defined entries; NaN for a row with none."""
    count = np.isfinite(values).sum(1)
    return np.where(count > 0, np.nansum(values, 1) / np.maximum(count, 1), np.nan)


@keras.saving.register_keras_serializable(package="trident")
class MeanIoU(keras.metrics.Metric):
    """Streaming mean IoU over classes present so far, ignoring label 255.

    Takes probabilities `[B, H, W, C]` and labels `[B, H, W, 1]` directly (Keras'
    own MeanIoU wants class ids on both sides).
    """

    def __init__(self, num_classes, ignore_value=IGNORE, name="mean_iou", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.ignore_value = num_classes, ignore_value
        self.matrix = self.add_variable(shape=(num_classes, num_classes), initializer="zeros", dtype="float32",
                                        name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        predictions = tf.reshape(tf.argmax(y_pred, axis=-1, output_type=tf.int32), [-1])
        keep = labels != self.ignore_value
        index = tf.boolean_mask(labels * self.num_classes + predictions, keep)
        counts = tf.math.bincount(index, minlength=self.num_classes**2, maxlength=self.num_classes**2,
                                  dtype=tf.float32)
        self.matrix.assign_add(tf.reshape(counts, [self.num_classes, self.num_classes]))

    def result(self):
        tp = tf.linalg.diag_part(self.matrix)
        union = tf.reduce_sum(self.matrix, 0) + tf.reduce_sum(self.matrix, 1) - tp
        present = union > 0
        return tf.reduce_mean(tf.boolean_mask(tp / tf.maximum(union, 1.0), present))

    def reset_state(self):
        self.matrix.assign(tf.zeros_like(self.matrix))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_value": self.ignore_value}
