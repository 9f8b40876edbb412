"""Convolution + batch norm + activation, the block every own network uses."""

import keras

from shared.layers.norm import FusedBatchNorm


def conv_bn_act(x, filters, kernel_size=3, strides=1, activation="relu", momentum=0.9, name=None):
    """Apply `Conv2D(no bias) -> FusedBatchNorm -> Activation` to `x`."""
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=False,
        name=f"{name}_conv" if name else None,
    )(x)
    x = FusedBatchNorm(momentum=momentum, name=f"{name}_bn" if name else None)(x)
    return keras.layers.Activation(activation, name=f"{name}_act" if name else None)(x)


def separable_bn_act(x, filters, kernel_size=3, dilation_rate=1, activation="relu", momentum=0.9, name=None):
    """Depthwise-separable convolution (as DeepLabV3+ uses), batch norm and activation.

    About eight times cheaper than a full 3x3 convolution at the same width, which is
    what makes a stride-4 decoder affordable on a CPU.
    """
    x = keras.layers.SeparableConv2D(filters, kernel_size, padding="same", dilation_rate=dilation_rate,
                                     use_bias=False, name=f"{name}_sepconv" if name else None)(x)
    x = FusedBatchNorm(momentum=momentum, name=f"{name}_bn" if name else None)(x)
    return keras.layers.Activation(activation, name=f"{name}_act" if name else None)(x)
