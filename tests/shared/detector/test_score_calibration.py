import numpy as np

from shared.detector.decoder import DetectionDecoder
from shared.detector.score_calibration import fit_platt, original, rescaled, score_calibration
from shared.detector.threshold import best_f1_threshold, fit_calibration, split_matches


def overconfident_matches(n=4000, seed=0):
    """`match_detections` rows whose scores are twice as sure as the truth: a detection of score s is right
    with probability sigmoid(logit(s) / 2); plus missed objects, which calibration ignores."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.06, 0.995, n)
    truth = rescaled(scores, 0.5, 0.0)
    right = rng.uniform(size=n) < truth
    rows = [(float(s), 0, 0 if r else -1) for s, r in zip(scores, right)]
    return rows + [(None, -1, 0)] * 50


def test_platt_scaling_recovers_a_known_overconfidence_and_keeps_the_ranking():
    matches = overconfident_matches()
    record = score_calibration(matches)
    assert abs(record["score_scale"] - 0.5) < 0.08 and abs(record["score_shift"]) < 0.15, record
    assert record["ece_before"] > 0.08 and record["ece_after"] < 0.03, record
    assert record["detections"] == 4000 and "not_fitted" not in record
    scores = np.array([0.07, 0.3, 0.5, 0.9, 0.99])
    calibrated = rescaled(scores, record["score_scale"], record["score_shift"])
    assert (np.diff(calibrated) > 0).all()  # the same order, so the same NMS and AP
    np.testing.assert_allclose(original(calibrated, record["score_scale"], record["score_shift"]), scores, rtol=1e-9)
    assert fit_platt(np.array([0.2, 0.8] * 50), np.array([0, 1] * 50))[0] > 1  # sharpens scores too shy


def test_too_few_right_or_wrong_detections_leave_the_scores_as_they_are():
    rows = [(0.9, 0, 0)] * 40 + [(0.6, 0, -1)] * 3
    record = score_calibration(rows)
    assert (record["score_scale"], record["score_shift"]) == (1.0, 0.0)
    assert "40 right and 3 wrong" in record["not_fitted"]
    assert record["ece_before"] == record["ece_after"]


def test_the_fitted_threshold_is_of_the_calibrated_scores():
    """200 images of one object each, found with a score of 0.5-0.99, and a false box far away scoring 0.06-0.7:
    the threshold kept is the best-F1 one of the rescaled scores (which predict compares), not of the own."""
    rng = np.random.default_rng(1)
    box = np.array([[10.0, 10.0, 30.0, 30.0]])
    detections, boxes, labels = [], [], []
    for _ in range(200):
        scores = np.array([rng.uniform(0.5, 0.99), rng.uniform(0.06, 0.7)])
        detections.append((np.concatenate([box, box + 100.0]), scores, np.zeros(2, int)))
        boxes.append(box)
        labels.append(np.zeros(1, int))
    record = fit_calibration(detections, boxes, labels)
    assert "not_fitted" not in record
    matches = split_matches(detections, boxes, labels)
    calibrated = [(None if s is None else float(rescaled(s, record["score_scale"], record["score_shift"])), p, t)
                  for s, p, t in matches]
    assert record["score_threshold"] == best_f1_threshold(calibrated, 200)["score_threshold"]
    own = best_f1_threshold(matches, 200)["score_threshold"]
    assert own == 0.5 and abs(record["score_threshold"] - own) > 0.1, (own, record)  # 0.26 calibrated


def test_the_decoder_rescales_its_scores_and_keeps_its_choices():
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, (1, 84, 4 + 3)).astype(np.float32)  # 64 px at strides 8, 16, 32: 64 + 16 + 4
    plain = DetectionDecoder(64, [8, 16, 32], 3, score_threshold=0.0)(raw)
    calibrated = DetectionDecoder(64, [8, 16, 32], 3, score_threshold=0.0, score_scale=0.5, score_shift=-0.2)(raw)
    np.testing.assert_array_equal(plain["classes"].numpy(), calibrated["classes"].numpy())
    np.testing.assert_allclose(plain["boxes"].numpy(), calibrated["boxes"].numpy(), atol=1e-5)
    kept = plain["classes"].numpy() >= 0
    np.testing.assert_allclose(calibrated["scores"].numpy()[kept],
                               rescaled(plain["scores"].numpy()[kept], 0.5, -0.2), atol=1e-5)
    config = DetectionDecoder.from_config(DetectionDecoder(64, [8], 3, score_scale=0.5).get_config())
    assert config.score_scale == 0.5 and config.score_shift == 0.0
