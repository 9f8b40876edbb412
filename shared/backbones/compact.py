"""The default backbone: a compact residual CNN sized for a 2-core CPU and 32 to 320 px."""

import keras

from shared.backbones.base import Backbone, image_input
from shared.layers.conv import conv_bn_act
from shared.layers.norm import FusedBatchNorm


@keras.saving.register_keras_serializable(package="trident")
class CompactResNet(Backbone):
    """A small ResNet: stride-2 stem, then four stages of basic residual blocks.

    Batch-norm momentum defaults to 0.9 rather than Keras' 0.99 because short runs from
    scratch otherwise evaluate with moving statistics that lag far behind the weights.

    Args:
        input_channels: int, channels of the input images.
        widths: list of int, filters of stages P2..P5.
        depths: list of int, residual blocks per stage.
        activation: str, `"relu"` or `"silu"`.
        bn_momentum: float, batch-norm moving-average momentum.

    Levels: P1 (stem) to P5.
    """

    family = "compact"

    def __init__(
        self,
        input_channels=3,
        widths=(32, 64, 128, 256),
        depths=(1, 1, 2, 1),
        activation="silu",
        bn_momentum=0.9,
        **kwargs,
    ):
        widths, depths = list(widths), list(depths)
        if len(widths) != 4 or len(depths) != 4:
            raise ValueError("widths and depths need four entries (P2..P5). "
                             f"Received: widths={widths}, depths={depths}")

        # === Functional model ===
        inputs = image_input(input_channels)
        x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
        x = conv_bn_act(x, widths[0] // 2, 3, 2, activation, bn_momentum, name="stem")
        pyramid = {"P1": x}
        for stage, (width, depth) in enumerate(zip(widths, depths)):
            level = f"P{stage + 2}"
            x = conv_bn_act(x, width, 3, 2, activation, bn_momentum, name=f"{level}_down")
            for block in range(depth):
                x = self._residual_block(x, width, activation, bn_momentum, f"{level}_block{block}")
            pyramid[level] = x
        super().__init__(inputs, pyramid, **kwargs)

        # === Config ===
        self.input_channels = input_channels
        self.widths = widths
        self.depths = depths
        self.activation = activation
        self.bn_momentum = bn_momentum

    @staticmethod
    def _residual_block(x, width, activation, momentum, name):
        shortcut = x
        x = conv_bn_act(x, width, 3, 1, activation, momentum, name=f"{name}_a")
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(x)
        x = FusedBatchNorm(momentum=momentum, name=f"{name}_b_bn")(x)
        x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
        return keras.layers.Activation(activation, name=f"{name}_out")(x)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self.freeze_settings(),
            "input_channels": self.input_channels,
            "widths": self.widths,
            "depths": self.depths,
            "activation": self.activation,
            "bn_momentum": self.bn_momentum,
        }
