"""The label review of the box tasks (detection, instance segmentation): objects without a box, boxes of the
wrong class, badly placed boxes.

The run's detector answers every labelled image of its recorded splits (calibrated scores, one box per
class and place); cleanlab's ObjectLab compares those answers with the given boxes. The val and test
splits are out-of-sample; the train split is not (the detector has learned its boxes, wrong ones
included), so a mistake there is found only where the rest of the data outweighs it, and the report says
which split each suspect comes from.
"""

import os
import time

import numpy as np

from shared.actions.review import recorded_splits
from shared.data.boxes import box_iou
from shared.detector.threshold import answer_threshold
from shared.reports import FileLink, Report
from shared.reports.draw import draw_boxes
from shared.reports.plots import image_grid
from shared.review.box_issues import BOX_ISSUE, ISSUES, box_label_issues
from shared.review.label_issues import split_note
from shared.task_model import load_run_model

PARTS = ("train", "val", "test")
REVIEW_SCORE_THRESHOLD = 0.05  # detections below are clutter to cleanlab's scores as well as to a reader
GIVEN, FOUND, DOUBT = (40, 200, 60), (230, 25, 75), (255, 200, 0)


def box_review(task, run, options, detect):
    """`(report, suspects)`: every labelled image of the run's recorded splits (sets with `boxes` and `labels`)
    through the run's detector, `detect(model, part, score threshold)` -> per image `(boxes, scores, classes)`,
    and cleanlab; each suspect names its most doubtful box and what the detector says there."""
    started = time.perf_counter()
    splits = recorded_splits(task, run)
    parts = [(name, splits[name]) for name in PARTS if len(splits.get(name, ()))]
    model = load_run_model(run)
    detections = [found for _, part in parts for found in detect(model, part, REVIEW_SCORE_THRESHOLD)]
    where = [(name, part, i) for name, part in parts for i in range(len(part))]
    predicted = time.perf_counter() - started
    suspects, quality = review_detections(where, detections, model.class_names, answer_threshold(model))
    seconds = {"detection_seconds": round(predicted, 2), "total_seconds": round(time.perf_counter() - started, 2)}
    return _report(run, model, where, detections, suspects, quality, options, seconds), suspects


def review_detections(where, detections, names, confident):
    """`(suspects, quality)` of the images `where` (`(split, part, index)` each) given the detector's per-image
    `detections`: the images with a box at issue (`box_label_issues`, detections scoring `confident` or more
    counted as sure), most likely wrong first, each with its most doubtful box."""
    boxes = [part.boxes[i] for _, part, i in where]
    labels = [part.labels[i] for _, part, i in where]
    ranked, quality, worst, ordered = box_label_issues(boxes, labels, detections, len(names), confident)
    suspects = []
    for index in ranked:
        split, part, i = where[index]
        row = {"index": int(index), "path": part.location(i), "split": split, "label_quality": float(quality[index])}
        row.update(_describe(worst[index], boxes[index], labels[index], ordered[index], names))
        suspects.append(row)
    return suspects, quality


def _describe(worst, boxes, labels, found, names):
    """The suspect's columns: its issue, the given box (or none) and what the detector says, and how sure."""
    if worst is None:
        return {"issue": "unclear", "given": "-", "suggested": "-", "confidence": 0.0, "box": None}
    issue, j, score = worst
    found_boxes, found_scores, found_classes = found
    if issue == "overlooked":
        box = found_boxes[j]
        return {"issue": ISSUES[issue], "given": "no box", "box": box.tolist(), "confidence": 1.0 - score,
                "suggested": f"{names[found_classes[j]]} at {_xyxy(box)} (score {found_scores[j]:.2f})"}
    box = np.asarray(boxes, np.float64).reshape(-1, 4)[j]
    given = f"{names[int(np.asarray(labels).reshape(-1)[j])]} at {_xyxy(box)}"
    overlaps = [box_iou(box, other) for other in found_boxes]
    same = np.asarray(found_classes) == int(np.asarray(labels).reshape(-1)[j])
    pick = [k for k in np.argsort(overlaps)[::-1] if (same[k] if issue == "badloc" else not same[k])]
    if pick:
        k = pick[0]
        said = (f"{names[found_classes[k]]} at {_xyxy(found_boxes[k])} (IoU {overlaps[k]:.2f}, "
                f"score {found_scores[k]:.2f})")
    else:
        said = "nothing there"
    return {"issue": ISSUES[issue], "given": given, "suggested": said, "confidence": 1.0 - score, "box": box.tolist()}


def _xyxy(box):
    return "[" + " ".join(f"{v:.0f}" for v in box) + "]"


def _report(run, model, where, detections, suspects, quality, options, seconds):
    names = model.class_names
    threshold = answer_threshold(model)
    report = Report(f"Label review: {os.path.basename(run.path)}",
                    subtitle=f"{len(where)} labelled images of the run's train, val and test splits")
    by_issue = {text: sum(row["issue"] == text for row in suspects) for text in ISSUES.values()}
    report.headline({"images reviewed": len(where), "suspected images": len(suspects),
                     "share suspected": len(suspects) / max(1, len(where)),
                     **{f"most doubtful: {text}": count for text, count in by_issue.items()}})
    report.record("reviewed", len(where))
    report.record("suspects", suspects)
    report.record("quality", {where[i][1].name(where[i][2]): float(q) for i, q in enumerate(quality)})
    report.record("method", {"detections": f"the run's detector, calibrated scores of {REVIEW_SCORE_THRESHOLD} or "
                                           "more, every class of every place",
                             "suspects": f"cleanlab object_detection box scores (ObjectLab), detections of "
                                         f"{threshold:.2f} or more counted as sure, a box of score {BOX_ISSUE} or "
                                         "less at issue; ranked by the image's lowest box score", **seconds})
    report.text("How the suspects were found", (
        "The run's detector answered every labelled image; cleanlab's ObjectLab scores each given box and each "
        "confident detection: an object the detector finds with no given box near it (an object with no box), a "
        "given box where the detector sees another class (the wrong class), a given box the detector's boxes of "
        "its class only partly cover (badly placed). Detections scoring predict's threshold "
        f"({threshold:.2f}) or more count as sure. An image's label quality is its lowest box score; images with a "
        f"box of {BOX_ISSUE} or less are flagged, lowest first, each shown with its most doubtful box. "
        + split_note(suspects, "the detector learned their boxes", seconds)))
    if not suspects:
        report.text("Suspected label errors", "None: the detector's answers agree with every image's boxes.")
        return report
    report.table("Suspected label errors, most doubtful first", [
        "rank", "image", "split", "most doubtful", "given", "detector says", "how sure", "label quality"],
        [[rank, FileLink(row["path"]), row["split"], row["issue"], row["given"], row["suggested"],
          row["confidence"], row["label_quality"]] for rank, row in enumerate(suspects, start=1)])
    shown = suspects[:options["show"]]
    images, captions = [], []
    for rank, row in enumerate(shown, start=1):
        _, part, i = where[row["index"]]
        found_boxes, found_scores, found_classes = detections[row["index"]]
        confident = np.asarray(found_scores) >= threshold
        image = draw_boxes(part.image(i), part.boxes[i], part.labels[i], names, colour=GIVEN)
        image = draw_boxes(image, np.asarray(found_boxes)[confident], np.asarray(found_classes)[confident], names,
                           np.asarray(found_scores)[confident], colour=FOUND)
        if row["box"] is not None:
            image = draw_boxes(image, [row["box"]], [0], ["?"], colour=DOUBT, width=4)
        images.append(image)
        captions.append(f"#{rank} {row['issue']}\n{row['split']} {part.name(i)}")
    report.figure(f"The {len(shown)} most doubtful images: given boxes green, the detector's (score {threshold:.2f} "
                  "or more) red, the doubtful box yellow", image_grid(images, captions, columns=4, cell=220),
                  "suspects")
    return report
