"""Classification's `suggest`: the unlabelled images the run's model is least sure of, diverse, pre-labelled."""

import csv
import io
import os
import shutil

import numpy as np
import tensorflow as tf

from shared.data.decode import decode_image
from shared.data.imageset import ImageSet
from shared.data.preprocess import resize_images
from shared.errors import fail
from shared.io import atomic_path, write_text
from shared.reports import FileLink, Report
from shared.reports.plots import image_grid
from shared.review.embed import embed
from shared.review.select import diverse_uncertain, margin_uncertainty
from shared.settings import run_config
from shared.task_model import load_run_model
from tasks.classification.inference import make_classify


def suggest(task, run, paths, options):
    """Pick `options["count"]` of `paths` (`shared.review.select`), copy them with the model's class as their
    label into `options["output"]` (class folders or a CSV, `options["format"]`), and write the report.
    Returns `(rows written, report path)`."""
    check_output(options["output"])
    pool = ImageSet(labels=np.zeros(len(paths), np.int32), class_names=[], paths=list(paths)).check()
    model = load_run_model(run)
    probabilities = _probabilities(model, pool.paths)
    features = embed(pool)
    uncertainty = margin_uncertainty(probabilities)
    chosen = diverse_uncertain(uncertainty, features, options["count"])
    names = list(model.class_names)
    rows = [{"path": pool.paths[i], "label": names[int(probabilities[i].argmax())],
             "confidence": float(probabilities[i].max()), "uncertainty": float(uncertainty[i])} for i in chosen]
    fmt = options["format"]
    if fmt == "auto":
        fmt = "csv" if str(run_config(run, task)["data"]).lower().endswith(".csv") else "folders"
    with atomic_path(options["output"]) as tmp:
        os.makedirs(tmp)
        write_text(os.path.join(tmp, MARKER), "suggestions written by `trident suggest`; a re-run replaces them\n")
        _write_prelabels(os.path.join(tmp, "data"), rows, fmt)
        report = _report(run, rows, pool, len(paths), fmt)
        paths_written = report.write(tmp)
    return rows, os.path.join(options["output"], os.path.basename(paths_written["html"]))


MARKER = ".trident-suggest"


def check_output(folder):
    """Refuse to replace a folder `suggest` did not write (a re-run replaces its own suggestions whole)."""
    if os.path.exists(folder) and (not os.path.isdir(folder) or (
            os.listdir(folder) and not os.path.isfile(os.path.join(folder, MARKER)))):
        fail(f"--output {folder} exists and was not written by `suggest`", "Give a new folder (or an earlier "
             "suggest output, which is replaced)", output=folder)


def _probabilities(model, paths, batch_size=32):
    classify = tf.function(make_classify(model), reduce_retracing=True)
    size = model.image_size
    images = tf.data.Dataset.from_tensor_slices(list(paths)).map(
        lambda path: resize_images(decode_image(tf.io.read_file(path), min_side=size), size),
        num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
    found = [classify(batch)["probabilities"].numpy() for batch in images]
    return np.concatenate(found) if found else np.zeros((0, len(model.class_names)), np.float32)


def _write_prelabels(folder, rows, fmt):
    """Copies of the chosen images under `folder` (the output's `data/`, apart from the report), labelled by
    their pre-label: `<class>/<rank>_<name>` (class folders) or `images/<rank>_<name>` listed in `labels.csv`
    (path,label)."""
    listing = io.StringIO()
    writer = csv.writer(listing, lineterminator="\n")
    writer.writerow(["path", "label"])
    for rank, row in enumerate(rows, start=1):
        name = f"{rank:04d}_{os.path.basename(row['path'])}"
        relative = os.path.join(row["label"] if fmt == "folders" else "images", name)
        os.makedirs(os.path.join(folder, os.path.dirname(relative)), exist_ok=True)
        shutil.copyfile(row["path"], os.path.join(folder, relative))
        row["written"] = os.path.join("data", relative)
        writer.writerow([relative, row["label"]])
    if fmt == "csv":
        write_text(os.path.join(folder, "labels.csv"), listing.getvalue())


def _report(run, rows, pool, offered, fmt):
    report = Report(f"Images to label next: {os.path.basename(run.path)}",
                    subtitle=f"{len(rows)} of {offered} unlabelled images, pre-labelled by the run's model")
    report.headline({"suggested": len(rows), "offered": offered, "unreadable": len(pool.skipped),
                     "mean uncertainty of the suggested": float(np.mean([r["uncertainty"] for r in rows]))
                     if rows else 0.0})
    report.record("suggestions", rows)
    report.record("format", fmt)
    report.text("How they were chosen", (
        "The images the model is least sure of (one minus the margin between its two likeliest classes) are "
        "the candidates, four per suggestion; among them, each next pick is the one farthest, in an ImageNet "
        "network's features, from those already picked, weighted by its uncertainty, so near-copies do not "
        "fill the list. The pre-label is the model's answer: check and correct it, then add the images to "
        + ("the data's class folders (data/ holds them by pre-label)." if fmt == "folders"
           else "the data's CSV (data/labels.csv lists them).")))
    if rows:
        report.table("Suggestions, in order", ["rank", "image", "pre-label", "confidence", "uncertainty", "copied to"],
                     [[rank, FileLink(r["path"]), r["label"], r["confidence"], r["uncertainty"], r["written"]]
                      for rank, r in enumerate(rows, start=1)])
        shown = rows[:48]
        images = [pool.image(pool.paths.index(r["path"])) for r in shown]
        report.figure("The suggestions with their pre-labels", image_grid(
            images, [f"#{k} {r['label']} ({r['confidence']:.2f})" for k, r in enumerate(shown, start=1)]),
            "suggestions")
    if pool.skipped:
        report.table("Unreadable images, left out", ["file", "reason"], [[p, why] for p, why in pool.skipped])
    return report
