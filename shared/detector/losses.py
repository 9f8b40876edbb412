"""Detection loss: CIoU for boxes, binary cross-entropy against soft task-aligned class targets."""

import tensorflow as tf

from shared.detector.boxes import complete_iou


def detection_loss(cls_logits, pred_boxes, target_boxes, target_scores, foreground, box_weight=7.5, cls_weight=1.0):
    """Both terms normalised by the sum of target scores, as YOLOv8 and TOOD do.

    Returns:
        (total, box_loss, cls_loss) scalars.
    """
    normaliser = tf.maximum(tf.reduce_sum(target_scores), 1.0)
    cls = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=target_scores, logits=cls_logits)) / normaliser
    weight = tf.reduce_sum(target_scores, axis=-1) * tf.cast(foreground, tf.float32)
    ciou = complete_iou(pred_boxes, target_boxes)
    box = tf.reduce_sum((1.0 - ciou) * weight) / normaliser
    return box_weight * box + cls_weight * cls, box, cls
