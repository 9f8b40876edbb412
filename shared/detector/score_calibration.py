"""Detection scores that mean what they say: Platt scaling of the class logit (a scale and a shift, fitted
on the val split's detections against being right), kept in the run and applied inside the decoder.

A detection is right when it matches an object of its class at IoU 0.5 (`match_detections`). The map is
increasing, so it changes no ranking: NMS, AP and every precision-recall curve stay as they were; what
changes is what a score of 0.6 means, and so the threshold a user picks.
"""

import numpy as np
from scipy.optimize import minimize

from shared.stats.calibration import MIN_ERRORS, expected_calibration_error

EDGE = 1e-6  # scores are kept this far from 0 and 1 before their logit is taken
LOWEST = 0.05  # detections scoring less are clutter: neither fitted on nor counted in the ECE


def logit(scores):
    scores = np.clip(np.asarray(scores, np.float64), EDGE, 1.0 - EDGE)
    return np.log(scores) - np.log1p(-scores)


def rescaled(scores, scale=1.0, shift=0.0):
    """The calibrated scores: sigmoid(scale * logit(score) + shift)."""
    return 1.0 / (1.0 + np.exp(-(scale * logit(scores) + shift)))


def original(scores, scale=1.0, shift=0.0):
    """The network's own scores behind calibrated `scores` (the inverse of `rescaled`)."""
    return 1.0 / (1.0 + np.exp(-(logit(scores) - shift) / scale))


def fit_platt(scores, correct):
    """`(scale, shift)` minimising the binary negative log-likelihood of `correct` given the rescaled scores;
    the scale is kept between 0.05 and 20 (positive: the ranking stays)."""
    x, y = logit(scores), np.asarray(correct, np.float64)

    def loss(params):
        z = np.exp(params[0]) * x + params[1]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    found = minimize(loss, np.zeros(2), method="L-BFGS-B", bounds=[(np.log(0.05), np.log(20.0)), (-20.0, 20.0)])
    return float(np.exp(found.x[0])), float(found.x[1])


def scored_matches(matches):
    """`(scores, right)` of the detections among `match_detections` rows scoring `LOWEST` or more."""
    rows = [(score, predicted == truth) for score, predicted, truth in matches if score is not None
            and score >= LOWEST]
    return np.array([s for s, _ in rows], np.float64), np.array([r for _, r in rows], bool)


def score_calibration(matches):
    """`{"score_scale", "score_shift", "ece_before", "ece_after", "detections"}` fitted on the val split's
    `match_detections` rows (the network's own scores); scale 1 and shift 0 with the reason under "not_fitted"
    when fewer than `MIN_ERRORS` detections are right or wrong (the fit would follow a handful)."""
    scores, right = scored_matches(matches)
    record = {"score_scale": 1.0, "score_shift": 0.0, "detections": int(len(scores))}
    fewest = min(int(right.sum()), int((~right).sum()))
    if fewest < MIN_ERRORS:
        record["not_fitted"] = (f"{int(right.sum())} right and {int((~right).sum())} wrong detection(s) scoring "
                                f"{LOWEST} or more on the val split; each needs {MIN_ERRORS} for a fit")
    else:
        record["score_scale"], record["score_shift"] = fit_platt(scores, right)
    after = rescaled(scores, record["score_scale"], record["score_shift"])
    record["ece_before"] = expected_calibration_error(scores, right) if len(scores) else 0.0
    record["ece_after"] = expected_calibration_error(after, right) if len(scores) else 0.0
    return record


def decoder_settings(calibration):
    """The `DetectionDecoder` arguments that apply a run's calibration (none for a run without one)."""
    return {key: float(calibration[key]) for key in ("score_scale", "score_shift") if key in calibration}
