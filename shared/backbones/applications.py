"""Backbones wrapping `keras.applications`, tapped at layer names that stay stable between builds."""

import os

import keras

from shared.backbones.base import Backbone, image_input
from shared.errors import fail


@keras.saving.register_keras_serializable(package="trident")
class CaffePreprocess(keras.layers.Layer):
    """RGB 0..255 to the BGR, mean-subtracted input ResNet50's ImageNet weights expect."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, images):
        bgr = keras.ops.flip(images, axis=-1)
        return bgr - keras.ops.convert_to_tensor(self.MEAN_BGR, dtype=images.dtype)


def _resnet50(input_tensor, weights):
    x = CaffePreprocess(name="caffe_preprocess")(input_tensor)
    return keras.applications.ResNet50(include_top=False, weights=weights, input_tensor=x)


def _mobilenet_v3(constructor):
    def build(input_tensor, weights):
        return constructor(include_top=False, weights=weights, input_tensor=input_tensor,
                           include_preprocessing=True)
    return build


def _efficientnet_v2_b0(input_tensor, weights):
    return keras.applications.EfficientNetV2B0(include_top=False, weights=weights,
                                               input_tensor=input_tensor, include_preprocessing=True)


# family -> (builder, taps {level: layer name or None for the model output}, imagenet file)
FAMILIES = {
    "mobilenet_v3_small": (
        _mobilenet_v3(keras.applications.MobileNetV3Small),
        {"P2": "expanded_conv_project_bn", "P3": "expanded_conv_2_add",
         "P4": "expanded_conv_7_add", "P5": None},
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
    ),
    "mobilenet_v3_large": (
        _mobilenet_v3(keras.applications.MobileNetV3Large),
        {"P2": "expanded_conv_2_add", "P3": "expanded_conv_5_add",
         "P4": "expanded_conv_11_add", "P5": None},
        "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
    ),
    "resnet50": (
        _resnet50,
        {"P2": "conv2_block3_out", "P3": "conv3_block4_out",
         "P4": "conv4_block6_out", "P5": "conv5_block3_out"},
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "efficientnet_v2_b0": (
        _efficientnet_v2_b0,
        {"P2": "block2b_add", "P3": "block3b_add", "P4": "block5e_add", "P5": "top_activation"},
        "efficientnetv2-b0_notop.h5",
    ),
}


def imagenet_weights_file(family):
    """Where Keras looks for the family's ImageNet file; it must be there, nothing downloads."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    path = os.path.join(home, "models", FAMILIES[family][2])
    if not os.path.isfile(path):
        fail(
            f"ImageNet weights for {family} are not on this machine (looked for {path}); "
            "Trident never downloads at run time",
            f"Copy the Keras Applications file {FAMILIES[family][2]} to {path}, "
            "or pass --backbone-weights PATH.weights.h5, or train from scratch",
            backbone_weights="imagenet",
        )
    return path


@keras.saving.register_keras_serializable(package="trident")
class ApplicationBackbone(Backbone):
    """A `keras.applications` network as a pyramid backbone.

    Args:
        family: str, one of `FAMILIES`.
        input_channels: int, 3 for ImageNet weights; any count from scratch.
        bn_momentum: float, batch-norm momentum while training (Keras uses 0.99; from
            scratch that leaves inference statistics far behind the weights).
        imagenet: bool, load ImageNet weights from the Keras cache (not stored in the
            config: a saved model carries its own weights).
    """

    def __init__(self, family, input_channels=3, bn_momentum=0.9, imagenet=False, **kwargs):
        if family not in FAMILIES:
            fail(f"Unknown keras.applications family {family}", f"Use one of {', '.join(FAMILIES)}",
                 family=family)
        builder, taps, _ = FAMILIES[family]
        if imagenet:
            imagenet_weights_file(family)
            if input_channels != 3:
                fail("ImageNet weights need 3 input channels", "Use RGB images or train from scratch",
                     input_channels=input_channels)

        # === Functional model ===
        inputs = image_input(input_channels)
        app = builder(inputs, "imagenet" if imagenet else None)
        for layer in app.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = bn_momentum
        pyramid = {
            level: app.output if name is None else app.get_layer(name).output
            for level, name in taps.items()
        }
        super().__init__(inputs, pyramid, **kwargs)

        # === Config ===
        self.family = family
        self.input_channels = input_channels
        self.bn_momentum = bn_momentum

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.freeze_settings(),
            "family": self.family,
            "input_channels": self.input_channels,
            "bn_momentum": self.bn_momentum,
        }
