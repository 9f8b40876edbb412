"""Task-aligned assignment (TOOD, Feng et al., 2021): which anchor learns which object.

For each object, the anchors whose centre lies inside its box are ranked by
`score ** alpha * iou ** beta` (score: the predicted probability of the object's class,
iou: predicted box against the object's box); the `top_k` best become positives. An
anchor claimed by several objects keeps the one it overlaps most. Class targets are soft:
the alignment metric, normalised so the best anchor of each object gets that object's
best IoU. Everything runs batched inside the training graph.
"""

import tensorflow as tf

from shared.detector.boxes import pairwise_iou


def task_aligned_assign(scores, pred_boxes, points, gt_boxes, gt_labels, top_k=10, alpha=0.5, beta=6.0, eps=1e-9):
    """Assign targets to anchors.

    Args:
        scores: `[B, A, C]` predicted class probabilities.
        pred_boxes: `[B, A, 4]` predicted xyxy boxes.
        points: `[A, 2]` anchor centres (x, y).
        gt_boxes: `[B, N, 4]` xyxy; gt_labels `[B, N]`, -1 for padding.

    Returns:
        (target_boxes `[B, A, 4]`, target_scores `[B, A, C]`, foreground `[B, A]` bool, target_index
        `[B, A]` int64: the object each anchor learns, meaningful where `foreground`).
    """
    num_classes = tf.shape(scores)[-1]
    num_anchors = tf.shape(points)[0]
    valid = tf.cast(gt_labels >= 0, tf.float32)  # [B, N]
    labels = tf.maximum(gt_labels, 0)

    # Anchor centres inside each object's box: [B, N, A].
    x, y = points[None, None, :, 0], points[None, None, :, 1]
    inside = tf.cast((x > gt_boxes[..., 0:1]) & (x < gt_boxes[..., 2:3]) & (y > gt_boxes[..., 1:2])
                     & (y < gt_boxes[..., 3:4]), tf.float32) * valid[..., None]

    ious = pairwise_iou(gt_boxes, pred_boxes) * inside  # [B, N, A]
    class_scores = tf.gather(tf.transpose(scores, [0, 2, 1]), labels, batch_dims=1)  # [B, N, A]
    metric = tf.pow(class_scores, alpha) * tf.pow(ious, beta) * inside

    k = tf.minimum(top_k, num_anchors)
    _, top_index = tf.math.top_k(metric, k=k)  # [B, N, k]
    top_mask = tf.reduce_sum(tf.one_hot(top_index, num_anchors), axis=-2)  # [B, N, A]
    positive = top_mask * inside

    # An anchor claimed by several objects keeps the one with the highest IoU.
    claims = tf.reduce_sum(positive, axis=1, keepdims=True)  # [B, 1, A]
    best_object = tf.one_hot(tf.argmax(ious, axis=1), tf.shape(gt_boxes)[1], axis=1)  # [B, N, A]
    positive = tf.where(claims > 1, best_object * inside, positive)
    foreground = tf.reduce_sum(positive, axis=1) > 0  # [B, A]
    target_index = tf.argmax(positive, axis=1)  # [B, A]

    target_boxes = tf.gather(gt_boxes, target_index, batch_dims=1)
    target_labels = tf.gather(labels, target_index, batch_dims=1)

    aligned = metric * positive
    best_metric = tf.reduce_max(aligned, axis=-1, keepdims=True)  # [B, N, 1]
    best_iou = tf.reduce_max(ious * positive, axis=-1, keepdims=True)
    normalised = tf.reduce_max(aligned * best_iou / (best_metric + eps), axis=1)  # [B, A]
    target_scores = tf.one_hot(target_labels, num_classes) * (normalised * tf.cast(foreground, tf.float32))[..., None]
    return (tf.stop_gradient(target_boxes), tf.stop_gradient(target_scores), tf.stop_gradient(foreground),
            tf.stop_gradient(target_index))
