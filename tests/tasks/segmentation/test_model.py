import keras
import numpy as np
import pytest

from shared.backbones import build_backbone
from tasks.segmentation.model import SemanticSegmenter


@pytest.mark.parametrize("head", ["deeplabv3plus", "fpn"])
@pytest.mark.parametrize("backbone", ["compact", "lenet5"])
def test_any_input_size_fit_config_and_save(head, backbone, tmp_path):
    model = SemanticSegmenter(build_backbone(backbone), 3, 32, ["bg", "a", "b"], head=head, width=16)
    model.compile()
    for shape in ((1, 32, 32, 3), (2, 40, 56, 3), (1, 45, 37, 3)):
        out = model.predict(np.zeros(shape, np.float32), verbose=0)
        assert out.shape == (*shape[:3], 3)
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    masks = np.random.default_rng(1).integers(0, 3, (2, 32, 32, 1)).astype(np.int32)
    masks[0, :4] = 255
    history = model.fit(images, masks, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "mean_iou" in history.history
    assert SemanticSegmenter.from_config(model.get_config()).get_config() == model.get_config()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)
    assert int(loaded.optimizer.iterations) == 1


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="head must be"):
        SemanticSegmenter(build_backbone("lenet5"), 2, 32, head="unet")
