"""Atrous spatial pyramid pooling (DeepLabV3, Chen et al., 2017), size-agnostic."""

import keras

from shared.layers.conv import conv_bn_act
from shared.layers.resize import ResizeLike


def aspp(x, width, rates=(1, 2, 3), activation="relu", name="aspp"):
    """Parallel dilated 3x3 convolutions plus image-level pooling, fused by a 1x1 convolution.

    Rates default far smaller than the paper's (6, 12, 18) because Trident's inputs are
    small: at 128 px a stride-32 map is 4x4. The pooled branch is resized to `x`'s dynamic
    shape, so any input size works.
    """
    branches = [conv_bn_act(x, width, 1, 1, activation, name=f"{name}_1x1")]
    for rate in rates:
        if rate == 1:
            continue
        y = keras.layers.Conv2D(width, 3, padding="same", dilation_rate=rate, use_bias=False,
                                name=f"{name}_rate{rate}_conv")(x)
        y = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_rate{rate}_bn")(y)
        branches.append(keras.layers.Activation(activation, name=f"{name}_rate{rate}_act")(y))
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    pooled = conv_bn_act(pooled, width, 1, 1, activation, name=f"{name}_pool_proj")
    branches.append(ResizeLike("bilinear", name=f"{name}_pool_up")([pooled, x]))
    merged = keras.layers.Concatenate(name=f"{name}_concat")(branches)
    return conv_bn_act(merged, width, 1, 1, activation, name=f"{name}_out")
