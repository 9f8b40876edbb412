"""Evaluate a trained detector with COCO metrics (pycocotools) and write its report.

    trident detection evaluate --run runs/detection-shapes-compact
    trident detection evaluate --run RUN --data annotations.json --images imgs/

Writes report.json/.md/.html, detections.json (COCO results) and ground_truth.json
into RUN/evaluation/<data>-<split>/. Every image counts, including those with no
objects and those with no predictions.
"""

import functools
import os

import numpy as np

from shared.data.boxes import box_iou
from shared.actions.evaluate import answers, finish_report, open_evaluation
from shared.explain.explainer import box_score, one_per_image, pointing
from shared.io import write_json
from shared.reports import Report
from shared.reports.draw import draw_boxes
from shared.explain.sections import (add_backbone_section, add_pointing_section, add_why_section,
                                     explain_with_cases)
from shared.reports.model_stats import model_stats
from shared.reports.plots import confusion_matrix_figure, curves_figure, image_grid
from tasks.detection.inference import make_detect
from shared.detector.metrics import (STAT_NAMES, coco_evaluate, coco_ground_truth, coco_results,
                                     confusion_with_background, f1_curve, match_detections, with_source_ids)

EVAL_SCORE_THRESHOLD = 0.001  # COCO practice: keep low-score detections, the PR curve decides
DISPLAY_THRESHOLD = 0.25


def predict_split(model, dataset, score_threshold=EVAL_SCORE_THRESHOLD):
    """Per image `(boxes [n, 4] in original pixels, scores [n], classes [n])`, by the export's own function."""
    results = []
    for out in answers(make_detect(model, score_threshold=score_threshold, multi_label=True), dataset):
        n = int(out["num_detections"])
        results.append((out["boxes"][:n], out["scores"][:n], out["classes"][:n]))
    return results


def evaluate_run(task, run, data=None, images=None, split=None, output=None, loaded=None, explain=True):
    """Score the run's best checkpoint; write report and COCO files (`explain`: with the sections that show
    why it decided; or a dict of `shared.explain.explainer.Explainer` options). Returns (paths, metrics)."""
    ev = open_evaluation(run, task, data, images, split, loaded, explain)
    model, dataset = ev.model, ev.dataset
    names = model.class_names
    detections = predict_split(model, dataset)
    ground_truth = coco_ground_truth(dataset.boxes, dataset.labels, dataset.sizes, names)
    results = coco_results(detections)
    coco = coco_evaluate(ground_truth, results)
    matches = [m for (boxes, scores, classes), gt_boxes, gt_labels in zip(detections, dataset.boxes, dataset.labels)
               for m in match_detections(gt_boxes, gt_labels, boxes, scores, classes)]
    objects = int(sum(len(lab) for lab in dataset.labels))
    f1 = f1_curve(matches, objects)
    best = int(np.argmax(f1["f1"]))
    confusion = confusion_with_background(matches, len(names), DISPLAY_THRESHOLD)
    stats = model_stats(model, (model.image_size, model.image_size, 3), ev.checkpoint, batch_size=8)

    report = Report(f"Object detection: {os.path.basename(run.path)}",
                    ev.subtitle(f", {objects} objects") + "; COCO metrics from pycocotools")
    report.headline({"AP@[.50:.95]": coco["AP"], "AP50": coco["AP50"], "AP75": coco["AP75"], "AR@100": coco["AR100"],
                     "best F1": f1["f1"][best], "images": len(dataset), "objects": objects,
                     "ms / image": stats["ms_per_image_batch1"], "parameters": stats["parameters"]})
    report.record("coco", {name: coco[name] for name in STAT_NAMES})
    report.record("per_class", {n: {"AP": coco["per_class_ap"][n], "AP50": coco["per_class_ap50"][n]} for n in names})
    report.record("f1", {"best": f1["f1"][best], "threshold": f1["thresholds"][best],
                         "precision": f1["precision"][best], "recall": f1["recall"][best]})
    report.record("confusion_with_background", confusion.tolist())
    report.record("model", stats)
    report.record("data", ev.data_record(fixes=ev.info["fixes"]))
    report.table("COCO metrics (pycocotools)", ["metric", "value"], [[n, coco[n]] for n in STAT_NAMES],
                 note="AP is averaged over IoU 0.50:0.95; every image of the split counts, with or without "
                      "predictions.")
    report.table("Per-class AP", ["class", "AP@[.50:.95]", "AP50", "objects"],
                 [[n, coco["per_class_ap"][n], coco["per_class_ap50"][n],
                   int(sum((np.asarray(lab) == k).sum() for lab in dataset.labels))] for k, n in enumerate(names)])
    if coco["pr_curves"]:
        report.figure("Precision-recall per class (IoU 0.50)",
                      curves_figure(coco["pr_curves"], "recall", "precision", "precision-recall at IoU 0.50"),
                      "pr_curves")
    report.figure("F1, precision and recall against the score threshold",
                  curves_figure({k: (f1["thresholds"], f1[k]) for k in ("f1", "precision", "recall")},
                                "score threshold", "value",
                                f"best F1 {f1['f1'][best]:.3f} at {f1['thresholds'][best]:.2f}",
                                marker=f1["thresholds"][best]), "f1_curve")
    report.figure(f"Detection confusion matrix (IoU 0.50, score >= {DISPLAY_THRESHOLD})",
                  confusion_matrix_figure(confusion, names + ["background"]), "confusion",
                  note="Rows: truth; columns: prediction. The background row holds false detections; "
                       "the background column, missed objects.")
    hardest = _add_examples(report, dataset, detections, names)
    ev.explain(report, lambda explainer: _add_explanations(report, explainer, dataset, detections, hardest))
    fixes = [("Annotation fixes made while reading", ["fix", "count"], list(ev.info["fixes"].items()))]
    paths = finish_report(report, ev, stats, output, fixes if ev.info["fixes"] else ())
    folder = os.path.dirname(paths["html"])
    # Both files in the source's own ids, so detections.json also scores against the original file.
    ground_truth, results = with_source_ids(ground_truth, results, dataset.image_ids, dataset.coco_ids,
                                            [dataset.name(i) for i in range(len(dataset))])
    write_json(os.path.join(folder, "detections.json"), results)
    write_json(os.path.join(folder, "ground_truth.json"), ground_truth)
    return paths, coco


def _add_examples(report, dataset, detections, names, count=12):
    """The images where detections and truth disagree most, with both drawn."""
    errors = []
    for i, ((boxes, scores, classes), gt_labels) in enumerate(zip(detections, dataset.labels)):
        keep = scores >= DISPLAY_THRESHOLD
        rows = match_detections(dataset.boxes[i], gt_labels, boxes[keep], scores[keep], classes[keep])
        errors.append(sum(1 for s, p, t in rows if s is None or p != t))
    order = np.argsort(-np.asarray(errors), kind="stable")[:count]
    images, captions = [], []
    for i in order:
        boxes, scores, classes = detections[i]
        keep = scores >= DISPLAY_THRESHOLD
        image = draw_boxes(dataset.image(i), dataset.boxes[i], dataset.labels[i], names, colour=(40, 200, 40))
        images.append(draw_boxes(image, boxes[keep], classes[keep], names, scores[keep], colour=(220, 30, 30)))
        captions.append(f"{dataset.name(i)}: {errors[i]} error(s)")
    report.figure("Hardest images: truth in green, predictions (score >= 0.25) in red",
                  image_grid(images, captions, columns=4), "examples")
    return order


POINTING_IMAGES = 32  # images the pointing game explains, one true box of each


def _add_explanations(report, explainer, dataset, detections, hardest):
    """"Why it decided" for each missed or false box of the hardest images, what the backbone sees, and the
    pointing game: the share of each true box's heat map inside the box. Returns the pointing game record."""
    names = explainer.model.class_names
    pairs = [(i, box, k) for i, (box, k) in one_per_image(
        [[(int(label), (box, int(label))) for box, label in zip(dataset.boxes[i], dataset.labels[i])]
         for i in range(min(POINTING_IMAGES, len(dataset)))])]
    cases, shown = _why_cases(dataset, detections, hardest, names)
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


def _why_cases(dataset, detections, hardest, names, limit=12):
    """The "why it decided" cases: each missed or false box of the `hardest` images (at most `limit`),
    and the index of each case's image. The heat map is of the clean image; the box is drawn on what
    is shown."""
    cases, shown = [], []
    for i in hardest[:4]:
        boxes, scores, classes = detections[i]
        keep = scores >= DISPLAY_THRESHOLD
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
