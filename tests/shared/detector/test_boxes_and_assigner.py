import keras
import numpy as np
import tensorflow as tf

from shared.detector.assigner import task_aligned_assign
from shared.detector.boxes import anchor_points, complete_iou, decode_distances, pairwise_iou
from shared.detector.losses import detection_loss


def test_anchor_points_cover_each_level_row_major():
    points, strides = anchor_points(32, 32, [8, 16])
    assert points.shape == (16 + 4, 2) and strides.shape == (20, 1)
    np.testing.assert_allclose(points[:2], [[4, 4], [12, 4]])
    np.testing.assert_allclose(points[16], [8, 8])
    assert float(strides[16, 0]) == 16.0


def test_decode_and_iou_by_hand():
    boxes = decode_distances(tf.constant([[1.0, 2.0, 3.0, 4.0]]), tf.constant([[10.0, 10.0]]))
    np.testing.assert_allclose(boxes, [[9, 8, 13, 14]])
    a = tf.constant([[0.0, 0.0, 10.0, 10.0]])
    b = tf.constant([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    np.testing.assert_allclose(pairwise_iou(a, b), [[1.0, 1 / 3, 0.0]], atol=1e-6)


def test_complete_iou_matches_keras_reference():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (64, 2))
    a = np.concatenate([xy, xy + rng.uniform(2, 40, (64, 2))], 1).astype(np.float32)
    b = a + rng.normal(0, 6, a.shape).astype(np.float32)
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
    reference = keras.utils.bounding_boxes.compute_ciou(a, b, bounding_box_format="xyxy")
    np.testing.assert_allclose(complete_iou(tf.constant(a), tf.constant(b)), reference, atol=1e-4)
    np.testing.assert_allclose(complete_iou(tf.constant(a), tf.constant(a)), 1.0, atol=1e-5)


def _setup():
    points, _ = anchor_points(64, 64, [8])  # 64 anchors, centres 4, 12, ..., 60
    gt_boxes = tf.constant([[[0.0, 0.0, 24.0, 24.0], [-1.0, -1.0, -1.0, -1.0]]])
    gt_labels = tf.constant([[1, -1]])
    return points, gt_boxes, gt_labels


def test_assigner_picks_anchors_inside_the_object_and_ignores_padding():
    points, gt_boxes, gt_labels = _setup()
    pred = tf.concat([points - 8.0, points + 8.0], -1)[None]  # 16 px boxes around every anchor
    scores = tf.fill([1, 64, 3], 0.5)
    boxes, target_scores, foreground, index = task_aligned_assign(scores, pred, points, gt_boxes, gt_labels, top_k=4)
    fg = np.flatnonzero(foreground[0].numpy())
    assert len(fg) == 4  # top_k of the 9 anchors inside the 24 px box
    assert all(points[i, 0] < 24 and points[i, 1] < 24 for i in fg)
    np.testing.assert_allclose(boxes[0].numpy()[fg], np.tile([[0, 0, 24, 24]], (4, 1)))
    assert np.all(index[0].numpy()[fg] == 0)  # the one real object
    assert np.all(target_scores[0].numpy()[fg, 1] > 0) and np.all(target_scores[0].numpy()[fg][:, [0, 2]] == 0)
    assert target_scores[0].numpy()[foreground[0].numpy() == 0].sum() == 0
    # The best anchor's soft target equals that object's best IoU.
    ious = pairwise_iou(gt_boxes[:, :1], pred)[0, 0].numpy()
    np.testing.assert_allclose(target_scores[0].numpy()[:, 1].max(), ious[fg].max(), rtol=1e-5)


def test_an_anchor_claimed_twice_keeps_the_object_it_overlaps_most():
    points, _ = anchor_points(16, 16, [8])  # 4 anchors
    gt_boxes = tf.constant([[[0.0, 0.0, 16.0, 16.0], [0.0, 0.0, 9.0, 9.0]]])
    pred = tf.constant([[[0.0, 0.0, 9.0, 9.0], [0.0, 0.0, 16.0, 16.0], [0.0, 0.0, 16.0, 16.0], [0.0, 0.0, 16.0, 16.0]]])
    boxes, _, foreground, index = task_aligned_assign(tf.fill([1, 4, 2], 0.5), pred, points, gt_boxes,
                                                      tf.constant([[0, 1]]), top_k=4)
    np.testing.assert_allclose(boxes[0, 0], [0, 0, 9, 9])
    assert int(index[0, 0]) == 1  # anchor 0 sits in both; its box fits the small one
    assert bool(foreground[0, 0])


def test_loss_is_lower_for_better_boxes():
    target = tf.constant([[[0.0, 0.0, 10.0, 10.0]]])
    scores = tf.constant([[[1.0]]])
    fg = tf.constant([[True]])
    logits = tf.constant([[[5.0]]])
    _, perfect, _ = detection_loss(logits, target, target, scores, fg)
    _, shifted, _ = detection_loss(logits, target + 3.0, target, scores, fg)
    assert float(perfect) < 1e-5 < float(shifted)
