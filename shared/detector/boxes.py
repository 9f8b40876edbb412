"""Box geometry in TensorFlow: anchor points, distance decoding, IoU and CIoU (xyxy pixels)."""

import math

import tensorflow as tf


def anchor_points(height, width, strides):
    """Centres and strides of every cell of every level, level by level, row-major.

    Args:
        height, width: int or scalar tensors, input size (a multiple of the largest stride).
        strides: list of int.

    Returns:
        (points float32 `[A, 2]` as (x, y) pixels, strides float32 `[A, 1]`).
    """
    points, scales = [], []
    for stride in strides:
        h = (height + stride - 1) // stride
        w = (width + stride - 1) // stride
        ys = (tf.cast(tf.range(h), tf.float32) + 0.5) * stride
        xs = (tf.cast(tf.range(w), tf.float32) + 0.5) * stride
        grid_y, grid_x = tf.meshgrid(ys, xs, indexing="ij")
        points.append(tf.reshape(tf.stack([grid_x, grid_y], -1), [-1, 2]))
        scales.append(tf.fill([h * w, 1], float(stride)))
    return tf.concat(points, 0), tf.concat(scales, 0)


def decode_distances(distances, points):
    """`[..., A, 4]` left/top/right/bottom distances around `points [A, 2]` -> xyxy boxes."""
    return tf.concat([points - distances[..., :2], points + distances[..., 2:]], axis=-1)


def pairwise_iou(boxes1, boxes2, eps=1e-9):
    """IoU of `[..., N, 4]` against `[..., M, 4]` -> `[..., N, M]`."""
    a, b = boxes1[..., :, None, :], boxes2[..., None, :, :]
    return elementwise_iou(a, b, eps)


def elementwise_iou(a, b, eps=1e-9):
    inter_w = tf.maximum(0.0, tf.minimum(a[..., 2], b[..., 2]) - tf.maximum(a[..., 0], b[..., 0]))
    inter_h = tf.maximum(0.0, tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 1], b[..., 1]))
    inter = inter_w * inter_h
    area_a = tf.maximum(0.0, a[..., 2] - a[..., 0]) * tf.maximum(0.0, a[..., 3] - a[..., 1])
    area_b = tf.maximum(0.0, b[..., 2] - b[..., 0]) * tf.maximum(0.0, b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter + eps)


def complete_iou(a, b, eps=1e-7):
    """CIoU (Zheng et al., 2020) of matching boxes `[..., 4]`: IoU minus centre and aspect terms."""
    iou = elementwise_iou(a, b, eps)
    enclose_w = tf.maximum(a[..., 2], b[..., 2]) - tf.minimum(a[..., 0], b[..., 0])
    enclose_h = tf.maximum(a[..., 3], b[..., 3]) - tf.minimum(a[..., 1], b[..., 1])
    diagonal = enclose_w**2 + enclose_h**2 + eps
    centre = ((a[..., 0] + a[..., 2] - b[..., 0] - b[..., 2]) ** 2
              + (a[..., 1] + a[..., 3] - b[..., 1] - b[..., 3]) ** 2) / 4
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1] + eps
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1] + eps
    v = (4 / math.pi**2) * (tf.atan(wb / hb) - tf.atan(wa / ha)) ** 2
    alpha = tf.stop_gradient(v / (v - iou + 1 + eps))
    return iou - centre / diagonal - alpha * v
