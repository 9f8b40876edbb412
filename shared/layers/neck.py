"""Feature necks over a backbone pyramid: top-down FPN, optionally with a PAN bottom-up path."""

import keras

from shared.layers.conv import conv_bn_act
from shared.layers.resize import ResizeLike


def pan_neck(features, width, activation="silu", bottom_up=True, name="neck"):
    """Fuse pyramid levels, shallow to deep, into maps of `width` channels each.

    Args:
        features: list of tensors, shallow (high resolution) first, e.g. [P3, P4, P5].
        width: int, channels of every output.
        bottom_up: bool, add PAN's bottom-up path after FPN's top-down one.

    Returns:
        list of tensors, same order and resolutions as `features`.
    """
    lateral = [conv_bn_act(f, width, 1, 1, activation, name=f"{name}_lateral{i}") for i, f in enumerate(features)]
    top_down = [lateral[-1]]
    for i in range(len(features) - 2, -1, -1):
        up = ResizeLike("nearest", name=f"{name}_up{i}")([top_down[0], lateral[i]])
        merged = keras.layers.Concatenate(name=f"{name}_td_concat{i}")([up, lateral[i]])
        top_down.insert(0, conv_bn_act(merged, width, 3, 1, activation, name=f"{name}_td{i}"))
    if not bottom_up:
        return top_down
    outputs = [top_down[0]]
    for i in range(1, len(features)):
        down = conv_bn_act(outputs[-1], width, 3, 2, activation, name=f"{name}_down{i}")
        down = ResizeLike("nearest", name=f"{name}_align{i}")([down, top_down[i]])
        merged = keras.layers.Concatenate(name=f"{name}_bu_concat{i}")([down, top_down[i]])
        outputs.append(conv_bn_act(merged, width, 3, 1, activation, name=f"{name}_bu{i}"))
    return outputs
