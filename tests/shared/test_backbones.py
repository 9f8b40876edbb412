import numpy as np
import pytest

from shared.backbones import BACKBONES, build_backbone
from shared.errors import TridentError
from shared.patches import sublayers


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_pyramid_levels_have_their_stride(name):
    backbone = build_backbone(name)
    features = backbone(np.zeros((1, 64, 64, 3), np.float32))
    assert set(features) == set(backbone.pyramid_levels)
    for level, tensor in features.items():
        stride = 2 ** int(level[1:])
        assert tuple(tensor.shape[1:3]) == (64 // stride, 64 // stride), level
        assert tensor.shape[-1] == backbone.level_channels(level)


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "compact", "efficientnet_lite0"])
def test_own_families_take_any_channel_count_and_round_trip_config(name):
    backbone = build_backbone(name, input_channels=1)
    features = backbone(np.zeros((2, 32, 32, 1), np.float32))
    rebuilt = type(backbone).from_config(backbone.get_config())
    assert rebuilt.get_config() == backbone.get_config()
    assert {k: v.shape for k, v in rebuilt(np.zeros((2, 32, 32, 1), np.float32)).items()} == {
        k: v.shape for k, v in features.items()}


@pytest.mark.parametrize("name", ["compact", "efficientnet_lite0"])
def test_frozen_batch_norm_keeps_its_statistics_while_the_rest_trains_and_survives_a_checkpoint(name, tmp_path):
    import keras

    backbone = build_backbone(name, frozen_bn=True)
    norms = [layer for layer in sublayers(backbone) if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs)["P5"])
    model = keras.Model(inputs, keras.layers.Dense(2)(pooled))
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = {v.path: np.array(v) for v in backbone.weights}
    rng = np.random.default_rng(0)
    model.fit(rng.uniform(0, 255, (4, 32, 32, 3)).astype(np.float32), np.array([0, 1, 0, 1]), batch_size=2,
              verbose=0)
    moved = {v.path for v in backbone.weights if not np.array_equal(before[v.path], np.array(v))}
    frozen = {v.path for layer in norms for v in layer.weights}
    assert moved and not moved & frozen  # convolutions learn; scale, shift and statistics stay
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras").layers[1]
    assert reloaded.frozen_bn and not any(layer.trainable for layer in sublayers(reloaded)
                                          if isinstance(layer, keras.layers.BatchNormalization))


@pytest.mark.parametrize("name", ["compact", "efficientnet_lite0"])
def test_freezing_up_to_a_level_freezes_exactly_the_layers_that_compute_it(name):
    import keras

    backbone = build_backbone(name, frozen_to="P2")
    below = {layer.name for layer in keras.Model(backbone.input, backbone.pyramid_outputs["P2"]).layers}
    weighted = [layer for layer in backbone.layers if layer.weights]
    assert {layer.name for layer in weighted if not layer.trainable} == below & {layer.name for layer in weighted}
    assert any(layer.trainable for layer in weighted)  # P3 and deeper learn
    rebuilt = type(backbone).from_config(backbone.get_config())
    assert rebuilt.frozen_to == "P2" and len(rebuilt.trainable_weights) == len(backbone.trainable_weights)
    with pytest.raises(TridentError, match="Pick one of those levels"):
        build_backbone(name, frozen_to="P7")


def test_weights_saved_alone_load_into_a_fresh_build(tmp_path):
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    first = build_backbone("compact")
    path = str(tmp_path / "backbone.weights.h5")
    first.save_weights(path)
    second = build_backbone("compact", weights=path)
    for level in first.pyramid_levels:
        np.testing.assert_array_equal(first(images)[level], second(images)[level])


def test_weight_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(TridentError, match="does not exist"):
        build_backbone("compact", weights=str(tmp_path / "missing.weights.h5"))
    with pytest.raises(TridentError, match=r"\.weights\.h5"):
        build_backbone("compact", weights=str(tmp_path / "model.h5"))
    other = str(tmp_path / "lenet.weights.h5")
    build_backbone("lenet5").save_weights(other)
    with pytest.raises(TridentError, match="do not fit"):
        build_backbone("compact", weights=other)


def test_imagenet_offline_fails_at_once_with_the_place_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(TridentError, match=str(tmp_path / "models")):
        build_backbone("mobilenet_v3_small", weights="imagenet")
    with pytest.raises(TridentError, match="no ImageNet weights"):
        build_backbone("lenet5", weights="imagenet")


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(TridentError, match="Choose one of: compact, lenet5"):
        build_backbone("vgg99")


def test_lenet5_at_32_px_is_the_papers_network():
    from shared.backbones.classic import as_drawn
    from tasks.classification.model import build_classifier

    assert as_drawn("lenet5", 32) == {"as_drawn": True}
    assert as_drawn("lenet5", 28) == {} and as_drawn("lenet5", 64) == {}
    backbone = build_backbone("lenet5", input_channels=1, **as_drawn("lenet5", 32))
    levels = backbone(np.zeros((1, 32, 32, 1), np.float32))
    assert {name: tuple(level.shape[1:]) for name, level in levels.items()} == {
        "P1": (14, 14, 6), "P2": (5, 5, 16), "P3": (1, 1, 120)}  # S2, S4, C5 as drawn
    model = build_classifier(backbone, 10, 32, [str(i) for i in range(10)])
    assert model.count_params() == 61706  # LeCun et al. 1998 with a fully connected C3: 60k
    rgb = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 1)).repeat(3, -1).astype(np.float32)
    assert model.predict(rgb, verbose=0).shape == (2, 10)  # the task model still takes RGB


def test_alexnet_from_227_px_opens_with_its_11x11_stride_4_layer():
    from shared.backbones.classic import as_drawn

    assert as_drawn("alexnet", 227) == {"as_drawn": True} and as_drawn("alexnet", 64) == {}
    levels = build_backbone("alexnet", width=0.125, **as_drawn("alexnet", 227))(np.zeros((1, 227, 227, 3), np.float32))
    assert [tuple(levels[name].shape[1:3]) for name in ("P1", "P2", "P3")] == [(27, 27), (13, 13), (6, 6)]
