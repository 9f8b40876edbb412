"""Atrous spatial pyramid pooling (DeepLabV3, Chen et al., 2017), size-agnostic."""

import keras

from shared.layers.conv import conv_bn_act, separable_bn_act
from shared.layers.resize import ResizeLike


def aspp(x, width, rates=(1, 2, 3), activation="relu", context=None, name="aspp"):
    """Parallel dilated separable 3x3 convolutions plus image-level pooling, fused by a 1x1 convolution.

    Rates default far smaller than the paper's (6, 12, 18) because Trident's inputs are
    small: at 128 px a stride-16 map is 8x8. The image-level branch pools `context` (a
    deeper level, when given) or `x`, and is resized to `x`'s run-time shape, so any input
    size works.
    """
    branches = [conv_bn_act(x, width, 1, 1, activation, name=f"{name}_1x1")]
    for rate in rates:
        if rate == 1:
            continue
        branches.append(separable_bn_act(x, width, 3, rate, activation, name=f"{name}_rate{rate}"))
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x if context is None else context)
    pooled = conv_bn_act(pooled, width, 1, 1, activation, name=f"{name}_pool_proj")
    branches.append(ResizeLike("bilinear", name=f"{name}_pool_up")([pooled, x]))
    merged = keras.layers.Concatenate(name=f"{name}_concat")(branches)
    return conv_bn_act(merged, width, 1, 1, activation, name=f"{name}_out")
