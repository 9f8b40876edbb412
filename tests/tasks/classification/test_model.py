import keras
import numpy as np
import pytest

from shared.backbones import build_backbone
from tasks.classification.model import build_classifier
from tests.helpers import run_task_test

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
LABELS = np.array([0, 1, 2, 0], np.int32)


@pytest.mark.large
@pytest.mark.parametrize("backbone", ["lenet5", "alexnet", "compact", "mobilenet_v3_small"])
def test_predict_fit_config_and_save_round_trip(backbone, tmp_path):
    model = build_classifier(build_backbone(backbone), 3, 32, ["a", "b", "c"])
    model.compile()
    probabilities = model.predict(IMAGES, verbose=0)
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Fit, config and .keras round trip; the optimizer comes back too, so a resumed run continues.
    loaded = run_task_test(model, IMAGES, LABELS, tmp_path, atol=1e-6)
    assert loaded.class_names == ["a", "b", "c"]


def test_classic_heads_follow_the_backbone():
    lenet = build_classifier(build_backbone("lenet5"), 10, 32, None)
    assert lenet.pooling == "flatten" and lenet.head_units == [84]
    default = build_classifier(build_backbone("compact"), 10, 32, None, head_units=[16])
    assert default.pooling == "avg" and default.head_units == [16]
    assert default.class_names[:2] == ["0", "1"]


def test_training_lowers_the_loss():
    keras.utils.set_random_seed(0)  # the same initial weights whatever ran before in this process
    model = build_classifier(build_backbone("lenet5"), 3, 32, None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    losses = model.fit(IMAGES, LABELS, batch_size=4, epochs=40, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
