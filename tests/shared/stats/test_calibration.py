import numpy as np

from shared.engine.runs import Run
from shared.stats.calibration import (calibration_bins, calibration_record, expected_calibration_error,
                                      fit_temperature, with_temperature)


def softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def overconfident(n=6000, temperature=2.0, seed=0):
    """Probabilities twice as sharp as the truth: labels drawn from softmax(z / 2), the model says softmax(z)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 4))
    truth = softmax(logits / temperature)
    labels = np.array([rng.choice(4, p=p) for p in truth])
    return softmax(logits), labels


def test_temperature_scaling_recovers_a_known_overconfidence_and_keeps_every_decision():
    probabilities, labels = overconfident()
    temperature = fit_temperature(probabilities, labels)
    assert abs(temperature - 2.0) < 0.15, temperature
    record = calibration_record(probabilities, labels, temperature)
    assert record["ece_before"] > 0.08 and record["ece_after"] < 0.03, record
    assert record["nll_after"] < record["nll_before"]
    scaled = with_temperature(probabilities, temperature)
    np.testing.assert_array_equal(scaled.argmax(-1), probabilities.argmax(-1))
    np.testing.assert_allclose(with_temperature(probabilities, 1.0), probabilities, atol=1e-9)
    assert fit_temperature(np.zeros((0, 4)), np.zeros(0, int)) == 1.0


def test_ece_by_hand():
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 1, 0, 1, 0])
    # Bin of 0.95: accuracy 0.75, gap 0.2, 4 of 6 images; bin of 0.55: accuracy 0.5, gap 0.05, 2 of 6.
    assert np.isclose(expected_calibration_error(confidence, correct), (4 * 0.2 + 2 * 0.05) / 6)
    rows = calibration_bins(confidence, correct)
    assert [row[2] for row in rows] == [2, 4] and np.isclose(rows[1][4], 0.75)


def test_a_calibration_fitted_for_another_checkpoint_is_not_used(tmp_path):
    run = Run(str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    checkpoint = tmp_path / "checkpoints" / "best.keras"
    checkpoint.write_bytes(b"weights of epoch 3")
    run.write_calibration({"temperature": 1.7}, str(checkpoint))
    assert run.calibration(str(checkpoint))["temperature"] == 1.7
    checkpoint.write_bytes(b"weights of epoch 9")  # training went on; no new calibration was fitted
    assert run.calibration(str(checkpoint)) == {}
    (tmp_path / "calibration.json").write_text("{ cut")
    assert run.calibration(str(checkpoint)) == {}


def test_a_temperature_needs_enough_wrong_answers_to_be_fitted():
    from shared.stats.calibration import fitted_temperature

    probabilities, labels = overconfident(n=2000)
    record = fitted_temperature(probabilities, labels, unit="pixel")
    assert abs(record["temperature"] - 2.0) < 0.3 and "not_fitted" not in record
    right = probabilities.argmax(-1)
    right[:3] = (right[:3] + 1) % 4  # three wrong answers
    record = fitted_temperature(probabilities, right, unit="pixel")
    assert record["temperature"] == 1.0 and "3 wrong pixel(s)" in record["not_fitted"]


def test_pixels_are_drawn_from_the_labelled_ones_only():
    from shared.stats.calibration import sample_pixels

    probabilities = np.random.default_rng(0).dirichlet(np.ones(3), (20, 30))
    mask = np.full((20, 30), 255, np.uint8)
    mask[5:10, 5:10] = 2
    drawn, labels = sample_pixels(probabilities, mask, 10, np.random.default_rng(0))
    assert len(labels) == 10 and (labels == 2).all()
    assert all(any(np.allclose(p, probabilities[r, c]) for r in range(5, 10) for c in range(5, 10)) for p in drawn)
    drawn, labels = sample_pixels(probabilities, mask, 1000, np.random.default_rng(0))
    assert len(labels) == 25  # all of them when fewer than asked
