"""Which images' boxes look wrong: cleanlab's object-detection label quality (ObjectLab) over a detector's answers.

For every image, the given boxes are compared with the detector's: a confident detection no given box
covers is an object left without a box ("overlooked"); a given box whose place the detector fills with
another class has the wrong class ("swap"); a given box the detector's boxes of its class only partly
cover is badly placed ("badloc"). cleanlab scores each box of each kind (0: surely an issue, 1: fine);
an image's label quality is its lowest box score, and a box scoring `BOX_ISSUE` or less flags it.
"""

import numpy as np

ISSUES = {"overlooked": "an object with no box", "swap": "a box of the wrong class",
          "badloc": "a badly placed box"}


def cleanlab_inputs(boxes, labels, detections, num_classes):
    """cleanlab's `(labels, predictions)` from per-image given `boxes [L, 4]` xyxy and `labels [L]`, and per-image
    `detections` `(boxes [M, 4], scores [M], classes [M])`; also each image's detections in cleanlab's order
    (by class), as `(boxes, scores, classes)`."""
    given = [{"bboxes": np.asarray(b, np.float64).reshape(-1, 4), "labels": np.asarray(lab, np.int64).reshape(-1)}
             for b, lab in zip(boxes, labels)]
    predictions, ordered = [], []
    for found, scores, classes in detections:
        found, scores = np.asarray(found, np.float64).reshape(-1, 4), np.asarray(scores, np.float64).reshape(-1)
        classes = np.asarray(classes, np.int64).reshape(-1)
        per_class = [np.concatenate([found[classes == k], scores[classes == k, None]], axis=1)
                     for k in range(num_classes)]
        if _read_as_all_predictions(per_class):  # cleanlab would take these three arrays for another format
            weakest = int(np.argmin(per_class[2][:, 4]))
            per_class[2] = np.delete(per_class[2], weakest, axis=0)
        prediction = np.empty(num_classes, dtype=object)
        for k, rows in enumerate(per_class):
            prediction[k] = rows
        predictions.append(prediction)
        stacked = np.concatenate(per_class)
        ordered.append((stacked[:, :4], stacked[:, 4], np.concatenate(
            [np.full(len(rows), k, np.int64) for k, rows in enumerate(per_class)])))
    return given, predictions, ordered


def _read_as_all_predictions(per_class):
    """cleanlab 2.9 reads a prediction of three arrays as `(boxes, labels, probabilities)` when their shapes fit
    that format (`rank._get_prediction_type`): three classes whose detections number 5, n and n."""
    return (len(per_class) == 3 and per_class[0].shape[0] == per_class[2].shape[1]
            and per_class[1].shape[0] == per_class[2].shape[0] and len(per_class[2]))


# A box whose cleanlab score (its similarity to the evidence, 0 to 1) is this low or lower is an issue: about
# an IoU of 0.45 with the box that should be there.
BOX_ISSUE = 0.5


def box_label_issues(boxes, labels, detections, num_classes, confident):
    """`(ranked, quality, worst, ordered)`: indices of the images with a box at issue, most doubtful first; every
    image's label quality (its lowest box score, 0 to 1); and per image its most doubtful box as `(issue, box index,
    score)` (`issue` a key of `ISSUES`; the index is into the given boxes, or for "overlooked" into the
    image's detections in cleanlab's order, `ordered`, the third item of `cleanlab_inputs`), or None when no
    box has a score.

    cleanlab's own `find_label_issues` counts a detection as confident above 0.95, a probability Trident's
    detectors do not reach (the raccoon detector's best answers score about 0.8, bccd's at most 0.95): its
    per-box scores are used here with `confident` (the run's own threshold, the score predict reports from)
    for what the detector is sure of, half of it for what it merely sees, and `BOX_ISSUE` to flag a box."""
    from cleanlab.object_detection.rank import (compute_badloc_box_scores, compute_overlooked_box_scores,
                                                compute_swap_box_scores)

    given, predictions, ordered = cleanlab_inputs(boxes, labels, detections, num_classes)
    if not given:
        return np.zeros(0, np.int64), np.zeros(0), [], []
    scores = {"overlooked": compute_overlooked_box_scores(labels=given, predictions=predictions,
                                                          high_probability_threshold=confident),
              "swap": compute_swap_box_scores(labels=given, predictions=predictions,
                                              high_probability_threshold=confident),
              "badloc": compute_badloc_box_scores(labels=given, predictions=predictions,
                                                  low_probability_threshold=confident / 2)}
    worst, quality = [], np.ones(len(given))
    for i in range(len(given)):
        candidates = [(float(score), issue, int(j)) for issue, per_image in scores.items()
                      for j, score in enumerate(np.asarray(per_image[i], np.float64).reshape(-1))
                      if np.isfinite(score)]
        lowest = min(candidates) if candidates else None
        worst.append(None if lowest is None else (lowest[1], lowest[2], lowest[0]))
        quality[i] = lowest[0] if lowest else 1.0
    flagged = np.flatnonzero(quality <= BOX_ISSUE)
    return flagged[np.argsort(quality[flagged], kind="stable")], quality, worst, ordered
