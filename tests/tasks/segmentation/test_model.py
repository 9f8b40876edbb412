import numpy as np
import pytest

from shared.backbones import build_backbone
from tasks.segmentation.model import SemanticSegmenter
from tests.helpers import run_task_test


# Each head on lenet5's levels, and the default pair (compact, DeepLabV3+); compact with FPN is the
# same head on other level names and took 20 s of the test suite.
@pytest.mark.large
@pytest.mark.parametrize("backbone, head", [("compact", "deeplabv3plus"), ("lenet5", "deeplabv3plus"),
                                            ("lenet5", "fpn"), ("efficientnet_lite0", "deeplabv3plus")])
def test_any_input_size_fit_config_and_save(backbone, head, tmp_path):
    model = SemanticSegmenter(build_backbone(backbone), 3, 32, ["bg", "a", "b"], head=head, width=16)
    model.compile()
    for shape in ((1, 32, 32, 3), (2, 40, 56, 3), (1, 45, 37, 3)):
        out = model.predict(np.zeros(shape, np.float32), verbose=0)
        assert out.shape == (*shape[:3], 3)
        np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    masks = np.random.default_rng(1).integers(0, 3, (2, 32, 32, 1)).astype(np.int32)
    masks[0, :4] = 255
    run_task_test(model, images, masks, tmp_path)
    assert "mean_iou" in model.history.history


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="head must be"):
        SemanticSegmenter(build_backbone("lenet5"), 2, 32, head="unet")
