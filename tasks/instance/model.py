"""`InstanceSegmenter`: the detector's backbone, neck and anchor-free head, plus prototype masks
that each detection combines by its own coefficients (YOLACT, Bolya et al., 2019; as YOLO-seg does).

`fit(images, {"boxes", "labels", "instances"})` just works: `compute_loss` assigns anchors to
objects as the detector does (task-aligned), scores boxes and classes the same way, and scores
each positive anchor's mask (its coefficients times the prototypes, cropped to its object's box)
against that object's pixels in the instance-id map.
"""

import keras
import tensorflow as tf

from shared.backbones.base import task_input
from shared.detector.anchor_free import AnchorFree
from shared.detector.head import anchor_head, check_head, pyramid_strides
from shared.engine.distribute import per_replica_share
from shared.layers.conv import conv_bn_act
from shared.layers.neck import pan_neck
from shared.task_model import TaskModel

MASK_STRIDE = 4  # of the prototypes, whatever the head's levels: what the data pipeline makes targets for


@keras.saving.register_keras_serializable(package="trident")
class InstanceSegmenter(AnchorFree, TaskModel):
    """Find each object in `float32 [B, S, S, 3]` letterboxed images (0..255) and its mask.

    Args:
        backbone: `Backbone` with the pyramid levels in `levels`.
        num_classes: int.
        image_size: int, side S of the square input, a multiple of the largest stride.
        class_names: list of str.
        levels: list of str, pyramid levels the neck fuses (default: the backbone's deepest three).
        width: int, channels of the neck and head.
        head: str, "lean" or "full" (see `shared.detector.head.anchor_head`).
        coefficients: int, prototype masks (and coefficients per anchor).
        top_k: int, positives per object in the assigner.
        box_weight, cls_weight, mask_weight: float, loss weights.
        masks_per_image: int, positive anchors per image whose masks are scored in a step (the
            best-aligned ones).
        score_threshold, iou_threshold, max_detections: NMS settings for `predict` (300 objects: cells and
            crowds run to hundreds an image).

    Outputs: `[head [B, A, 4 + C + coefficients], prototypes [B, S / 4, S / 4, coefficients]]`: the
    prototypes come from the finest head level (P3 for most backbones) resized to stride 4, joined by
    the backbone's P2 features for detail.
    """

    config_keys = ("num_classes", "image_size", "class_names", "levels", "width", "head", "coefficients", "top_k",
                   "box_weight", "cls_weight", "mask_weight", "masks_per_image", "score_threshold", "iou_threshold",
                   "max_detections")
    sizing = "letterbox"

    def __init__(self, backbone, num_classes, image_size, class_names=None, levels=None, width=64, head="lean",
                 coefficients=32, top_k=10, box_weight=7.5, cls_weight=1.0, mask_weight=7.5, masks_per_image=128,
                 score_threshold=0.05, iou_threshold=0.6, max_detections=300, **kwargs):
        check_head(head)
        levels, strides = pyramid_strides(backbone, levels, image_size)
        mask_stride = MASK_STRIDE

        # === Functional model ===
        inputs, pixels = task_input(backbone, image_size)
        pyramid = backbone(pixels)
        features = pan_neck([pyramid[level] for level in levels], width, name="neck")
        head_out = anchor_head(features, num_classes, width, head, extra=coefficients)
        protos = conv_bn_act(features[0], width, 3, 1, "silu", name="proto_a")
        side = image_size // mask_stride
        protos = keras.layers.Resizing(side, side, interpolation="bilinear", name="proto_up")(protos)
        if "P2" in backbone.pyramid_outputs:
            lateral = conv_bn_act(pyramid["P2"], coefficients, 1, 1, "silu", name="proto_detail")
            protos = keras.layers.Concatenate(name="proto_concat")([protos, lateral])
        protos = conv_bn_act(protos, coefficients, 3, 1, "silu", name="proto_b")
        protos = keras.layers.Conv2D(coefficients, 1, dtype="float32", name="prototypes")(protos)
        super().__init__(inputs=inputs, outputs=[head_out, protos], **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.image_size = image_size
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.levels = levels
        self.width = width
        self.head = head
        self.coefficients = coefficients
        self.top_k = top_k
        self.box_weight = box_weight
        self.cls_weight = cls_weight
        self.mask_weight = mask_weight
        self.masks_per_image = masks_per_image
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self.strides = strides
        self.mask_stride = mask_stride
        self.track_box_losses()
        self.mask_loss_tracker = keras.metrics.Mean(name="mask_loss")

    def head_output(self, raw):
        return raw[0]

    def mask_logits(self, raw, anchors):
        """`[B, M, S / r, S / r]` mask logits of the detections from `anchors` (`[B, M]` int)."""
        head, protos = raw
        coefficients = tf.gather(head[..., 4 + self.num_classes:], anchors, batch_dims=1)
        return tf.einsum("bmk,bhwk->bmhw", coefficients, protos)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, (target_boxes, target_scores, foreground, target_index) = self.box_losses(y_pred, y)
        mask = mask_loss(self, y_pred, y["instances"], target_boxes, target_scores, foreground, target_index)
        self.mask_loss_tracker.update_state(mask)
        total = total + self.mask_weight * mask
        if self.losses:
            total = total + tf.add_n(self.losses)
        return per_replica_share(total)

    @property
    def metrics(self):
        return super().metrics + [self.mask_loss_tracker]

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        raw = self(x, training=False)
        out = self.decode(raw)
        out["masks"] = tf.sigmoid(self.mask_logits(raw, out["anchors"]))
        return out


def box_mask(boxes, height, width):
    """`float32 [..., H, W]`: 1 inside each of `boxes` (`[..., 4]` xyxy in grid cells), 0 outside."""
    xs = tf.range(width, dtype=tf.float32) + 0.5
    ys = tf.range(height, dtype=tf.float32) + 0.5
    x1, y1, x2, y2 = tf.split(boxes, 4, axis=-1)  # split, not sliced: tf2onnx converts it inside a branch too
    inside_x = (xs >= x1) & (xs < x2)  # [..., W]
    inside_y = (ys >= y1) & (ys < y2)  # [..., H]
    return tf.cast(tf.expand_dims(inside_y, -1) & tf.expand_dims(inside_x, -2), tf.float32)


def mask_loss(model, raw, instances, target_boxes, target_scores, foreground, target_index):
    """Binary cross-entropy of the best-aligned positive anchors' masks inside their objects' boxes,
    averaged over each box's area, then over anchors; objects with no pixel on the mask grid count
    for nothing (the box loss still teaches them)."""
    count = min(model.masks_per_image, int(foreground.shape[1]))
    alignment = tf.cast(foreground, tf.float32) * (1.0 + tf.reduce_max(target_scores, axis=-1))
    top = tf.math.top_k(alignment, k=count)
    chosen = top.indices  # [B, P]
    objects = tf.cast(tf.gather(target_index, chosen, batch_dims=1), tf.int32)  # [B, P]
    logits = model.mask_logits(raw, chosen)  # [B, P, h, w]
    height, width = int(logits.shape[2]), int(logits.shape[3])
    target = tf.cast(tf.equal(instances[:, None], objects[..., None, None] + 1), tf.float32)
    inside = box_mask(tf.gather(target_boxes, chosen, batch_dims=1) / model.mask_stride, height, width)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits) * inside
    per_anchor = tf.reduce_sum(bce, [2, 3]) / tf.maximum(tf.reduce_sum(inside, [2, 3]), 1.0)
    used = tf.cast(top.values > 0, tf.float32) * tf.cast(tf.reduce_sum(target, [2, 3]) > 0, tf.float32)
    return tf.reduce_sum(per_anchor * used) / tf.maximum(tf.reduce_sum(used), 1.0)
