"""Evaluate a trained detector with COCO metrics (pycocotools) and write its report.

    trident detection evaluate --run runs/detection-shapes-compact
    trident detection evaluate --run RUN --data annotations.json --images imgs/

Writes report.json/.md/.html, detections.json (COCO results) and ground_truth.json
into RUN/evaluation/<data>-<split>/. Every image counts, including those with no
objects and those with no predictions.
"""

import os

import numpy as np

from shared.actions.evaluate import answers, finish_report, open_evaluation
from shared.detector.metrics import (STAT_NAMES, coco_evaluate, coco_ground_truth, coco_results,
                                     confusion_with_background, f1_curve, match_detections, with_source_ids)
from shared.detector.ap_table import add_per_class_ap, ap_intervals
from shared.detector.sections import add_box_explanations
from shared.detector.threshold import add_score_calibration
from shared.io import write_json
from shared.reports import Report
from shared.reports.draw import draw_boxes
from shared.reports.model_stats import model_stats
from shared.reports.plots import confusion_matrix_figure, curves_figure, image_grid
from tasks.detection.inference import make_detect

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
                     "ms / image": stats["ms_per_image_batch1"], "parameters": stats["parameters"]},
                    ap_intervals(coco))
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
    add_per_class_ap(report, coco, names, dataset.labels, "Per-class AP")
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
    add_score_calibration(report, matches, model)
    hardest = _add_examples(report, dataset, detections, names)
    ev.explain(report, lambda explainer: add_box_explanations(report, explainer, dataset, detections, hardest,
                                                              DISPLAY_THRESHOLD))
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
