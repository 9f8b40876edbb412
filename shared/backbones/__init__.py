"""Backbone registry: a plain `name -> factory` mapping, and weight loading.

Example:
    backbone = build_backbone("compact", weights="runs/x/backbone.weights.h5")
    features = backbone(images)   # {"P1": ..., "P5": ...}
"""

import functools
import os

from shared.backbones.applications import FAMILIES, ApplicationBackbone
from shared.backbones.base import Backbone
from shared.backbones.classic import AlexNet, LeNet5
from shared.backbones.compact import CompactResNet
from shared.backbones.efficientnet_lite import VARIANTS, EfficientNetLite
from shared.backbones.imagenet import assign_state_dict
from shared.backbones.torch_legacy import read_state_dict
from shared.errors import fail

__all__ = ["BACKBONES", "Backbone", "IMAGENET", "PACKAGED_IMAGENET", "build_backbone", "load_backbone_weights"]

BACKBONES = {
    "compact": CompactResNet,
    "lenet5": LeNet5,
    "alexnet": AlexNet,
    **{f"efficientnet_{variant}": functools.partial(EfficientNetLite, variant=variant) for variant in VARIANTS},
    **{family: functools.partial(ApplicationBackbone, family=family) for family in FAMILIES},
}
# Backbones with ImageNet weights: those installed with Trident's packages, and keras.applications
# families (whose files must already be in the user's Keras cache).
PACKAGED_IMAGENET = tuple(f"efficientnet_{variant}" for variant in VARIANTS)
IMAGENET = PACKAGED_IMAGENET + tuple(FAMILIES)


def build_backbone(name, weights=None, input_channels=3, **kwargs):
    """Build a registered backbone and load its weights.

    Args:
        name: str, a key of `BACKBONES`.
        weights: None or `"none"` (random), a local `.weights.h5` file saved from a backbone
            of the same name and settings, `"imagenet"` for the backbones in `IMAGENET`
            (EfficientNet-Lite from its installed package, keras.applications families from
            the Keras cache; never downloaded), or an EfficientNet-Lite `.pth` state dict.
        input_channels: int, channels of the input images.
        **kwargs: family-specific settings (`widths`, `width`, `bn_momentum`...).
    """
    if name not in BACKBONES:
        fail(f"Unknown backbone `{name}`", f"Choose one of: {', '.join(BACKBONES)}", backbone=name)
    if weights == "imagenet":
        if name not in IMAGENET:
            fail(f"Backbone `{name}` has no ImageNet weights",
                 f"Use one of {', '.join(IMAGENET)} for ImageNet weights, a local .weights.h5 file, or "
                 "--backbone-weights none", backbone=name, backbone_weights=weights)
        return BACKBONES[name](input_channels=input_channels, imagenet=True, **kwargs)
    backbone = BACKBONES[name](input_channels=input_channels, **kwargs)
    if weights and weights != "none":
        if str(weights).endswith(".pth") and isinstance(backbone, EfficientNetLite):
            if not os.path.isfile(weights):
                fail(f"Backbone weights file {weights} does not exist", "Fix the path", backbone_weights=weights)
            return assign_state_dict(backbone, read_state_dict(weights), source=weights)
        load_backbone_weights(backbone, weights)
    return backbone


def load_backbone_weights(backbone, path):
    """Load a backbone saved alone (`backbone.save_weights`) with a clear error on mismatch."""
    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        fail(f"Backbone weights must be a Keras `.weights.h5` file: {path}",
             "Pass the backbone.weights.h5 a Trident run saved, 'imagenet' or 'none' (an EfficientNet-Lite "
             "backbone also takes its PyTorch .pth state dict)", backbone_weights=path)
    if not os.path.isfile(path):
        fail(f"Backbone weights file {path} does not exist",
             "Train a run first (it saves RUN/backbone.weights.h5) or fix the path", backbone_weights=path)
    try:
        backbone.load_weights(path)
    except Exception as error:  # Keras raises ValueError or KeyError on a mismatched file.
        fail(f"Backbone weights {path} do not fit backbone `{backbone.name}` ({error})",
             "Use weights saved from the same backbone name and settings", backbone_weights=path)
    return backbone
