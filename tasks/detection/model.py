"""`ObjectDetector`: backbone + PAN neck + decoupled anchor-free head, trained and decoded inside Keras.

`fit(images, {"boxes", "labels"})` just works: `compute_loss` assigns targets
(task-aligned) and scores CIoU + BCE; `predict` returns final detections: `predict_step`
decodes distances into boxes and runs NMS (`NonMaxSuppressionV5` per image, which TFLite
and ONNX also have).
"""

import keras
import tensorflow as tf

from shared.backbones.base import task_input
from shared.detector.anchor_free import AnchorFree
from shared.detector.head import anchor_head, check_head, pyramid_strides
from shared.engine.distribute import per_replica_share
from shared.layers.neck import pan_neck
from shared.task_model import TaskModel


@keras.saving.register_keras_serializable(package="trident")
class ObjectDetector(AnchorFree, TaskModel):
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
        check_head(head)
        levels, strides = pyramid_strides(backbone, levels, image_size)

        # === Functional model ===
        inputs, pixels = task_input(backbone, image_size)
        pyramid = backbone(pixels)
        features = pan_neck([pyramid[level] for level in levels], width, name="neck")
        outputs = anchor_head(features, num_classes, width, head)
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
        self.track_box_losses()

    @classmethod
    def from_config(cls, config):
        return super().from_config({"head": "full", **config})  # models saved before `head` existed

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, _ = self.box_losses(y_pred, y)
        if self.losses:
            total = total + tf.add_n(self.losses)
        return per_replica_share(total)

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.decode(self(x, training=False))


def build_detector(backbone, num_classes, image_size, class_names, **settings):
    return ObjectDetector(backbone, num_classes, image_size, class_names=class_names,
                          **{k: v for k, v in settings.items() if v is not None})
