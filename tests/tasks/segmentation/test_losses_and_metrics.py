import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import confusion_matrix as sk_confusion

from tasks.segmentation.losses import SegmentationLoss
from tasks.segmentation.metrics import MeanIoU, confusion_matrix, scores_from_confusion


def test_iou_agrees_with_scikit_learn_on_random_masks():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (3, 20, 24))
    labels[0, :5] = 255  # ignored pixels
    predictions = rng.integers(0, 4, (3, 20, 24))
    matrix = confusion_matrix(labels, predictions, 4)
    keep = labels.reshape(-1) != 255
    reference = sk_confusion(labels.reshape(-1)[keep], predictions.reshape(-1)[keep], labels=range(4))
    np.testing.assert_array_equal(matrix, reference)
    scores = scores_from_confusion(matrix, list("abcd"))
    tp = np.diag(reference)
    iou = tp / (reference.sum(0) + reference.sum(1) - tp)
    assert scores["mean_iou"] == pytest.approx(iou.mean())
    assert scores["pixel_accuracy"] == pytest.approx(tp.sum() / reference.sum())
    assert scores["frequency_weighted_iou"] == pytest.approx((reference.sum(1) / reference.sum() * iou).sum())
    metric = MeanIoU(4)
    metric.update_state(labels[..., None], tf.one_hot(predictions, 4))
    assert float(metric.result()) == pytest.approx(iou.mean(), rel=1e-5)


def test_hand_made_masks():
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 255]])
    predicted = np.array([[0, 1, 1, 1], [0, 0, 1, 0]])
    scores = scores_from_confusion(confusion_matrix(truth, predicted, 3), ["bg", "fg", "absent"])
    assert scores["per_class"]["bg"]["iou"] == pytest.approx(3 / 4)
    assert scores["per_class"]["fg"]["iou"] == pytest.approx(3 / 4)
    assert scores["per_class"]["fg"]["dice"] == pytest.approx(6 / 7)
    assert not scores["per_class"]["absent"]["present"]
    assert scores["mean_iou"] == pytest.approx(0.75)  # the absent class does not drag the mean down
    assert scores["pixel_accuracy"] == pytest.approx(6 / 7)


def test_loss_ignores_255_and_weights_classes():
    labels = tf.constant([[[[0], [1]], [[255], [1]]]])
    good = tf.constant([[[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.1, 0.9]]]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.9)) / 3
    assert float(SegmentationLoss(2)(labels, good)) == pytest.approx(expected, rel=1e-5)
    changed_ignored = tf.constant([[[[0.9, 0.1], [0.2, 0.8]], [[0.01, 0.99], [0.1, 0.9]]]])
    assert float(SegmentationLoss(2)(labels, changed_ignored)) == pytest.approx(expected, rel=1e-5)
    weighted = SegmentationLoss(2, class_weights=[0.0, 1.0])(labels, good)
    assert float(weighted) == pytest.approx(-(np.log(0.8) + np.log(0.9)) / 2, rel=1e-5)
    perfect = tf.one_hot(tf.constant([[[0, 1], [0, 1]]]), 2)
    assert float(SegmentationLoss(2, dice_weight=1.0)(labels, perfect)) < 1e-3
    assert float(SegmentationLoss(2, dice_weight=1.0)(labels, good)) > float(SegmentationLoss(2)(labels, good))
