"""Segmentation's `suggest`: the unlabelled images whose pixels the run's model is least sure of, diverse,
pre-labelled with its class maps as mask PNGs encoded as the run's own masks are."""

import os

import numpy as np
import tensorflow as tf

from shared.actions.evaluate import answers
from shared.actions.review import recorded_splits
from shared.data.segmentation_write import write_mask_data
from shared.reports.draw import overlay
from shared.review.suggestions import CHOICE, check_output, choose, copy_name, suggestions_report, unlabelled_pool
from shared.review.suggestions import write_suggestions
from shared.task_model import load_run_model
from tasks.segmentation.inference import make_segment


def suggest(task, run, paths, options):
    """Pick `options["count"]` of `paths` by their pixels' mean margin uncertainty and diversity
    (`shared.review.suggestions`), write them with the model's class maps as their masks into `options["output"]/data`
    (`images/` + `masks/` + a dataset YAML, masks encoded as the run's data encodes them), and the report. Returns
    `(rows, report path)`."""
    check_output(options["output"])
    pool = unlabelled_pool(paths)
    model = load_run_model(run)
    table = recorded_splits(task, run)["train"]  # the user's mask encoding: class ids, mapped values or colours
    maps, uncertainty = pixel_answers(model, pool)
    chosen = choose(pool, uncertainty, options["count"])
    rows = [{"path": pool.paths[i], "name": copy_name(rank, pool.paths[i]), "uncertainty": float(uncertainty[i]),
             "classes": [model.class_names[k] for k in np.unique(maps[i])]} for rank, i in enumerate(chosen, start=1)]
    items = [{**row, "class_map": maps[i]} for row, i in zip(rows, chosen)]

    def prelabels(folder):
        write_mask_data(folder, table, items)

    def report():
        return _report(run, model, rows, pool, len(paths), {row["path"]: item["class_map"]
                                                            for row, item in zip(rows, items)})

    return rows, write_suggestions(options["output"], prelabels, report)


def pixel_answers(model, part):
    """`(class maps, uncertainty)`: per image of `part` (any set of images) the model's class map at the image's own
    size and the mean over its pixels of one minus the margin between their two likeliest classes (calibrated, 0 to
    1)."""
    segment = make_segment(model)

    def answer(images):
        out = segment(images)
        top = tf.math.top_k(out["probabilities"], k=min(2, model.num_classes)).values
        margin = top[..., 0] - (top[..., 1] if model.num_classes > 1 else 0.0)
        return {"class_map": out["class_map"], "uncertainty": tf.reduce_mean(1.0 - margin, axis=[1, 2])}

    maps, uncertainty = [], []
    for out in answers(answer, part):
        maps.append(out["class_map"].astype(np.uint8))
        uncertainty.append(float(out["uncertainty"]))
    return maps, np.asarray(uncertainty)


def _report(run, model, rows, pool, offered, maps):
    how = ("The images whose pixels the model is least sure of (the mean over an image's pixels of one minus the "
           "margin between their two likeliest classes) are the candidates, four per suggestion. " + CHOICE
           + "The pre-labels are the model's class maps, written as mask PNGs in data/masks/ (encoded as the run's "
           "own masks are) beside the images in data/images/, with data/dataset.yaml naming the classes (read them "
           "with `--data data/dataset.yaml`): correct them in a labelling tool, then add the images to the data.")
    return suggestions_report(
        run, rows, pool, offered, how, ["classes in the pre-label", "uncertainty", "copied to"],
        lambda r: [", ".join(r["classes"]), r["uncertainty"], os.path.join("data", "images", r["name"])],
        lambda r, image: (overlay(image, maps[r["path"]], model.colours), f"uncertainty {r['uncertainty']:.2f}"))
