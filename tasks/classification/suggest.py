"""Classification's `suggest`: the unlabelled images the run's model is least sure of, diverse, pre-labelled."""

import csv
import io
import os
import shutil

import numpy as np
import tensorflow as tf

from shared.data.decode import decode_image
from shared.data.preprocess import resize_images
from shared.io import write_text
from shared.review.select import margin_uncertainty
from shared.review.suggestions import (CHOICE, check_output, choose, copy_name, suggestions_report, unlabelled_pool,
                                      write_suggestions)
from shared.settings import run_config
from shared.task_model import load_run_model
from tasks.classification.inference import make_classify


def suggest(task, run, paths, options):
    """Pick `options["count"]` of `paths` (`shared.review.suggestions.choose`), copy them with the model's class as
    their label into `options["output"]` (class folders or a CSV, `options["format"]`), and write the report.
    Returns `(rows written, report path)`."""
    check_output(options["output"])
    pool = unlabelled_pool(paths)
    model = load_run_model(run)
    probabilities = _probabilities(model, pool.paths)
    uncertainty = margin_uncertainty(probabilities)
    chosen = choose(pool, uncertainty, options["count"])
    names = list(model.class_names)
    rows = [{"path": pool.paths[i], "label": names[int(probabilities[i].argmax())],
             "confidence": float(probabilities[i].max()), "uncertainty": float(uncertainty[i])} for i in chosen]
    fmt = options["format"]
    if fmt == "auto":
        fmt = "csv" if str(run_config(run, task)["data"]).lower().endswith(".csv") else "folders"
    return rows, write_suggestions(options["output"], lambda folder: _write_prelabels(folder, rows, fmt),
                                   lambda: _report(run, rows, pool, len(paths), fmt))


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
        name = copy_name(rank, row["path"])
        relative = os.path.join(row["label"] if fmt == "folders" else "images", name)
        os.makedirs(os.path.join(folder, os.path.dirname(relative)), exist_ok=True)
        shutil.copyfile(row["path"], os.path.join(folder, relative))
        row["written"] = os.path.join("data", relative)
        writer.writerow([relative, row["label"]])
    if fmt == "csv":
        write_text(os.path.join(folder, "labels.csv"), listing.getvalue())


def _report(run, rows, pool, offered, fmt):
    how = ("The images the model is least sure of (one minus the margin between its two likeliest classes) are the "
           "candidates, four per suggestion. " + CHOICE + "The pre-label is the model's answer: check and correct it, "
           "then add the images to " + ("the data's class folders (data/ holds them by pre-label)." if fmt == "folders"
                                        else "the data's CSV (data/labels.csv lists them)."))
    report = suggestions_report(run, rows, pool, offered, how, ["pre-label", "confidence", "uncertainty", "copied to"],
                                lambda r: [r["label"], r["confidence"], r["uncertainty"], r["written"]],
                                lambda r, image: (image, f"{r['label']} ({r['confidence']:.2f})"))
    report.record("format", fmt)
    return report
