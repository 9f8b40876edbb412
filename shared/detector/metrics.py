"""Detection metrics: COCO AP through pycocotools (the reference), plus PR, F1 and confusion.

Every image of the split is in the ground truth, including images with no objects and
images with no predictions, so missed images count against recall (keras-cv's
BoxCOCOMetrics leaves them out).
"""

import contextlib
import io

import numpy as np

from shared.data.boxes import box_iou
from shared.detector.resample import CocoResampler
from shared.stats.bootstrap import RESAMPLES, intervals

STAT_NAMES = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
              "AR_small", "AR_medium", "AR_large")


def coco_ground_truth(boxes, labels, sizes, class_names, masks=None, crowds=None):
    """COCO GT dict: image ids 1..N, category ids 1..K, boxes as [x, y, w, h].

    `masks`: per image, one COCO RLE per object (areas then come from the masks); `crowds`: per
    image, `[(class id, RLE)]` regions marked `iscrowd` (detections on them count neither way).
    """
    from pycocotools import mask as coco_mask

    images, annotations = [], []
    for i, (image_boxes, image_labels, (height, width)) in enumerate(zip(boxes, labels, sizes), start=1):
        images.append({"id": i, "width": int(width), "height": int(height)})
        image_masks = masks[i - 1] if masks is not None else None
        for j, (box, label) in enumerate(zip(np.asarray(image_boxes).reshape(-1, 4),
                                             np.asarray(image_labels).reshape(-1))):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            annotation = {"id": len(annotations) + 1, "image_id": i, "category_id": int(label) + 1,
                          "bbox": [float(box[0]), float(box[1]), w, h], "area": w * h, "iscrowd": 0}
            if image_masks is not None:
                annotation["segmentation"] = image_masks[j]
                annotation["area"] = float(coco_mask.area(image_masks[j]))
            annotations.append(annotation)
        for label, rle in (crowds[i - 1] if crowds is not None else ()):
            x, y, w, h = (float(v) for v in coco_mask.toBbox(rle))
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(label) + 1,
                                "bbox": [x, y, w, h], "area": float(coco_mask.area(rle)), "iscrowd": 1,
                                "segmentation": rle})
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(class_names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco_results(detections, masks=None):
    """COCO results list from per-image `(boxes [n, 4] xyxy, scores [n], classes [n])`; `masks`: per
    image, one COCO RLE per detection, kept as `segmentation`."""
    results = []
    for i, (boxes, scores, classes) in enumerate(detections, start=1):
        for j, (box, score, cls) in enumerate(zip(boxes, scores, classes)):
            result = {"image_id": i, "category_id": int(cls) + 1, "score": float(score),
                      "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]}
            if masks is not None:
                result["segmentation"] = masks[i - 1][j]
            results.append(result)
    return results


def with_source_ids(ground_truth, results, image_ids=None, category_ids=None, file_names=None):
    """Copies of `ground_truth` and `results` in a source file's own image and category ids.

    `coco_ground_truth` and `coco_results` number images 1..N and categories 1..K; a COCO
    source has its own ids, and results written back must use them to be scored against
    that file. Ids left as None stay as they are.

    Args:
        image_ids: list of N ids, or None.
        category_ids: list of K ids, or None.
        file_names: list of N names recorded in the ground truth's `images`, or None.
    """
    image_of = (lambda i: image_ids[i - 1]) if image_ids else (lambda i: i)  # noqa: E731
    category_of = (lambda k: category_ids[k - 1]) if category_ids else (lambda k: k)  # noqa: E731
    images = [dict(image, id=image_of(image["id"])) for image in ground_truth["images"]]
    if file_names:
        for image, name in zip(images, file_names):
            image["file_name"] = name
    annotations = [dict(a, image_id=image_of(a["image_id"]), category_id=category_of(a["category_id"]))
                   for a in ground_truth["annotations"]]
    categories = [dict(c, id=category_of(c["id"])) for c in ground_truth["categories"]]
    renamed = [dict(r, image_id=image_of(r["image_id"]), category_id=category_of(r["category_id"])) for r in results]
    return {"images": images, "annotations": annotations, "categories": categories}, renamed


def coco_evaluator(ground_truth, results, iou_type="bbox"):
    """pycocotools' `COCOeval` of boxes (`iou_type` "bbox") or masks ("segm"), evaluated, accumulated and
    summarised; None when there is nothing to score (no detection or no object)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results or not ground_truth["annotations"]:
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {k: list(v) for k, v in ground_truth.items()}
        gt.createIndex()
        dt = gt.loadRes(list(results))
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def coco_evaluate(ground_truth, results, iou_type="bbox", resamples=RESAMPLES):
    """Run pycocotools' COCOeval on boxes (`iou_type` "bbox") or masks ("segm").

    Returns:
        dict: the 12 COCO stats by name, `per_class_ap` {name: AP@[.5:.95]},
        `per_class_ap50`, `pr_curves` {name: (recall [101], precision [101]) at IoU 0.5}, and
        `intervals` {"AP", "AP50", "AP: class", "AP50: class": (low, high)} from `resamples`
        bootstrap resamples of the images (`shared.stats.bootstrap`; none when 0).
    """
    names = [c["name"] for c in ground_truth["categories"]]
    evaluator = coco_evaluator(ground_truth, results, iou_type)
    if evaluator is None:
        return {**{name: 0.0 for name in STAT_NAMES}, "per_class_ap": {n: 0.0 for n in names},
                "per_class_ap50": {n: 0.0 for n in names}, "pr_curves": {}, "intervals": {}}
    metrics = {name: float(max(value, 0.0)) for name, value in zip(STAT_NAMES, evaluator.stats)}
    precision = evaluator.eval["precision"]  # [T iou, R recall, K class, A area, M maxdets]
    recall_points = evaluator.params.recThrs
    metrics["per_class_ap"], metrics["per_class_ap50"], metrics["pr_curves"] = {}, {}, {}
    for k, name in enumerate(names):
        p_all = precision[:, :, k, 0, -1]
        p_50 = precision[0, :, k, 0, -1]
        metrics["per_class_ap"][name] = float(p_all[p_all > -1].mean()) if (p_all > -1).any() else 0.0
        metrics["per_class_ap50"][name] = float(p_50[p_50 > -1].mean()) if (p_50 > -1).any() else 0.0
        metrics["pr_curves"][name] = (recall_points.tolist(), np.where(p_50 > -1, p_50, 0.0).tolist())
    metrics["intervals"] = (intervals(CocoResampler(evaluator, names), len(ground_truth["images"]),
                                      resamples=resamples) if resamples else {})
    return metrics


def match_detections(gt_boxes, gt_labels, boxes, scores, classes, iou_threshold=0.5):
    """Greedy matching of one image's detections (best score first) to objects at an IoU threshold.

    Returns:
        list of `(score, detected class, matched object's class or -1)`, plus the
        classes of objects no detection matched (as `(None, -1, class)` entries).
    """
    gt_boxes = np.asarray(gt_boxes).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores))
    taken = np.zeros(len(gt_boxes), bool)
    rows = []
    for i in order:
        best, best_iou = -1, iou_threshold
        for j, gt in enumerate(gt_boxes):
            if taken[j]:
                continue
            iou = box_iou(boxes[i], gt)
            if iou >= best_iou:
                best, best_iou = j, iou
        if best >= 0:
            taken[best] = True
        rows.append((float(scores[i]), int(classes[i]), int(gt_labels[best]) if best >= 0 else -1))
    rows += [(None, -1, int(gt_labels[j])) for j in np.flatnonzero(~taken)]
    return rows


def confusion_with_background(matches, num_classes, score_threshold=0.25):
    """`(K+1) x (K+1)` counts, rows = truth, columns = prediction; index K is background.

    A detection below `score_threshold` counts as no detection.
    """
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    for score, predicted, truth in matches:
        if score is not None and score < score_threshold:
            predicted = -1
            if truth == -1:
                continue
        row = truth if truth >= 0 else num_classes
        column = predicted if predicted >= 0 else num_classes
        matrix[row, column] += 1
    return matrix


def f1_curve(matches, num_objects, thresholds=None):
    """Precision, recall and F1 of class-correct matches as the score threshold rises."""
    thresholds = np.linspace(0.0, 1.0, 101) if thresholds is None else thresholds
    scored = [(s, p == t) for s, p, t in matches if s is not None]
    scores = np.array([s for s, _ in scored]) if scored else np.zeros(0)
    correct = np.array([c for _, c in scored], bool) if scored else np.zeros(0, bool)
    precision, recall, f1 = [], [], []
    for threshold in thresholds:
        keep = scores >= threshold
        tp = int((correct & keep).sum())
        p = tp / max(int(keep.sum()), 1)
        r = tp / max(num_objects, 1)
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    return {"thresholds": thresholds.tolist(), "precision": precision, "recall": recall, "f1": f1}
