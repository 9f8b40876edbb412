"""The explanation sections of a model with the anchor-free head: "why it decided" for each missed or
false box of the hardest images, what the backbone sees, and the pointing game over true boxes.

`dataset` has `boxes`, `labels`, `image(i)` and `name(i)`; `detections` holds per image
`(boxes [n, 4], scores [n], classes [n])` in the image's pixels.
"""

import functools

import numpy as np

from shared.data.boxes import box_iou
from shared.explain.explainer import box_score, one_per_image, pointing
from shared.explain.sections import (add_backbone_section, add_pointing_section, add_why_section,
                                     explain_with_cases)
from shared.reports.draw import draw_boxes

POINTING_IMAGES = 32  # images the pointing game explains, one true box of each


def add_box_explanations(report, explainer, dataset, detections, hardest, threshold):
    """"Why it decided" for each missed or false box of the hardest images, what the backbone sees, and the
    pointing game: the share of each true box's heat map inside the box. Returns the pointing game record."""
    names = explainer.model.class_names
    pairs = [(i, box, k) for i, (box, k) in one_per_image(
        [[(int(label), (box, int(label))) for box, label in zip(dataset.boxes[i], dataset.labels[i])]
         for i in range(min(POINTING_IMAGES, len(dataset)))])]
    cases, shown = _why_cases(dataset, detections, hardest, names, threshold)
    computed, heats = explain_with_cases(explainer, cases, [dataset.image(i) for i, _, _ in pairs],
                                         [box_score(k, b) for _, b, k in pairs])
    masses = {}
    for (i, box, k), heat in zip(pairs, heats):
        inside = np.zeros(heat.shape, bool)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        inside[max(0, y1):max(y1 + 1, y2), max(0, x1):max(x1 + 1, x2)] = True
        masses.setdefault(names[k], []).append(pointing(heat, inside))
    levels = add_why_section(report, explainer, cases, "Why it decided: each missed (green) or false (red) box "
                             "of the hardest images", "Each box is followed by the heat map of the detector's score "
                             "for its class there: what it looked at when it missed the object, or when it saw one "
                             "that is not there.", computed)
    if len(dataset):
        first = shown[0] if shown else 0
        add_backbone_section(report, explainer, dataset.image(first), dataset.name(first), levels)
    return add_pointing_section(report, masses, "Pointing game: share of each true box's heat map inside the box",
                                "boxes", f"{explainer.describe()}, of the detector's score for the box's "
                                f"class, over one true box of each of the first {POINTING_IMAGES} images of the split "
                                "(or "
                                "all), of the class the fewest heat maps show so far.")


def _why_cases(dataset, detections, hardest, names, threshold, limit=12):
    """The "why it decided" cases: each missed or false box of the `hardest` images (at most `limit`),
    and the index of each case's image. The heat map is of the clean image; the box is drawn on what
    is shown."""
    cases, shown = [], []
    for i in hardest[:4]:
        boxes, scores, classes = detections[i]
        keep = scores >= threshold
        for kind, box, k in _disagreements(dataset.boxes[i], dataset.labels[i], boxes[keep], classes[keep]):
            colour = (40, 200, 40) if kind == "missed" else (220, 30, 30)
            mark = functools.partial(_mark, box=box, k=k, names=names, colour=colour)
            cases.append((dataset.image(i), box_score(k, box), f"{dataset.name(i)}\n{kind} {names[k]}", False, mark))
            shown.append(i)
    return cases[:limit], shown[:limit]


def _mark(image, factor, box, k, names, colour):
    """`image` (shown `factor` times larger) with `box` of class `k` drawn in `colour`."""
    return draw_boxes(image, [np.asarray(box) * factor], [k], names, colour=colour)


def _disagreements(gt_boxes, gt_labels, boxes, classes, iou=0.5):
    """`(kind, box, class)` for each true box no detection of its class found ("missed") and each detection
    that matches no true box of its class ("false")."""
    found = [(np.asarray(b), int(c)) for b, c in zip(boxes, classes)]
    truth = [(np.asarray(b), int(c)) for b, c in zip(gt_boxes, gt_labels)]
    missed = [("missed", b, c) for b, c in truth if not any(c == d and box_iou(b, e) >= iou for e, d in found)]
    false = [("false", b, c) for b, c in found if not any(c == t and box_iou(b, g) >= iou for g, t in truth)]
    return missed + false
