"""The score threshold a detector's answers are cut at: the one of best F1 on the val split, fitted after
training and kept as the run's calibration; `predict`'s default. And how far the scores are from being the
chance that a detection is right."""

import numpy as np

from shared.detector.metrics import f1_curve, match_detections
from shared.detector.score_calibration import LOWEST, original, rescaled, score_calibration, scored_matches
from shared.reports.plots import reliability_figure
from shared.stats.calibration import calibration_bins, expected_calibration_error

DEFAULT = 0.25  # for runs without a val split (or trained by an older Trident)


def split_matches(detections, boxes, labels):
    """`match_detections` rows of every image: per-image `detections` `(boxes, scores, classes)` against the
    true `boxes` and `labels`."""
    return [m for (found, scores, classes), truth, truth_labels in zip(detections, boxes, labels)
            for m in match_detections(truth, truth_labels, found, scores, classes)]


def fit_calibration(detections, boxes, labels):
    """What a detector's run keeps from its val split: the scores' calibration (`score_calibration`, fitted on
    the network's own scores in `detections`) and, on the calibrated scores, the threshold of best F1."""
    matches = split_matches(detections, boxes, labels)
    calibration = score_calibration(matches)
    scale, shift = calibration["score_scale"], calibration["score_shift"]
    calibrated = [(float(rescaled(score, scale, shift)) if score is not None else None, predicted, truth)
                  for score, predicted, truth in matches]
    return {**best_f1_threshold(calibrated, int(sum(len(lab) for lab in labels))), **calibration}


def best_f1_threshold(matches, objects):
    """`{"score_threshold", "f1", "precision", "recall"}` at the threshold of best F1 of `match_detections`
    rows (IoU 0.5, class-correct matches) among `objects` true objects."""
    curve = f1_curve(matches, objects)
    best = int(np.argmax(curve["f1"]))
    return {"score_threshold": max(LOWEST, float(curve["thresholds"][best])), "f1": float(curve["f1"][best]),
            "precision": float(curve["precision"][best]), "recall": float(curve["recall"][best])}


def answer_threshold(model, given=None):
    """`given` (a `--confidence` flag), else the run's val-fitted threshold, else `DEFAULT`."""
    return float(given if given is not None else model.calibration.get("score_threshold", DEFAULT))


def threshold_note(model):
    """The report's sentence on where `predict`'s default threshold comes from."""
    fitted = model.calibration.get("score_threshold")
    if fitted is None:
        return f"predict keeps detections scoring {DEFAULT} or more (the run has no threshold fitted on a val split)."
    return (f"predict keeps detections scoring {fitted:.2f} or more by default: the threshold of best F1 "
            f"({model.calibration.get('f1', float('nan')):.3f}) on the val split, fitted after training.")


def add_score_calibration(report, matches, model):
    """Predict's threshold and where it comes from, then whether a detection's score is the chance that it is
    right (a class-correct match at IoU 0.5): ECE of the network's own scores and of the calibrated ones over
    the detections whose own score is `LOWEST` or more, and the reliability diagram. `matches`:
    `shared.detector.metrics.match_detections` rows of the split, scored as `predict` scores (calibrated)."""
    calibration = dict(model.calibration)
    report.record("calibration", calibration)
    scale, shift = calibration.get("score_scale", 1.0), calibration.get("score_shift", 0.0)
    own = [(float(original(score, scale, shift)) if score is not None else None, predicted, truth)
           for score, predicted, truth in matches]
    before, right = scored_matches(own)
    if not len(before):
        report.text("Predict's score threshold", threshold_note(model))
        return
    after = rescaled(before, scale, shift)
    ece = {"ece_before": expected_calibration_error(before, right),
           "ece_after": expected_calibration_error(after, right)}
    report.record("score_calibration", {**ece, "detections": len(before), "lowest_score": LOWEST,
                                        "score_scale": scale, "score_shift": shift})
    if calibration.get("not_fitted"):
        how = f"not rescaled: {calibration['not_fitted']}"
    elif "score_scale" in calibration:
        how = (f"rescaled by sigmoid({scale:.3f} x logit + {shift:+.3f}), fitted on the val split after training "
               "(predict and every export apply it; the ranking is the same)")
    else:
        how = "not rescaled (the run has no calibration: it was trained without a val split, or by an older Trident)"
    report.text("Predict's score threshold", threshold_note(model) + f" Detection scores are {how}.")
    report.table("Calibration: is a score the chance that the detection is right?",
                 ["measure", "network's own", "calibrated"],
                 [["expected calibration error", ece["ece_before"], ece["ece_after"]]],
                 note=f"Over the {len(before)} detections whose own score is {LOWEST} or more; right: a class-correct "
                      "match at IoU 0.5. 0 means a score of 0.9 is right 90% of the time.")
    report.figure("Reliability of detection scores", reliability_figure(
        {"network's own": calibration_bins(before, right), "calibrated": calibration_bins(after, right)},
        "share right against score"), "score_reliability")
