"""The classic networks, LeNet-5 and AlexNet: as drawn at their native input size, adapted
to other sizes, any channel count.

At their native size (`as_drawn`: LeNet-5 at 32 px, AlexNet from 227 px) they are the
papers' networks: LeNet-5's valid 5x5 convolutions take 32x32 to C5's 120 maps of 1x1, and
AlexNet opens with its 11x11 stride-4 convolution. Elsewhere they keep the layer sequence
and widths (AlexNet's can be scaled) with 'same' padding and small first kernels, so 16 to
64 px inputs and the detection and segmentation heads (which need each level half the
previous one) still reach every level.
"""

import keras

from shared.backbones.base import Backbone, image_input


@keras.saving.register_keras_serializable(package="trident")
class LeNet5(Backbone):
    """LeNet-5 (LeCun et al., 1998): C1-S2-C3-S4-C5 with tanh and average pooling.

    Args:
        input_channels: int, channels of the input images (1: the paper's grayscale).
        activation: str, `"tanh"` as in the paper, or any Keras activation.
        as_drawn: bool, the paper's valid convolutions for 32x32 inputs (C1 28x28, S2 14x14,
            C3 10x10, S4 5x5, C5 1x1; 61,706 parameters with one channel and the classic
            84-unit head, C3 fully connected as in most re-implementations). False: 'same'
            padding and a last pooling, for other sizes.

    Levels: P1 after S2, P2 after S4, P3 after C5 (and, not as drawn, a last pooling).
    """

    family = "lenet5"
    native_size = 32

    def __init__(self, input_channels=3, activation="tanh", as_drawn=False, **kwargs):
        # === Functional model ===
        padding = "valid" if as_drawn else "same"
        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
        x = keras.layers.Conv2D(6, 5, padding=padding, activation=activation, name="c1")(x)
        p1 = keras.layers.AveragePooling2D(2, name="s2")(x)
        x = keras.layers.Conv2D(16, 5, padding=padding, activation=activation, name="c3")(p1)
        p2 = keras.layers.AveragePooling2D(2, name="s4")(x)
        p3 = keras.layers.Conv2D(120, 5, padding=padding, activation=activation, name="c5")(p2)
        if not as_drawn:
            p3 = keras.layers.AveragePooling2D(2, name="s6")(p3)
        super().__init__(inputs, {"P1": p1, "P2": p2, "P3": p3}, **kwargs)

        # === Config ===
        self.input_channels = input_channels
        self.activation = activation
        self.as_drawn = as_drawn

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.freeze_settings(),
            "input_channels": self.input_channels,
            "activation": self.activation,
            "as_drawn": self.as_drawn,
        }


@keras.saving.register_keras_serializable(package="trident")
class AlexNet(Backbone):
    """AlexNet (Krizhevsky et al., 2012): five convolutions, three max-poolings, ReLU.

    Local response normalisation is left out, as later re-implementations do.

    Args:
        input_channels: int, channels of the input images.
        width: float, multiplies every layer's filter count (1.0 = 64-192-384-256-256).
        as_drawn: bool, the paper's 11x11 stride-4 first convolution (227 px: 55x55 maps,
            then 27, 13 and 6 after the poolings). False: 5x5 stride 1, so 32 px inputs work.

    Levels: P1, P2 and P3 after the three poolings.
    """

    family = "alexnet"
    native_size = 227

    def __init__(self, input_channels=3, width=1.0, as_drawn=False, **kwargs):
        # === Functional model ===
        def filters(n):
            return max(8, int(round(n * width)))

        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
        if as_drawn:
            x = keras.layers.Conv2D(filters(64), 11, strides=4, padding="valid", activation="relu", name="conv1")(x)
        else:
            x = keras.layers.Conv2D(filters(64), 5, padding="same", activation="relu", name="conv1")(x)
        pooling = "valid" if as_drawn else "same"
        p1 = keras.layers.MaxPooling2D(3, strides=2, padding=pooling, name="pool1")(x)
        x = keras.layers.Conv2D(filters(192), 5, padding="same", activation="relu", name="conv2")(p1)
        p2 = keras.layers.MaxPooling2D(3, strides=2, padding=pooling, name="pool2")(x)
        x = keras.layers.Conv2D(filters(384), 3, padding="same", activation="relu", name="conv3")(p2)
        x = keras.layers.Conv2D(filters(256), 3, padding="same", activation="relu", name="conv4")(x)
        x = keras.layers.Conv2D(filters(256), 3, padding="same", activation="relu", name="conv5")(x)
        p3 = keras.layers.MaxPooling2D(3, strides=2, padding=pooling, name="pool5")(x)
        super().__init__(inputs, {"P1": p1, "P2": p2, "P3": p3}, **kwargs)

        # === Config ===
        self.input_channels = input_channels
        self.width = width
        self.as_drawn = as_drawn

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.freeze_settings(),
            "input_channels": self.input_channels,
            "width": self.width,
            "as_drawn": self.as_drawn,
        }


def as_drawn(name, image_size):
    """`{"as_drawn": True}` when backbone `name` is a classic at its native input size
    (for a classifier; detection and segmentation need the adapted levels), else `{}`."""
    family = {"lenet5": LeNet5, "alexnet": AlexNet}.get(name)
    if family is None or image_size is None:
        return {}
    native = image_size == family.native_size if family is LeNet5 else image_size >= family.native_size
    return {"as_drawn": True} if native else {}
