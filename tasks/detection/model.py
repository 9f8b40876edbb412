"""`ObjectDetector`: backbone + PAN neck + decoupled anchor-free head, trained and decoded inside Keras.

`fit(images, {"boxes", "labels"})` just works: `compute_loss` assigns targets
(task-aligned) and scores CIoU + BCE; `predict` returns final detections: `predict_step`
decodes distances into boxes and runs NMS (`NonMaxSuppressionV5` per image, which TFLite
and ONNX also have).
"""

import math

import keras
import tensorflow as tf

from shared.backbones.base import task_input
from shared.engine.distribute import per_replica_share
from shared.errors import fail
from shared.layers.conv import conv_bn_act
from shared.layers.neck import pan_neck
from shared.task_model import TaskModel
from tasks.detection.assigner import task_aligned_assign
from tasks.detection.boxes import elementwise_iou
from tasks.detection.decoder import DetectionDecoder
from tasks.detection.losses import detection_loss


# head name -> (box branch width, class branch's second kernel) for a given neck width
HEADS = {"lean": lambda width: (max(16, width // 2), 1), "full": lambda width: (width, 3)}


@keras.saving.register_keras_serializable(package="trident")
class ObjectDetector(TaskModel):
    """Detect objects in `float32 [B, S, S, 3]` letterboxed images (0..255).

    Args:
        backbone: `Backbone` with the pyramid levels in `levels`.
        num_classes: int.
        image_size: int, side S of the square input, a multiple of the largest stride.
        class_names: list of str.
        levels: list of str, pyramid levels the neck fuses (default: the backbone's
            deepest three, P3-P5 for most families).
        width: int, channels of the neck and head.
        head: str, `"lean"`: the box branch at half `width` (two 3x3 convolutions), the class
            branch a 3x3 then a 1x1 convolution, 0.47x the multiply-adds of `"full"`: two 3x3
            convolutions at `width` in each branch (models saved before the lean head existed).
        top_k: int, positives per object in the assigner.
        box_weight, cls_weight: float, loss weights.
        score_threshold, iou_threshold, max_detections: NMS settings for `predict`.

    The model's raw output is `[B, A, 4 + C]`: per anchor, four distances (before
    softplus, in strides) and C class logits.
    """

    config_keys = ("num_classes", "image_size", "class_names", "levels", "width", "head", "top_k", "box_weight",
                   "cls_weight", "score_threshold", "iou_threshold", "max_detections")
    sizing = "letterbox"  # boxes come back in the image's own pixels

    def __init__(self, backbone, num_classes, image_size, class_names=None, levels=None, width=64,
                 head="lean", top_k=10, box_weight=7.5, cls_weight=1.0, score_threshold=0.05, iou_threshold=0.6,
                 max_detections=100, **kwargs):
        levels = list(levels or backbone.pyramid_levels[-3:])
        missing = [level for level in levels if level not in backbone.pyramid_outputs]
        if missing:
            fail(f"Backbone {backbone.name} has no pyramid level {', '.join(missing)}",
                 f"Use levels among {backbone.pyramid_levels}", levels=levels)
        if head not in HEADS:
            fail(f"Unknown detection head {head!r}", f"Use one of {', '.join(HEADS)}", head=head)
        strides = [2 ** int(level[1:]) for level in levels]
        if image_size % max(strides):
            fail(f"The detector's input size must be a multiple of its largest stride, {max(strides)}",
                 f"Use an image size such as {max(strides) * max(1, round(image_size / max(strides)))}",
                 image_size=image_size)

        # === Functional model ===
        inputs, pixels = task_input(backbone, image_size)
        pyramid = backbone(pixels)
        features = pan_neck([pyramid[level] for level in levels], width, name="neck")
        prior = -math.log((1 - 0.01) / 0.01)  # class probability 0.01 at the start (focal-loss prior)
        box_width, cls_kernel = HEADS[head](width)
        per_level = []
        for i, feature in enumerate(features):
            box = conv_bn_act(feature, box_width, 3, 1, "silu", name=f"head{i}_box_a")
            box = conv_bn_act(box, box_width, 3, 1, "silu", name=f"head{i}_box_b")
            box = keras.layers.Conv2D(4, 1, name=f"head{i}_box_out")(box)
            cls = conv_bn_act(feature, width, 3, 1, "silu", name=f"head{i}_cls_a")
            cls = conv_bn_act(cls, width, cls_kernel, 1, "silu", name=f"head{i}_cls_b")
            cls = keras.layers.Conv2D(num_classes, 1, bias_initializer=keras.initializers.Constant(prior),
                                      name=f"head{i}_cls_out")(cls)
            merged = keras.layers.Concatenate(name=f"head{i}_concat")([box, cls])
            per_level.append(keras.layers.Reshape((-1, 4 + num_classes), name=f"head{i}_flat")(merged))
        outputs = keras.layers.Concatenate(axis=1, dtype="float32", name="predictions")(per_level)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.image_size = image_size
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.levels = levels
        self.width = width
        self.head = head
        self.top_k = top_k
        self.box_weight = box_weight
        self.cls_weight = cls_weight
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.strides = strides
        self.box_loss_tracker = keras.metrics.Mean(name="box_loss")
        self.cls_loss_tracker = keras.metrics.Mean(name="cls_loss")

    @classmethod
    def from_config(cls, config):
        return super().from_config({"head": "full", **config})  # models saved before `head` existed

    # --- training ---

    def compile_defaults(self):
        """AdamW; the loss lives in `compute_loss`, and no metric is computed during fit."""
        return {"optimizer": keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=5e-4)}

    def compile(self, optimizer="auto", loss=None, metrics="auto", **kwargs):
        super().compile(optimizer, None, metrics, **kwargs)

    def decoder(self, **settings):
        """A `DetectionDecoder` for this model: its own NMS settings unless `settings` say otherwise."""
        defaults = {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                    "max_detections": self.max_detections}
        defaults.update({k: v for k, v in settings.items() if v is not None})
        return DetectionDecoder(self.image_size, self.strides, self.num_classes, **defaults)

    def box_score(self, raw, class_ids, boxes, anchors=10):
        """The class logit behind each of `boxes` (`[B, 4]` xyxy, input pixels), for explanations: the
        `anchors` anchors whose decoded boxes overlap it most, weighted by overlap times score."""
        decoded, logits, _ = self.decoder().boxes_and_logits(raw)
        chosen = tf.gather(logits, class_ids, axis=-1, batch_dims=1)  # [B, A]
        weight = tf.stop_gradient(elementwise_iou(decoded, boxes[:, None, :]) * tf.sigmoid(chosen))
        top = tf.math.top_k(weight, k=min(anchors, int(weight.shape[-1])))
        picked = tf.gather(chosen, top.indices, batch_dims=1)
        return tf.reduce_sum(picked * top.values, -1) / tf.maximum(tf.reduce_sum(top.values, -1), 1e-9)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        boxes, logits, points = self.decoder().boxes_and_logits(y_pred)
        target_boxes, target_scores, foreground = task_aligned_assign(
            tf.sigmoid(logits), boxes, points, tf.cast(y["boxes"], tf.float32), tf.cast(y["labels"], tf.int32),
            top_k=self.top_k)
        total, box, cls = detection_loss(logits, boxes, target_boxes, target_scores, foreground,
                                         self.box_weight, self.cls_weight)
        self.box_loss_tracker.update_state(box)
        self.cls_loss_tracker.update_state(cls)
        if self.losses:
            total = total + tf.add_n(self.losses)
        return per_replica_share(total)

    @property
    def metrics(self):
        return super().metrics + [self.box_loss_tracker, self.cls_loss_tracker]

    # --- inference ---

    def decode(self, raw, score_threshold=None, iou_threshold=None, max_detections=None, multi_label=False):
        """Raw outputs to final detections in letterboxed pixels (see `DetectionDecoder`)."""
        return self.decoder(score_threshold=score_threshold, iou_threshold=iou_threshold,
                            max_detections=max_detections, multi_label=multi_label)(raw)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.decode(self(x, training=False))


def build_detector(backbone, num_classes, image_size, class_names, **settings):
    return ObjectDetector(backbone, num_classes, image_size, class_names=class_names,
                          **{k: v for k, v in settings.items() if v is not None})
