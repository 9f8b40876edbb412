"""A classifier's evaluation: accuracy, per-class scores, confusions, worst errors and why, in one report."""

import os

import numpy as np
import tensorflow as tf

from shared.data.pipeline import image_dataset
from shared.actions.evaluate import finish_report, open_evaluation
from shared.reports import Report
from shared.explain.explainer import class_score, pointing
from shared.explain.sections import (add_backbone_section, add_pointing_section, add_why_section,
                                     explain_with_cases)
from shared.reports.model_stats import model_stats
from shared.reports.calibration import add_calibration
from shared.reports.plots import confusion_matrix_figure, image_grid, per_class_figure
from shared.stats.bootstrap import describe, intervals, method, span
from shared.stats.calibration import calibration_record, fitted_temperature, with_temperature
from shared.stats.scored import Scored, read_per_image
from tasks.classification.inference import make_classify
from tasks.classification.metrics import classification_metrics, exact_intervals, resampled_scores, worst_errors


INTERVALS = (f"Accuracy and recall: exact binomial (Clopper-Pearson) 95% intervals, as they are counts of images "
             f"right; F1: {describe()}.")


def predict_split(model, imageset, batch_size, temperature=None):
    """`(labels, probabilities)` over an `ImageSet`, labels read back from the pipeline.

    Batches come from the input pipeline (decoded as in training, already at the model's
    size) and go through the same `classify` function as `predict` and the export (at the run's
    calibration, or at `temperature`: 1.0 for the network's own probabilities).
    """
    classify = tf.function(make_classify(model, temperature))
    labels, probabilities = [], []
    for images, batch_labels in image_dataset(imageset, model.image_size, batch_size):
        probabilities.append(classify(images)["probabilities"].numpy())
        labels.append(batch_labels.numpy())
    if not labels:
        return np.zeros((0,), np.int32), np.zeros((0, model.num_classes), np.float32)
    return np.concatenate(labels), np.concatenate(probabilities)


def evaluate_run(task, run, data=None, split=None, output=None, batch_size=32, loaded=None, explain=True):
    """Score a run's best checkpoint on a split and write the report (`explain`: with the sections that
    show why it decided; or a dict of `shared.explain.explainer.Explainer` options). Returns (paths, metrics)."""
    ev = open_evaluation(run, task, data, None, split, loaded, explain)
    model, imageset = ev.model, ev.dataset
    labels, raw = predict_split(model, imageset, batch_size, temperature=1.0)
    temperature = model.calibration.get("temperature", 1.0)
    probabilities = with_temperature(raw, temperature) if len(labels) else raw
    names = model.class_names
    metrics = classification_metrics(labels, probabilities, names)
    predicted = probabilities.argmax(-1) if len(labels) else np.zeros(0, np.int64)
    spans = intervals(resampled_scores(labels, predicted, names), len(labels))
    spans = metrics["intervals"] = {**spans, **exact_intervals(labels, predicted, names)}
    stats = model_stats(model, (model.image_size, model.image_size, 3), ev.checkpoint)

    report = Report(f"Image classification: {os.path.basename(run.path)}", ev.subtitle())
    headline = {"accuracy": metrics["accuracy"]}
    headline.update({k: v for k, v in metrics.items() if k.startswith("top")})
    headline.update({"macro F1": metrics["macro_avg"]["f1"], "images": len(labels),
                     "skipped images": len(ev.info["skipped"]), "ms / image": stats["ms_per_image_batch1"],
                     "parameters": stats["parameters"]})
    calibration = calibration_record(raw, labels, temperature)
    headline["ECE"] = calibration["ece_after"]
    report.headline(headline, spans, {**method(), "exact_binomial": ["accuracy", "recall: <class>"]})
    report.record("classification", metrics)
    report.record("model", stats)
    report.record("data", ev.data_record(fingerprint=ev.info["fingerprint"].get(ev.split)))
    rows = [[name, m["precision"], m["recall"], span(spans[f"recall: {name}"], 3), m["f1"],
             span(spans[f"F1: {name}"], 3), m["support"]] for name, m in metrics["per_class"].items()]
    for label, key in (("macro avg", "macro_avg"), ("weighted avg", "weighted_avg")):
        m = metrics[key]
        rows.append([label, m["precision"], m["recall"], "", m["f1"],
                     span(spans["macro F1"], 3) if key == "macro_avg" else "", m["support"]])
    report.table("Per-class precision, recall and F1",
                 ["class", "precision", "recall", "recall 95%", "F1", "F1 95%", "support"], rows,
                 note=f"Computed with scikit-learn's classification_report. {INTERVALS}")
    report.figure("Recall per class", per_class_figure(
        {n: m["recall"] for n, m in metrics["per_class"].items()},
        {n: spans[f"recall: {n}"] for n in names}, "recall", "recall with its 95% interval"), "per_class_recall")
    add_calibration(report, raw, probabilities, labels, calibration, model.calibration)
    report.figure("Confusion matrix (counts)", confusion_matrix_figure(metrics["confusion"], names), "confusion")
    report.figure("Confusion matrix (normalised per true class)",
                  confusion_matrix_figure(metrics["confusion_normalized"], names, normalized=True),
                  "confusion_normalized")
    _add_worst_grid(report, imageset, labels, probabilities, names)
    ev.explain(report, lambda explainer: _add_explanations(report, explainer, imageset, labels, probabilities, names))
    report.text("Data", f"{ev.info['split']}. Counts: {ev.info['counts']}.")
    per_image = {"labels": labels, "predicted": predicted, "confidence": probabilities.max(-1) if len(labels)
                 else np.zeros(0), "class_names": np.asarray(names, dtype=str)}
    return finish_report(report, ev, stats, output, per_image=per_image), metrics


def calibrate(model, part, batch_size):
    """The temperature that makes the network's probabilities on `part` (the val split) honest, with ECE and
    negative log-likelihood there before and after (`fitted_temperature`)."""
    labels, raw = predict_split(model, part, batch_size, temperature=1.0)
    return fitted_temperature(raw, labels)


def scored(folder):
    """The evaluation in `folder` as a `Scored`: accuracy (the verdict's metric) and macro F1 of resamples."""
    found = read_per_image(folder)
    labels, predicted = found["labels"], found["predicted"]
    return Scored(list(found["images"]), resampled_scores(labels, predicted, list(found["class_names"])),
                  ("accuracy", "macro F1"), correct=labels == predicted)


POINTING_IMAGES = 32  # images the pointing game explains, where the data marks the objects (as the other tasks)


def _add_explanations(report, explainer, imageset, labels, probabilities, names, per_kind=6):
    """"Why it decided" (the most confident errors, then the most confident right answers), what the backbone
    sees, and where the data marks each image's object (`regions`), the pointing game: the share of the heat
    map of the true class on the object. Returns the pointing game record (None without regions)."""
    if len(labels) != len(imageset) or len(labels) == 0:
        return None
    predicted, confidence = probabilities.argmax(-1), probabilities.max(-1)
    wrong = [i for i in np.argsort(-confidence) if predicted[i] != labels[i]][:per_kind]
    right = [i for i in np.argsort(-confidence) if predicted[i] == labels[i]][:per_kind]
    cases = [(imageset.image(i), class_score(int(predicted[i])),
              f"true {names[labels[i]]}\npred {names[predicted[i]]} ({confidence[i]:.2f})", predicted[i] == labels[i])
             for i in wrong + right]
    chosen = range(min(POINTING_IMAGES, len(imageset)) if imageset.regions is not None else 0)
    computed, heats = explain_with_cases(explainer, cases, [imageset.image(i) for i in chosen],
                                         [class_score(int(labels[i])) for i in chosen])
    levels = add_why_section(report, explainer, cases, "Why it decided: the most confident errors, then right answers",
                             "Each image is followed by the heat map of the class the model chose.", computed)
    first = (wrong + right)[0]
    add_backbone_section(report, explainer, imageset.image(first), imageset.name(first), levels)
    if imageset.regions is None:
        return None
    masses = {}
    for i, heat in zip(chosen, heats):
        masses.setdefault(names[labels[i]], []).append(pointing(heat, imageset.regions[i]))
    return add_pointing_section(report, masses, "Pointing game: share of each heat map on the object",
                                "images", f"{explainer.describe()}, of the true class, over the first "
                                f"{POINTING_IMAGES} images of the split (or all); the object as the data marks it.")


def _add_worst_grid(report, imageset, labels, probabilities, names, limit=24):
    if len(labels) != len(imageset):  # a file vanished since the scan; indices no longer line up
        return
    worst = worst_errors(labels, probabilities, limit)
    if not worst:
        report.text("Worst misclassified images", "No image in this split is misclassified.")
        return
    images = [imageset.image(i) for i in worst]
    captions = [f"true {names[labels[i]]}\npred {names[probabilities[i].argmax()]} ({probabilities[i].max():.2f})"
                for i in worst]
    report.figure("Worst misclassified images (most confident errors first)",
                  image_grid(images, captions, colors=["#b00020"] * len(images)), "worst_errors")
