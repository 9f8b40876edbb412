"""Evaluate a trained segmenter (IoU at each image's original size) and write its report.

    trident segmentation evaluate --run runs/segmentation-shapes-compact
    trident segmentation evaluate --run RUN --data other.yaml --split test

Predictions are resized back to every image's own size before scoring; pixels labelled
255 are ignored. Writes report.json/.md/.html into RUN/evaluation/<data>-<split>/.
"""

import os

import numpy as np

from shared.actions.evaluate import answers, finish_report, open_evaluation
from shared.reports import Report
from shared.explain.explainer import one_per_image, pointing, region_score
from shared.explain.sections import (add_backbone_section, add_pointing_section, add_why_section,
                                     explain_with_cases)
from shared.reports.model_stats import model_stats
from shared.reports.draw import overlay
from shared.reports.calibration import add_calibration
from shared.reports.plots import confusion_matrix_figure, image_grid, per_class_figure
from shared.stats.bootstrap import describe, intervals, span
from shared.stats.calibration import calibration_record, fitted_temperature, sample_pixels, with_temperature
from shared.stats.scored import Scored, read_per_image
from tasks.segmentation.inference import make_segment
from tasks.segmentation.metrics import confusion_matrix, resampled_scores, scores_from_confusion


# Labelled pixels drawn from each image for calibration (ECE, the temperature's fit): enough for 15 bins,
# and the same for every image so that large images do not outweigh the others.
CALIBRATION_PIXELS = 2048


def score_split(model, dataset):
    """Per image class maps at original size, the total confusion matrix, per-image mean IoU, per-image
    confusion matrices `[N, C, C]`, and `(probabilities [P, C], labels [P])` of pixels drawn at random
    (`CALIBRATION_PIXELS` an image, seeded), as the network gives them (temperature 1)."""
    num_classes = model.num_classes
    total = np.zeros((num_classes, num_classes), np.int64)
    maps, per_image, matrices, pixels = [], [], [], []
    rng = np.random.default_rng(0)
    for i, out in enumerate(answers(make_segment(model, temperature=1.0), dataset)):
        class_map, mask = out["class_map"], dataset.mask(i)
        matrix = confusion_matrix(mask, class_map, num_classes)
        total += matrix
        maps.append(class_map)
        matrices.append(matrix)
        per_image.append(scores_from_confusion(matrix, model.class_names)["mean_iou"])
        pixels.append(sample_pixels(out["probabilities"], mask, CALIBRATION_PIXELS, rng))
    drawn = (np.concatenate([p for p, _ in pixels]) if pixels else np.zeros((0, num_classes), np.float32),
             np.concatenate([y for _, y in pixels]) if pixels else np.zeros(0, np.int64))
    return maps, total, per_image, np.asarray(matrices, np.int64).reshape(-1, num_classes, num_classes), drawn


def calibrate(model, part):
    """The temperature that makes the pixels' probabilities on `part` (the val split) honest, fitted on the
    pixels `score_split` draws, with ECE and negative log-likelihood there before and after."""
    raw, labels = score_split(model, part)[4]
    return {**fitted_temperature(raw, labels, unit="pixel"), "pixels": int(len(labels))}


def evaluate_run(task, run, data=None, images=None, split=None, output=None, loaded=None, explain=True):
    """Score the run's best checkpoint and write the report (`explain`: with the sections that show why it
    decided). Returns (paths, scores)."""
    ev = open_evaluation(run, task, data, images, split, loaded, explain)
    model, dataset = ev.model, ev.dataset
    names = model.class_names
    maps, matrix, per_image, matrices, (raw, labels) = score_split(model, dataset)
    scores = scores_from_confusion(matrix, names)
    spans = scores["intervals"] = intervals(resampled_scores(matrices, names), len(dataset))
    stats = model_stats(model, (model.image_size, model.image_size, 3), ev.checkpoint, batch_size=8)

    report = Report(f"Semantic segmentation: {os.path.basename(run.path)}",
                    ev.subtitle() + "; scored at each image's original size, label 255 ignored")
    report.headline({"mean IoU": scores["mean_iou"], "mean Dice": scores["mean_dice"],
                     "pixel accuracy": scores["pixel_accuracy"], "freq.-weighted IoU": scores["frequency_weighted_iou"],
                     "images": len(dataset), "ms / image": stats["ms_per_image_batch1"],
                     "parameters": stats["parameters"]},
                    {"mean IoU": spans["mean IoU"], "mean Dice": spans["mean Dice"],
                     "pixel accuracy": spans["pixel accuracy"]})
    report.record("segmentation", {k: v for k, v in scores.items()})
    report.record("confusion", matrix.tolist())
    report.record("per_image_mean_iou", {dataset.name(i): v for i, v in enumerate(per_image)})
    report.record("model", stats)
    table = [{"id": i, "name": n, "colour": list(c)} for i, (n, c) in enumerate(zip(names, model.colours))]
    report.record("class_table", table)
    report.record("data", ev.data_record())
    report.table("Per-class IoU and Dice", ["class", "IoU", "IoU 95%", "Dice", "pixels"],
                 [[n, s["iou"], span(spans[f"IoU: {n}"], 3), s["dice"], s["pixels"]]
                  for n, s in scores["per_class"].items()],
                 note=f"Mean IoU averages the classes present in truth or prediction. {describe()}.")
    report.figure("IoU per class", per_class_figure({n: s["iou"] for n, s in scores["per_class"].items()},
                                                    {n: spans[f"IoU: {n}"] for n in names}, "IoU",
                                                    "IoU with its 95% interval"), "per_class_iou")
    temperature = model.calibration.get("temperature", 1.0)
    add_calibration(report, raw, with_temperature(raw, temperature) if len(labels) else raw, labels,
                    calibration_record(raw, labels, temperature) if len(labels) else {"temperature": temperature},
                    model.calibration, unit=f"pixels ({CALIBRATION_PIXELS} drawn at random from each image)",
                    decision="every class map")
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    report.figure("Pixel confusion matrix (normalised per true class)",
                  confusion_matrix_figure(normalised, names, normalized=True), "confusion")
    order = np.argsort(per_image)
    chosen = list(order[:4]) + [i for i in order[len(order) // 2:len(order) // 2 + 2] if i not in order[:4]]
    grid, captions = [], []
    for i in chosen:
        image = dataset.image(i)
        grid += [image, overlay(image, dataset.mask(i), model.colours), overlay(image, maps[i], model.colours)]
        captions += [f"{dataset.name(i)}", "truth", f"prediction (IoU {per_image[i]:.2f})"]
    report.figure("Worst images first, then typical ones: image, truth, prediction", image_grid(
        grid, captions, columns=6), "examples")
    ev.explain(report, lambda explainer: _add_explanations(report, explainer, dataset, order))
    classes = ("Class table (the model's)", ["id", "name", "colour"],
               [[c["id"], c["name"], str(tuple(c["colour"]))] for c in table])
    per_image = {"confusions": matrices, "class_names": np.asarray(names, dtype=str)}
    return finish_report(report, ev, stats, output, [classes], per_image=per_image), scores


def scored(folder):
    """The evaluation in `folder` as a `Scored`: mean IoU (the verdict's metric), mean Dice and pixel accuracy
    of resamples, from each image's confusion matrix."""
    found = read_per_image(folder)
    return Scored(list(found["images"]), resampled_scores(found["confusions"], list(found["class_names"])),
                  ("mean IoU", "mean Dice", "pixel accuracy"))


POINTING_IMAGES = 32  # images the pointing game explains, one class of each (background aside)
WHY_MAPS = 8  # heat maps of the worst images "why it decided" shows


def _add_explanations(report, explainer, dataset, order):
    """"Why it decided" for the worst images, per class, and the pointing game: the share of each class's
    heat map that falls on that class's true pixels, averaged. Returns the pointing game record."""
    model = explainer.model
    pairs = one_per_image([[(k, k) for k in _true_classes(dataset.mask(i), model.num_classes)]
                           for i in range(min(POINTING_IMAGES, len(dataset)))])
    cases = [(dataset.image(i), region_score(k), f"{dataset.name(i)}\n{model.class_names[k]}", True)
             for i in order[:3] for k in _true_classes(dataset.mask(i), model.num_classes)][:WHY_MAPS]
    computed, heats = explain_with_cases(explainer, cases, [dataset.image(i) for i, _ in pairs],
                                         [region_score(k) for _, k in pairs])
    masses = {}
    for (i, k), heat in zip(pairs, heats):
        masses.setdefault(model.class_names[k], []).append(pointing(heat, dataset.mask(i) == k))
    levels = add_why_section(report, explainer, cases, "Why it decided: the worst images, one heat map per class in "
                             "their truth", "Each image is followed by the heat map of what made the model paint "
                             "that class.", computed)
    if dataset:  # the worst image: the first case's, when it has a class in its truth
        add_backbone_section(report, explainer, dataset.image(int(order[0])), dataset.name(int(order[0])),
                             levels if cases and _true_classes(dataset.mask(int(order[0])), model.num_classes)
                             else None)
    return add_pointing_section(report, masses, "Pointing game: share of each class's heat map on its true pixels",
                                "heat maps", f"{explainer.describe()}, over the first {POINTING_IMAGES} images "
                                "of the split (or all), one class of each image's truth (the one the fewest "
                                "heat maps show so far). 1.0: all heat on the class's own pixels.")



def _true_classes(mask, num_classes):
    return [int(k) for k in np.unique(mask) if 0 < k < num_classes]
