import numpy as np
import pytest

from shared.backbones import build_backbone
from tasks.detection.model import ObjectDetector, build_detector
from tests.helpers import run_task_test


@pytest.mark.large
@pytest.mark.parametrize("backbone", ["compact", "efficientnet_lite0"])
def test_fit_config_and_save_round_trip(backbone, tmp_path):  # lenet5's detector round-trips in the end-to-end test
    model = build_detector(build_backbone(backbone), 2, 32, ["cat", "dog"], width=8, max_detections=5)
    model.compile()
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    targets = {"boxes": np.array([[[2, 2, 20, 20], [-1, -1, -1, -1]], [[8, 4, 30, 28], [1, 1, 9, 9]]], np.float32),
               "labels": np.array([[0, -1], [1, 0]], np.int32)}
    loaded = run_task_test(model, images, targets, tmp_path,
                           outputs=lambda out: [out["scores"], out["boxes"], out["num_detections"]])
    assert isinstance(loaded, ObjectDetector) and loaded.class_names == ["cat", "dog"]
    assert loaded.max_detections == 5 and loaded.get_config() == model.get_config()


def test_the_decoder_is_a_serializable_layer_configured_explicitly():
    import keras

    from shared.detector.decoder import DetectionDecoder

    model = build_detector(build_backbone("lenet5"), 3, 32, None, width=8, max_detections=7)
    decoder = model.decoder(score_threshold=0.0, multi_label=True)
    assert (decoder.max_detections, decoder.score_threshold, decoder.multi_label) == (7, 0.0, True)
    assert model.score_threshold == 0.05  # the model itself is not changed
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(decoder))
    assert isinstance(rebuilt, DetectionDecoder) and rebuilt.get_config() == decoder.get_config()
    raw = model(np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32))
    for key, value in decoder(raw).items():
        np.testing.assert_array_equal(value.numpy(), rebuilt(raw)[key].numpy())
    assert int(decoder(raw)["num_detections"][0]) == 7  # threshold 0: every slot filled


def test_the_lean_head_is_the_cheaper_one_and_saved_models_without_a_head_setting_load_as_full():
    import pytest

    from shared.errors import TridentError

    sizes = {}
    for head in ("lean", "full"):
        model = build_detector(build_backbone("lenet5"), 3, 32, None, width=48, head=head)
        sizes[head] = sum(layer.count_params() for layer in model.layers if layer.name.startswith("head"))
        assert model.get_layer("head0_box_b_conv").filters == (24 if head == "lean" else 48)
        assert model.get_layer("head0_cls_b_conv").kernel_size == ((1, 1) if head == "lean" else (3, 3))
    assert sizes["lean"] < 0.5 * sizes["full"]
    old = model.get_config()
    del old["head"]  # saved before the head was a setting
    assert ObjectDetector.from_config(old).head == "full"
    with pytest.raises(TridentError, match="Unknown detection head 'tiny'"):
        build_detector(build_backbone("lenet5"), 3, 32, None, width=16, head="tiny")
