"""`DetectionDecoder`: the detector's raw outputs to final boxes, a Keras layer with its NMS settings.

Evaluation and the export each build one explicitly from the model
(`ObjectDetector.decoder(score_threshold=..., multi_label=...)`), so the settings that
shape an answer are stated where it is made, saved with the layer's config, and never set
by changing the model.
"""

import keras
import tensorflow as tf

from shared.detector.boxes import anchor_points, decode_distances


@keras.saving.register_keras_serializable(package="trident")
class DetectionDecoder(keras.layers.Layer):
    """Raw `[B, A, 4 + C]` (per anchor: four distances before softplus, in strides; C logits) to detections.

    Args:
        image_size: int, side of the square (letterboxed) input.
        strides: list of int, the strides of the head's levels, in the raw output's order.
        num_classes: int.
        score_threshold: float, lowest score kept.
        iou_threshold: float, NMS overlap above which the lower-scored box of a class goes.
        max_detections: int, boxes returned per image (padded).
        score_scale, score_shift: a score is sigmoid(scale * logit + shift): the run's calibration
            (`shared.detector.score_calibration`), 1 and 0 for the network's own.
        multi_label: bool. False: each anchor proposes its best class only (what `predict`
            and the export return: one label per object). True: every (anchor, class) pair
            above the threshold is a candidate, so an object the model hesitates over gets a
            box for each likely class; COCO evaluation scores this way (ranked by score, a
            wrong second guess costs little and a right one is found).

    Returns (from `call`): dict with `boxes [B, M, 4]` xyxy in letterboxed pixels,
    `scores [B, M]`, `classes [B, M]` int32 (-1 where empty), `num_detections [B]` int32, and
    `anchors [B, M]` int32, the anchor each detection came from (for what a head predicts per
    anchor besides the box, such as mask coefficients); M = `max_detections`, padded with zeros.
    A raw output may carry more than `4 + C` values per anchor; the rest are not read here.
    """

    def __init__(self, image_size, strides, num_classes, score_threshold=0.05, iou_threshold=0.6,
                 max_detections=100, multi_label=False, score_scale=1.0, score_shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.image_size = int(image_size)
        self.strides = [int(s) for s in strides]
        self.num_classes = int(num_classes)
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)
        self.multi_label = bool(multi_label)
        self.score_scale, self.score_shift = float(score_scale), float(score_shift)

    def boxes_and_logits(self, raw):
        """`(boxes [B, A, 4] xyxy, logits [B, A, C], anchor points [A, 2])` from the raw output."""
        points, strides = anchor_points(self.image_size, self.image_size, self.strides)
        distances = stable_softplus(raw[..., :4]) * strides
        return decode_distances(distances, points), raw[..., 4:4 + self.num_classes], points

    def call(self, raw):
        boxes, logits, _ = self.boxes_and_logits(raw)
        if self.score_scale != 1.0 or self.score_shift != 0.0:
            logits = logits * self.score_scale + self.score_shift
        scores = tf.sigmoid(logits)
        num_anchors = int(boxes.shape[1])
        if self.multi_label:
            flat = tf.reshape(scores, [-1, num_anchors * self.num_classes])  # anchor-major: index = a * C + c
            top_scores, top_index = tf.math.top_k(flat, k=min(1000, num_anchors * self.num_classes))
            top_anchors = top_index // self.num_classes
            top_boxes = tf.gather(boxes, top_anchors, batch_dims=1)
            top_classes = tf.cast(top_index % self.num_classes, tf.int32)
        else:
            best = tf.reduce_max(scores, axis=-1)
            classes = tf.argmax(scores, axis=-1, output_type=tf.int32)
            top_scores, top_anchors = tf.math.top_k(best, k=min(1000, num_anchors))
            top_boxes = tf.gather(boxes, top_anchors, batch_dims=1)
            top_classes = tf.gather(classes, top_anchors, batch_dims=1)
        # Shift each class to its own region so one class-agnostic NMS keeps classes apart.
        offset = tf.cast(top_classes, tf.float32)[..., None] * (2.0 * self.image_size)
        shifted = top_boxes + offset
        yxyx = tf.stack([shifted[..., 1], shifted[..., 0], shifted[..., 3], shifted[..., 2]], axis=-1)
        selected, count = self._suppressed(yxyx, top_scores)
        keep = tf.range(self.max_detections)[None, :] < count[:, None]
        out_boxes = tf.gather(top_boxes, selected, batch_dims=1)
        out_scores = tf.gather(top_scores, selected, batch_dims=1)
        out_classes = tf.gather(top_classes, selected, batch_dims=1)
        return {
            "boxes": tf.where(keep[..., None], out_boxes, 0.0),
            "scores": tf.where(keep, out_scores, 0.0),
            "classes": tf.where(keep, out_classes, -1),
            "num_detections": tf.cast(count, tf.int32),
            "anchors": tf.where(keep, tf.gather(tf.cast(top_anchors, tf.int32), selected, batch_dims=1), 0),
        }

    def _suppressed(self, yxyx, scores):
        """Greedy NMS of each image's candidates (`[B, K, 4]` yxyx, `[B, K]`): `(selected [B, M]` indices,
        padded with 0, `count [B])`. One `NonMaxSuppressionV5` kernel per image, which TFLite and ONNX
        have as built-in operations. (`non_max_suppression_padded` runs as a loop of small operations:
        on the raccoon detector, 1000 candidates, 5.9 ms for one image and 166 ms for 16 against 0.8
        and 7.1.)"""

        def one(candidates):
            selected, _, count = tf.raw_ops.NonMaxSuppressionV5(
                boxes=candidates[0], scores=candidates[1], max_output_size=self.max_detections,
                iou_threshold=self.iou_threshold, score_threshold=self.score_threshold, soft_nms_sigma=0.0,
                pad_to_max_output_size=True)
            return selected, count

        if yxyx.shape[0] == 1:  # a batch of one by its static shape (the TFLite export's): no loop
            selected, count = one((yxyx[0], scores[0]))
            return selected[None], count[None]
        return tf.map_fn(one, (yxyx, scores), fn_output_signature=(
            tf.TensorSpec([self.max_detections], tf.int32), tf.TensorSpec([], tf.int32)))

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in (
            "image_size", "strides", "num_classes", "score_threshold", "iou_threshold", "max_detections",
            "multi_label", "score_scale", "score_shift")})
        return config


def stable_softplus(x):
    """`softplus(x)` as `max(x, 0) + softplus(-|x|)`, which no runtime overflows: TFLite's own softplus
    gives inf above about 88 (one raccoon photo drove a raw distance there), and inf boxes broke int8
    calibration; softplus of a non-positive number is finite everywhere."""
    return tf.maximum(x, 0.0) + tf.nn.softplus(-tf.abs(x))
