"""Instance segmentation's `suggest`: the unlabelled images whose objects the run's model is least sure of, diverse,
pre-labelled with its confident masks as a COCO JSON (RLE), which labelling tools import and Trident reads back."""

import json
import os
import shutil

from shared.data.images import oriented_size
from shared.detector.threshold import answer_threshold
from shared.io import write_text
from shared.review.select import detection_uncertainty
from shared.review.suggestions import CHOICE, check_output, choose, copy_name, suggestions_report, unlabelled_pool
from shared.review.suggestions import write_suggestions
from shared.task_model import load_run_model
from tasks.instance.draw import draw_instances
from tasks.instance.evaluate import predict_split
from tasks.instance.masks import Encoded, rle_box, to_rle

CONSIDERED = 0.05  # detections scoring less are clutter, to uncertainty as to a reader


def suggest(task, run, paths, options):
    """Pick `options["count"]` of `paths` by their most doubtful detection and diversity (`shared.review.suggestions`),
    copy them into `options["output"]/data/images` with the masks scoring predict's threshold or more as their
    pre-labels in `data/annotations.json` (COCO, RLE), and write the report. Returns `(rows, report path)`."""
    check_output(options["output"])
    pool = unlabelled_pool(paths)
    model = load_run_model(run)
    detections, masks = predict_split(model, pool, CONSIDERED)
    uncertainty = detection_uncertainty([scores for _, scores, _ in detections])
    chosen = choose(pool, uncertainty, options["count"])
    threshold = answer_threshold(model)
    rows, kept = [], {}  # the masks apart from the rows, which the report records
    for rank, i in enumerate(chosen, start=1):
        _, scores, classes = detections[i]
        sure = [k for k, score in enumerate(scores) if score >= threshold and _pixels(masks[i][k])]
        kept[pool.paths[i]] = [masks[i][k] for k in sure]
        rows.append({"path": pool.paths[i], "name": copy_name(rank, pool.paths[i]),
                     "uncertainty": float(uncertainty[i]), "labels": [int(classes[k]) for k in sure],
                     "scores": [round(float(scores[k]), 4) for k in sure]})

    def prelabels(folder):
        write_coco_instances(folder, model.class_names, rows, kept)

    return rows, write_suggestions(options["output"], prelabels,
                                   lambda: _report(run, model, rows, kept, pool, len(paths), threshold))


def _pixels(rle):
    """Whether a JSON-ready RLE holds any pixel (a detection whose mask is empty is no object to label)."""
    return rle_box(to_rle(rle, *rle["size"]))[1] > 0


def write_coco_instances(folder, names, rows, masks):
    """Copy each row's image (`path`, copied as `name`) into `folder/images/` and write `folder/annotations.json`: one
    COCO annotation per mask of `masks[path]` (JSON-ready compressed RLEs, classes `labels`), with its box and area,
    categories 1..K in `names` order. Returns the JSON's path."""
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    images, annotations = [], []
    for image_id, row in enumerate(rows, start=1):
        shutil.copyfile(row["path"], os.path.join(folder, "images", row["name"]))
        objects = masks[row["path"]]
        height, width = objects[0]["size"] if objects else oriented_size(row["path"])
        images.append({"id": image_id, "file_name": f"images/{row['name']}", "height": int(height),
                       "width": int(width)})
        for rle, label in zip(objects, row["labels"]):
            (x1, y1, x2, y2), area = rle_box(to_rle(rle, height, width))
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": label + 1,
                                "segmentation": rle, "bbox": [x1, y1, x2 - x1, y2 - y1], "area": area,
                                "iscrowd": 0})
    path = os.path.join(folder, "annotations.json")
    write_text(path, json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": k + 1, "name": name} for k, name in enumerate(names)]}))
    return path


def _report(run, model, rows, masks, pool, offered, threshold):
    how = ("The images whose most doubtful detection is nearest a coin toss (its calibrated score nearest 0.5) are the "
           "candidates, four per suggestion. " + CHOICE
           + f"The pre-labels are the model's masks scoring {threshold:.2f} or more (predict's threshold), written as "
           "a COCO JSON with RLE masks (data/annotations.json, beside the images in data/images/; read it with "
           "`--data data/annotations.json`): correct and complete them in a labelling tool, then add the images to "
           "the data.")

    def drawn(row, image):
        height, width = image.shape[:2]
        stack = Encoded([to_rle(rle, height, width) for rle in masks[row["path"]]], height, width).stack()
        picture = draw_instances(image, stack)
        return picture, f"{len(row['labels'])} object(s), uncertainty {row['uncertainty']:.2f}"

    report = suggestions_report(
        run, rows, pool, offered, how, ["pre-label objects", "uncertainty", "copied to"],
        lambda r: [len(r["labels"]), r["uncertainty"], os.path.join("data", "images", r["name"])], drawn)
    report.record("format", "coco")
    return report
