"""Segmentation's label review: regions of a mask the run's model confidently labels otherwise.

The run's model (its calibrated pixel probabilities) answers every labelled image of its recorded
splits on one grid; cleanlab's segmentation label issues and `shared.review.mask_issues` turn the
pixels it contradicts into regions. The val and test splits are out-of-sample; the train split is not
(the model has learned its masks, wrong ones included), so the report says which split each suspect
comes from.
"""

import os
import time

import numpy as np
import tensorflow as tf

from shared.actions.evaluate import answers
from shared.actions.review import recorded_splits
from shared.data.preprocess import resize_images
from shared.reports import FileLink, Report
from shared.reports.draw import draw_boxes, overlay
from shared.reports.plots import image_grid
from shared.review.label_issues import by_pair, split_note
from shared.review.mask_issues import REGION_SHARE, mask_label_issues
from shared.stats.tempering import temper
from shared.task_model import load_run_model

PARTS = ("train", "val", "test")
REVIEW_SIZE = 256  # the grid every image is reviewed on (smaller when the data is large, `review_size`)
MAX_VALUES = 2.5e8  # probabilities held at once (1 GB of float32)


def review_size(model, images):
    """The side of the square grid `images` images are reviewed on: the model's size, at most `REVIEW_SIZE`, and
    small enough that every image's class probabilities fit `MAX_VALUES` (a multiple of 8, at least 32)."""
    fits = int(np.sqrt(MAX_VALUES / max(1, images * model.num_classes)))
    return int(max(32, min(model.image_size, REVIEW_SIZE, fits) // 8 * 8))


def review(task, run, options):
    """`(report, suspects)`: every labelled image of the run's recorded splits through the run's model and
    cleanlab; each suspect names its largest doubtful region, the class given there and the model's."""
    started = time.perf_counter()
    splits = recorded_splits(task, run)
    parts = [(name, splits[name]) for name in PARTS if len(splits.get(name, ()))]
    model = load_run_model(run)
    where = [(name, part, i) for name, part in parts for i in range(len(part))]
    size = review_size(model, len(where))
    probabilities, labels = grid_answers(model, parts, size)
    predicted = time.perf_counter() - started
    suspects, quality = review_masks(where, labels, probabilities, model.class_names)
    seconds = {"prediction_seconds": round(predicted, 2), "total_seconds": round(time.perf_counter() - started, 2)}
    return _report(run, model, where, suspects, probabilities, labels, size, options, seconds), suspects


def grid_answers(model, parts, size):
    """`(probabilities float32 [N, K, size, size], labels uint8 [N, size, size])`: the model's calibrated pixel
    probabilities (bilinear) and the given masks (nearest) of every image of `parts`, on the review grid."""
    temperature = float(model.calibration.get("temperature", 1.0))

    def on_grid(images):
        found = model(resize_images(images, model.image_size), training=False)
        return {"probabilities": temper(tf.image.resize(found, (size, size), method="bilinear"), temperature)}

    probabilities, labels = [], []
    for _, part in parts:
        for i, out in enumerate(answers(on_grid, part)):
            probabilities.append(np.moveaxis(out["probabilities"], -1, 0))
            labels.append(tf.image.resize(part.mask(i)[..., None], (size, size), method="nearest").numpy()[..., 0])
    return (np.asarray(probabilities, np.float32).reshape(-1, model.num_classes, size, size),
            np.asarray(labels, np.uint8).reshape(-1, size, size))


def review_masks(where, labels, probabilities, names):
    """`(suspects, quality)` of the images `where` (`(split, part, index)` each) from their grid `labels` and
    `probabilities`: the flagged images (`mask_label_issues`), largest doubtful region first."""
    ranked, quality, regions = mask_label_issues(labels, probabilities)
    suspects = []
    for index in ranked:
        split, part, i = where[index]
        region = regions[index]
        suspects.append({"index": int(index), "path": part.location(i), "split": split, "issue": "region",
                         "given": names[region["given"]], "suggested": names[region["says"]],
                         "confidence": region["confidence"], "share": region["share"], "box": region["box"],
                         "label_quality": float(quality[index])})
    return suspects, quality


def _report(run, model, where, suspects, probabilities, labels, size, options, seconds):
    report = Report(f"Label review: {os.path.basename(run.path)}",
                    subtitle=f"{len(where)} labelled images of the run's train, val and test splits")
    report.headline({"images reviewed": len(where), "suspected images": len(suspects),
                     "share suspected": len(suspects) / max(1, len(where)),
                     "pixels where the model agrees with the masks": float(
                         ((probabilities.argmax(1) == labels) | (labels == 255)).mean()) if len(labels) else 1.0})
    report.record("reviewed", len(where))
    report.record("suspects", suspects)
    report.record("method", {"grid": size, "temperature": float(model.calibration.get("temperature", 1.0)),
                             "pixels": "cleanlab.segmentation find_label_issues (confident learning)",
                             "images": f"largest connected region of such pixels, {REGION_SHARE:.1%} of the image "
                                       "or more, ranked by its size", **seconds})
    report.text("How the suspects were found", (
        f"The run's model gave every labelled image its pixel probabilities (calibrated, on a {size} x {size} grid); "
        "cleanlab's confident learning marks the pixels whose given class they confidently contradict. Stray pixels "
        "along boundaries are the model's own blur; a labelling mistake is a region, so an image is flagged when its "
        f"largest connected region of such pixels covers {REGION_SHARE:.1%} of it or more, largest first. "
        + split_note(suspects, "the model learned their masks", seconds)))
    if not suspects:
        report.text("Suspected label errors", "None: the model's answers agree with every mask.")
        return report
    report.table("Suspected label errors, most doubtful first", [
        "rank", "image", "split", "given there", "model says", "how sure", "region's share of the image"],
        [[rank, FileLink(row["path"]), row["split"], row["given"], row["suggested"], row["confidence"], row["share"]]
         for rank, row in enumerate(suspects, start=1)])
    images, captions = [], []
    for rank, row in enumerate(suspects[:options["show"]], start=1):
        _, part, i = where[row["index"]]
        image = tf.image.resize(part.image(i), (size, size), antialias=True).numpy().clip(0, 255).astype(np.uint8)
        said = probabilities[row["index"]].argmax(0)
        images += [draw_boxes(overlay(image, labels[row["index"]], model.colours), [row["box"]], [0], ["?"],
                              colour=(255, 200, 0), width=3),
                   draw_boxes(overlay(image, said, model.colours), [row["box"]], [0], ["?"], colour=(255, 200, 0),
                              width=3)]
        captions += [f"#{rank} given: {row['given']}\n{row['split']} {part.name(i)}",
                     f"#{rank} model: {row['suggested']} ({row['confidence']:.2f})"]
    report.figure("The most doubtful masks: the given mask (left) and the model's (right), the doubtful region "
                  "outlined", image_grid(images, captions, columns=4, cell=220), "suspects")
    report.table("Suspects by the class given and the class the model prefers", ["given", "model says", "suspects"],
                 by_pair(suspects))
    return report
