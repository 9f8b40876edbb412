"""The classic networks, LeNet-5 and AlexNet, adapted to small inputs and any channel count.

Both keep their original layer sequence and widths (AlexNet's can be scaled) but use
'same' padding and small first kernels, so 16 to 64 px inputs still reach every level.
"""

import keras

from shared.backbones.base import Backbone, image_input


@keras.saving.register_keras_serializable(package="trident")
class LeNet5(Backbone):
    """LeNet-5 (LeCun et al., 1998): C1-S2-C3-S4-C5 with tanh and average pooling.

    Args:
        input_channels: int, channels of the input images.
        activation: str, `"tanh"` as in the paper, or any Keras activation.

    Levels: P1 after S2, P2 after S4, P3 after C5 and a last pooling.
    """

    family = "lenet5"

    def __init__(self, input_channels=3, activation="tanh", **kwargs):
        # === Functional model ===
        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
        x = keras.layers.Conv2D(6, 5, padding="same", activation=activation, name="c1")(x)
        p1 = keras.layers.AveragePooling2D(2, name="s2")(x)
        x = keras.layers.Conv2D(16, 5, padding="same", activation=activation, name="c3")(p1)
        p2 = keras.layers.AveragePooling2D(2, name="s4")(x)
        x = keras.layers.Conv2D(120, 5, padding="same", activation=activation, name="c5")(p2)
        p3 = keras.layers.AveragePooling2D(2, name="s6")(x)
        super().__init__(inputs, {"P1": p1, "P2": p2, "P3": p3}, **kwargs)

        # === Config ===
        self.input_channels = input_channels
        self.activation = activation

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_channels": self.input_channels,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="trident")
class AlexNet(Backbone):
    """AlexNet (Krizhevsky et al., 2012): five convolutions, three max-poolings, ReLU.

    The 11x11 stride-4 first layer becomes 5x5 stride 1 so that 32 px inputs work;
    local response normalisation is left out, as later re-implementations do.

    Args:
        input_channels: int, channels of the input images.
        width: float, multiplies every layer's filter count (1.0 = 64-192-384-256-256).

    Levels: P1, P2 and P3 after the three poolings.
    """

    family = "alexnet"

    def __init__(self, input_channels=3, width=1.0, **kwargs):
        # === Functional model ===
        def filters(n):
            return max(8, int(round(n * width)))

        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
        x = keras.layers.Conv2D(filters(64), 5, padding="same", activation="relu", name="conv1")(x)
        p1 = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
        x = keras.layers.Conv2D(filters(192), 5, padding="same", activation="relu", name="conv2")(p1)
        p2 = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
        x = keras.layers.Conv2D(filters(384), 3, padding="same", activation="relu", name="conv3")(p2)
        x = keras.layers.Conv2D(filters(256), 3, padding="same", activation="relu", name="conv4")(x)
        x = keras.layers.Conv2D(filters(256), 3, padding="same", activation="relu", name="conv5")(x)
        p3 = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool5")(x)
        super().__init__(inputs, {"P1": p1, "P2": p2, "P3": p3}, **kwargs)

        # === Config ===
        self.input_channels = input_channels
        self.width = width

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_channels": self.input_channels,
            "width": self.width,
        }
