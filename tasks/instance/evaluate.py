"""Evaluate a trained instance segmenter with COCO mask and box AP (pycocotools) and write its report.

    trident instance evaluate --run runs/instance-shapes-compact
    trident instance evaluate --run RUN --data annotations.json --images imgs/

Writes report.json/.md/.html, segmentations.json (COCO results, masks as RLE) and
ground_truth.json into RUN/evaluation/<data>-<split>/. Masks are scored at each image's own
size; every image counts, with or without objects or predictions; crowd regions are ignored
as COCO scoring does.
"""

import os

import numpy as np

from shared.actions.evaluate import answers, finish_report, open_evaluation
from shared.detector.metrics import (STAT_NAMES, coco_evaluate, coco_ground_truth, coco_results, f1_curve,
                                     match_detections, with_source_ids)
from shared.detector.ap_table import add_per_class_ap, ap_intervals
from shared.detector.sections import add_box_explanations
from shared.detector.threshold import add_score_calibration
from shared.io import write_json
from shared.reports import Report
from shared.reports.model_stats import model_stats
from shared.reports.plots import curves_figure, image_grid
from tasks.instance.draw import draw_instances, draw_outlines
from tasks.instance.inference import make_segment
from tasks.instance.masks import coco_mask, encode, json_rle

EVAL_SCORE_THRESHOLD = 0.001  # COCO practice: keep low-score detections, the PR curve decides
# Detections per image evaluated: COCO's AP reads the best 100 of them; the counts per image need as many as
# crowded images hold (nuclei: up to 375).
EVAL_DETECTIONS = 300


def predict_split(model, dataset, score_threshold=EVAL_SCORE_THRESHOLD):
    """Per image `((boxes, scores, classes), [RLE per detection])` in the image's own pixels, by the
    export's own function."""
    detections, masks = [], []
    segment = make_segment(model, score_threshold=score_threshold, max_detections=EVAL_DETECTIONS, multi_label=True)
    for out in answers(segment, dataset):
        n = int(out["num_detections"])
        detections.append((out["boxes"][:n], out["scores"][:n], out["classes"][:n]))
        masks.append([encode(mask) for mask in out["masks"][:n]])
    return detections, masks


def truth_masks(dataset):
    """Per image, one RLE per object (JSON-ready)."""
    return [[encode(mask) for mask in part.stack()] if len(part_boxes) else []
            for part, part_boxes in zip(dataset.masks, dataset.boxes)]


def evaluate_run(task, run, data=None, images=None, split=None, output=None, loaded=None, explain=True):
    """Score the run's best checkpoint; write report and COCO files. Returns (paths, metrics)."""
    ev = open_evaluation(run, task, data, images, split, loaded, explain)
    model, dataset = ev.model, ev.dataset
    names = model.class_names
    detections, masks = predict_split(model, dataset)
    crowds = [[(k, json_rle(rle)) for k, rle in crowd] for crowd in dataset.crowds]
    ground_truth = coco_ground_truth(dataset.boxes, dataset.labels, dataset.sizes, names, truth_masks(dataset),
                                     crowds)
    results = coco_results(detections, masks)
    segm, bbox = coco_evaluate(ground_truth, results, "segm"), coco_evaluate(ground_truth, results, "bbox")
    metrics = {**{f"mask_{k}": segm[k] for k in STAT_NAMES}, **{f"box_{k}": bbox[k] for k in STAT_NAMES}}
    metrics.update({"AP": segm["AP"], "AP50": segm["AP50"], "AP75": segm["AP75"],
                    "intervals": {**{f"mask {k}": v for k, v in segm["intervals"].items()},
                                  **{f"box {k}": v for k, v in bbox["intervals"].items()}}})
    matches = [m for (boxes, scores, classes), gt_boxes, gt_labels in zip(detections, dataset.boxes, dataset.labels)
               for m in match_detections(gt_boxes, gt_labels, boxes, scores, classes)]
    objects = int(sum(len(lab) for lab in dataset.labels))
    f1 = f1_curve(matches, objects)
    best = int(np.argmax(f1["f1"]))
    threshold = max(0.05, float(f1["thresholds"][best]))
    counts = _counts(dataset, detections, threshold)
    stats = model_stats(model, (model.image_size, model.image_size, 3), ev.checkpoint, batch_size=8)

    report = Report(f"Instance segmentation: {os.path.basename(run.path)}",
                    ev.subtitle(f", {objects} objects") + "; COCO metrics from pycocotools, masks at each image's "
                    "own size")
    report.headline({"mask AP@[.50:.95]": segm["AP"], "mask AP50": segm["AP50"], "mask AP75": segm["AP75"],
                     "box AP": bbox["AP"], "box AP50": bbox["AP50"], "count error / image": counts["mae"],
                     "images": len(dataset), "objects": objects, "ms / image": stats["ms_per_image_batch1"],
                     "parameters": stats["parameters"]},
                    {**ap_intervals(segm, "mask "), "box AP": bbox["intervals"].get("AP"),
                     "box AP50": bbox["intervals"].get("AP50")})
    report.record("coco_segm", {name: segm[name] for name in STAT_NAMES})
    report.record("coco_bbox", {name: bbox[name] for name in STAT_NAMES})
    report.record("per_class", {n: {"mask_AP": segm["per_class_ap"][n], "mask_AP50": segm["per_class_ap50"][n],
                                    "box_AP": bbox["per_class_ap"][n]} for n in names})
    report.record("counts", counts)
    report.record("f1", {"best": f1["f1"][best], "threshold": f1["thresholds"][best],
                         "precision": f1["precision"][best], "recall": f1["recall"][best]})
    report.record("model", stats)
    report.record("data", ev.data_record(fixes=ev.info["fixes"]))
    report.table("COCO metrics (pycocotools): masks and boxes", ["metric", "mask", "box"],
                 [[n, segm[n], bbox[n]] for n in STAT_NAMES],
                 note="AP is averaged over IoU 0.50:0.95; small objects are under 32x32 pixels of area, large over "
                      "96x96; every image of the split counts, with or without predictions.")
    add_per_class_ap(report, segm, names, dataset.labels, "Per-class AP", box=bbox)
    if segm["pr_curves"]:
        report.figure("Mask precision-recall per class (IoU 0.50)",
                      curves_figure(segm["pr_curves"], "recall", "precision", "mask precision-recall at IoU 0.50"),
                      "pr_curves")
    report.figure(f"Objects per image: found (score >= {threshold:.2f}, the best-F1 threshold) against the truth",
                  _counts_figure(counts), "counts",
                  note=f"Mean absolute error {counts['mae']:.2f} objects per image; mean signed error "
                       f"{counts['bias']:+.2f} (positive: more found than there are).")
    add_score_calibration(report, matches, model)
    hardest = _add_examples(report, dataset, detections, masks, names, threshold)
    ev.explain(report, lambda explainer: add_box_explanations(report, explainer, dataset, detections, hardest,
                                                              threshold))
    fixes = [("Annotation fixes made while reading", ["fix", "count"], list(ev.info["fixes"].items()))]
    paths = finish_report(report, ev, stats, output, fixes if ev.info["fixes"] else ())
    folder = os.path.dirname(paths["html"])
    ground_truth, results = with_source_ids(ground_truth, results, dataset.image_ids, dataset.coco_ids,
                                            [dataset.name(i) for i in range(len(dataset))])
    write_json(os.path.join(folder, "segmentations.json"), results)
    write_json(os.path.join(folder, "ground_truth.json"), ground_truth)
    return paths, metrics


def _counts(dataset, detections, threshold):
    """Objects per image found at `threshold` against the truth."""
    truth = [int(len(lab)) for lab in dataset.labels]
    found = [int((scores >= threshold).sum()) for _, scores, _ in detections]
    errors = np.asarray(found) - np.asarray(truth)
    return {"threshold": threshold, "truth": truth, "found": found,
            "mae": float(np.abs(errors).mean()) if len(errors) else 0.0,
            "bias": float(errors.mean()) if len(errors) else 0.0}


def _counts_figure(counts):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    top = max(counts["truth"] + counts["found"] + [1])
    ax.plot([0, top], [0, top], color="#999999", lw=1)
    ax.scatter(counts["truth"], counts["found"], s=14, alpha=0.7, color="#4c72b0")
    ax.set_xlabel("objects in the truth")
    ax.set_ylabel("objects found")
    return fig


def _add_examples(report, dataset, detections, masks, names, threshold, count=8):
    """The images whose found masks disagree most with the truth (missed plus false objects at IoU 0.5)."""
    errors = []
    for i, (boxes, scores, classes) in enumerate(detections):
        keep = np.flatnonzero(scores >= threshold)
        truth = dataset.masks[i].stack() if len(dataset.boxes[i]) else None
        if truth is None or not len(keep):
            errors.append(len(keep) + len(dataset.boxes[i]))
            continue
        ious = coco_mask.iou([masks[i][j] for j in keep], [encode(m) for m in truth], [0] * len(truth))
        matched = (np.asarray(ious).reshape(len(keep), len(truth)) >= 0.5)
        errors.append(int((~matched.any(1)).sum() + (~matched.any(0)).sum()))
    order = np.argsort(-np.asarray(errors), kind="stable")[:count]
    images, captions = [], []
    for i in order:
        boxes, scores, classes = detections[i]
        keep = np.flatnonzero(scores >= threshold)
        found = np.stack([coco_mask.decode(masks[i][j]) for j in keep]) if len(keep) else []
        image = draw_instances(dataset.image(i), found, boxes[keep], classes[keep], names, scores[keep])
        if len(dataset.boxes[i]):
            image = draw_outlines(image, dataset.masks[i].stack())
        images.append(image)
        captions.append(f"{dataset.name(i)}: {errors[i]} error(s)")
    report.figure(f"Hardest images: found masks tinted (score >= {threshold:.2f}), true outlines in green",
                  image_grid(images, captions, columns=4, cell=220), "examples")
    return order
