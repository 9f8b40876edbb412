"""The anchor-free head's layers: per pyramid level, a box branch and a class branch (and, for a
head that predicts more per anchor, such as mask coefficients, a third branch), flattened and
concatenated over levels."""

import math

import keras

from shared.config import positive_int
from shared.errors import fail
from shared.layers.conv import conv_bn_act

# head name -> (box branch width, class branch's second kernel) for a given neck width
HEADS = {"lean": lambda width: (max(16, width // 2), 1), "full": lambda width: (width, 3)}


def add_nms_arguments(parser, max_detections):
    """The export flags of a model with this head: its score threshold, NMS overlap and detections kept."""
    parser.add_argument("--confidence", type=float, default=0.25, help="lowest score returned")
    parser.add_argument("--iou", type=float, default=0.6, help="NMS IoU threshold")
    parser.add_argument("--max-detections", type=positive_int, default=max_detections,
                        help="objects returned per image at most")


def check_head(head):
    if head not in HEADS:
        fail(f"Unknown detection head {head!r}", f"Use one of {', '.join(HEADS)}", head=head)


def anchor_head(features, num_classes, width, head="lean", extra=0):
    """`[B, A, 4 + C + extra]` raw outputs over every anchor of every level of `features`.

    Args:
        features: list of `[B, h, w, width]` maps, the neck's levels (finest first).
        num_classes: int, C.
        width: int, the neck's channels.
        head: str, "lean" (the box branch at half `width`, the class branch's second convolution
            1x1) or "full" (two 3x3 convolutions at `width` in each branch).
        extra: int, values per anchor of a third branch (two 3x3 convolutions at the box branch's
            width, then a 1x1); 0 for none.

    Per anchor: four distances (before softplus, in strides), C class logits (biased to a
    probability of 0.01 at the start, the focal-loss prior), then the `extra` values.
    """
    prior = -math.log((1 - 0.01) / 0.01)
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
        parts = [box, cls]
        if extra:
            more = conv_bn_act(feature, box_width, 3, 1, "silu", name=f"head{i}_extra_a")
            more = conv_bn_act(more, box_width, 3, 1, "silu", name=f"head{i}_extra_b")
            parts.append(keras.layers.Conv2D(extra, 1, name=f"head{i}_extra_out")(more))
        merged = keras.layers.Concatenate(name=f"head{i}_concat")(parts)
        per_level.append(keras.layers.Reshape((-1, 4 + num_classes + extra), name=f"head{i}_flat")(merged))
    return keras.layers.Concatenate(axis=1, dtype="float32", name="predictions")(per_level)


def pyramid_strides(backbone, levels, image_size):
    """`(levels, strides)` of the head: `levels` (default: the backbone's deepest three) checked against
    the backbone, and `image_size` against the largest stride."""
    levels = list(levels or backbone.pyramid_levels[-3:])
    missing = [level for level in levels if level not in backbone.pyramid_outputs]
    if missing:
        fail(f"Backbone {backbone.name} has no pyramid level {', '.join(missing)}",
             f"Use levels among {backbone.pyramid_levels}", levels=levels)
    strides = [2 ** int(level[1:]) for level in levels]
    if image_size % max(strides):
        fail(f"The input size must be a multiple of the head's largest stride, {max(strides)}",
             f"Use an image size such as {max(strides) * max(1, round(image_size / max(strides)))}",
             image_size=image_size)
    return levels, strides
