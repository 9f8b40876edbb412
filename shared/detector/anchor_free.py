"""`AnchorFree`: what every model with the anchor-free head does the same way, as a mixin of a
`TaskModel` (the detector, the instance segmenter): its decoder, the box and class loss after
task-aligned assignment, the score behind a box for explanations, and the loss trackers.

A model using it sets `image_size`, `strides`, `num_classes`, `top_k`, `box_weight`,
`cls_weight`, `score_threshold`, `iou_threshold`, `max_detections`, and calls
`track_box_losses()` in its constructor; its raw output (or the first of its outputs, see
`head_output`) is the head's `[B, A, 4 + C + ...]`.
"""

import keras
import tensorflow as tf

from shared.detector.assigner import task_aligned_assign
from shared.detector.boxes import elementwise_iou
from shared.detector.decoder import DetectionDecoder
from shared.detector.losses import detection_loss
from shared.detector.score_calibration import decoder_settings


class AnchorFree:
    def track_box_losses(self):
        self.box_loss_tracker = keras.metrics.Mean(name="box_loss")
        self.cls_loss_tracker = keras.metrics.Mean(name="cls_loss")

    def head_output(self, raw):
        """The head's `[B, A, 4 + C + ...]` among the model's outputs (all of them for the detector)."""
        return raw

    def compile_defaults(self):
        """AdamW; the loss lives in `compute_loss`, and no metric is computed during fit."""
        return {"optimizer": keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=5e-4)}

    def compile(self, optimizer="auto", loss=None, metrics="auto", **kwargs):
        super().compile(optimizer, None, metrics, **kwargs)

    def decoder(self, **settings):
        """A `DetectionDecoder` for this model: its own NMS settings and the run's score calibration (the model
        as `load_run_model` gives it) unless `settings` say otherwise."""
        defaults = {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                    "max_detections": self.max_detections, **decoder_settings(self.calibration)}
        defaults.update({k: v for k, v in settings.items() if v is not None})
        return DetectionDecoder(self.image_size, self.strides, self.num_classes, **defaults)

    def box_score(self, raw, class_ids, boxes, anchors=10):
        """The class logit behind each of `boxes` (`[B, 4]` xyxy, input pixels), for explanations: the
        `anchors` anchors whose decoded boxes overlap it most, weighted by overlap times score."""
        decoded, logits, _ = self.decoder().boxes_and_logits(self.head_output(raw))
        chosen = tf.gather(logits, class_ids, axis=-1, batch_dims=1)  # [B, A]
        weight = tf.stop_gradient(elementwise_iou(decoded, boxes[:, None, :]) * tf.sigmoid(chosen))
        top = tf.math.top_k(weight, k=min(anchors, int(weight.shape[-1])))
        picked = tf.gather(chosen, top.indices, batch_dims=1)
        return tf.reduce_sum(picked * top.values, -1) / tf.maximum(tf.reduce_sum(top.values, -1), 1e-9)

    def box_losses(self, raw, y):
        """`(box and class loss, assignment)` of the head's raw output against `y` ("boxes", "labels");
        the assignment is `task_aligned_assign`'s `(target boxes, target scores, foreground, target index)`."""
        boxes, logits, points = self.decoder().boxes_and_logits(self.head_output(raw))
        assignment = task_aligned_assign(
            tf.sigmoid(logits), boxes, points, tf.cast(y["boxes"], tf.float32), tf.cast(y["labels"], tf.int32),
            top_k=self.top_k)
        total, box, cls = detection_loss(logits, boxes, *assignment[:3], self.box_weight, self.cls_weight)
        self.box_loss_tracker.update_state(box)
        self.cls_loss_tracker.update_state(cls)
        return total, assignment

    @property
    def metrics(self):
        return super().metrics + [self.box_loss_tracker, self.cls_loss_tracker]

    def decode(self, raw, score_threshold=None, iou_threshold=None, max_detections=None, multi_label=False):
        """Raw outputs to final detections in letterboxed pixels (see `DetectionDecoder`)."""
        return self.decoder(score_threshold=score_threshold, iou_threshold=iou_threshold,
                            max_detections=max_detections, multi_label=multi_label)(self.head_output(raw))
