"""The score threshold a detector's answers are cut at: the one of best F1 on the val split, fitted after
training and kept as the run's calibration; `predict`'s default. And how far the scores are from being the
chance that a detection is right."""

import numpy as np

from shared.detector.metrics import f1_curve, match_detections
from shared.reports.plots import reliability_figure
from shared.stats.calibration import calibration_bins, expected_calibration_error

DEFAULT = 0.25  # for runs without a val split (or trained by an older Trident)
LOWEST = 0.05  # a threshold below this keeps too much clutter to draw, whatever F1 says


def best_f1_threshold(detections, boxes, labels):
    """`{"score_threshold", "f1", "precision", "recall"}` at the threshold of best F1 (IoU 0.5, class-correct
    matches) of per-image `detections` `(boxes, scores, classes)` against the true `boxes` and `labels`."""
    matches = [m for (found, scores, classes), truth, truth_labels in zip(detections, boxes, labels)
               for m in match_detections(truth, truth_labels, found, scores, classes)]
    curve = f1_curve(matches, int(sum(len(lab) for lab in labels)))
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
    right (a class-correct match at IoU 0.5): ECE over the detections scoring `LOWEST` or more, and the
    reliability diagram. `matches`: `shared.detector.metrics.match_detections` rows of the split."""
    scored = [(score, predicted == truth) for score, predicted, truth in matches if score is not None
              and score >= LOWEST]
    report.record("calibration", dict(model.calibration))
    if not scored:
        report.text("Predict's score threshold", threshold_note(model))
        return
    confidence, correct = np.array([s for s, _ in scored]), np.array([c for _, c in scored])
    ece = expected_calibration_error(confidence, correct)
    report.record("score_calibration", {"ece": ece, "detections": len(scored), "lowest_score": LOWEST})
    report.text("Predict's score threshold", threshold_note(model) + f" Detection scores (the {len(scored)} of "
                f"{LOWEST} or more) against being right: expected calibration error {ece:.3f}; the scores rank "
                "detections, and are not rescaled.")
    report.figure("Reliability of detection scores", reliability_figure(
        {"detections": calibration_bins(confidence, correct)}, "share right against score"), "score_reliability")
