"""Detection's `suggest`: the unlabelled images whose detections the run's detector is least sure of, diverse,
pre-labelled with its confident boxes in the run's data format (COCO JSON, Pascal VOC or YOLO)."""

import os

import numpy as np

from shared.data.detection import detection_format
from shared.data.detection_write import write_detection_data
from shared.data.images import oriented_size
from shared.detector.threshold import answer_threshold
from shared.reports.draw import draw_boxes
from shared.review.select import detection_uncertainty
from shared.review.suggestions import CHOICE, check_output, choose, copy_name, suggestions_report, unlabelled_pool
from shared.review.suggestions import write_suggestions
from shared.settings import run_config
from shared.task_model import load_run_model
from tasks.detection.evaluate import predict_split

CONSIDERED = 0.05  # detections scoring less are clutter, to uncertainty as to a reader


def suggest(task, run, paths, options):
    """Pick `options["count"]` of `paths` by detection uncertainty and diversity (`shared.review.suggestions`), copy
    them with the detector's boxes that clear predict's threshold as their pre-labels into `options["output"]/data`
    (`options["format"]`; auto: the run's data format), and write the report. Returns `(rows, report path)`."""
    check_output(options["output"])
    pool = unlabelled_pool(paths)
    model = load_run_model(run)
    names = list(model.class_names)
    detections = predict_split(model, pool, CONSIDERED)
    uncertainty = detection_uncertainty([scores for _, scores, _ in detections])
    chosen = choose(pool, uncertainty, options["count"])
    threshold = answer_threshold(model)
    rows = []
    for rank, i in enumerate(chosen, start=1):
        boxes, scores, classes = detections[i]
        sure = np.asarray(scores) >= threshold
        rows.append({"path": pool.paths[i], "name": copy_name(rank, pool.paths[i]),
                     "size": list(oriented_size(pool.paths[i])),
                     "boxes": np.round(np.asarray(boxes)[sure], 2).tolist(),
                     "labels": np.asarray(classes)[sure].astype(int).tolist(),
                     "scores": np.round(np.asarray(scores)[sure], 4).tolist(),
                     "uncertainty": float(uncertainty[i])})
    fmt = options["format"]
    if fmt == "auto":
        fmt = detection_format(run_config(run, task)["data"]) or "coco"
    written = {}

    def prelabels(folder):
        spec = write_detection_data(folder, fmt, names, rows)
        written["data"] = os.path.join("data", os.path.relpath(spec, folder)) if spec != folder else "data"

    return rows, write_suggestions(options["output"], prelabels,
                                   lambda: _report(run, rows, pool, len(paths), fmt, names, threshold, written))


def _report(run, rows, pool, offered, fmt, names, threshold, written):
    how = ("The images whose most doubtful detection is nearest a coin toss (its calibrated score nearest 0.5: "
           "an object the detector half sees, or a box it half believes) are the candidates, four per suggestion. "
           + CHOICE + f"The pre-labels are the detector's boxes scoring {threshold:.2f} or more (predict's threshold), "
           f"written as {FORMAT_NAMES[fmt]} under data/ (read it with `--data {written['data']}`): check, correct "
           "and complete them in a labelling tool, then add the images to the data.")

    def drawn(row, image):
        picture = draw_boxes(image, row["boxes"], row["labels"], names, row["scores"])
        return picture, f"{len(row['boxes'])} box(es), uncertainty {row['uncertainty']:.2f}"

    report = suggestions_report(
        run, rows, pool, offered, how, ["pre-label boxes", "uncertainty", "copied to"],
        lambda r: [len(r["boxes"]), r["uncertainty"], os.path.join("data", "images", r["name"])], drawn)
    report.record("format", fmt)
    report.record("data", written["data"])
    return report


FORMAT_NAMES = {"coco": "a COCO JSON (data/annotations.json)", "voc": "Pascal VOC XML files (data/annotations/)",
                "yolo": "YOLO txt files (data/labels/) with a dataset YAML naming the classes"}
