"""Export a trained classifier as a SavedModel that serves end to end.

    trident classification export --run runs/classification-digits-compact
    trident classification export --run RUN --output-dir saved_models --name digits

Writes saved_models/<name>/<version>/ (TF Serving layout). `serving_default` takes
uint8 images of any size, `serve_bytes` encoded JPEG/PNG/BMP/GIF; both return
`probabilities`, `class_ids`, `class_names` and `scores` (resizing inside). The export
is reloaded and compared with the Keras model on held-out images before it is kept.
"""

import os

import numpy as np
import tensorflow as tf

from shared.data.decode import MAX_PIXELS
from shared.actions.export import open_export
from shared.export.saved_model import endpoints, export_verified, make_compare
from tasks.classification.inference import make_classify





def probability_difference(served, expected, image):
    return float(np.abs(served["probabilities"] - expected["probabilities"]).max())


def export_run(task, run, output_dir="saved_models", name=None, compare_images=8, formats=("saved_model",),
               record=True, max_pixels=MAX_PIXELS):
    model, images = open_export(run, task, compare_images)
    classify = make_classify(model)
    manifest = {"task": "classification", "run": run.path, "class_names": model.class_names,
                "image_size": model.image_size, "calibration": dict(model.calibration),
                "endpoints": endpoints("probabilities [B, C], class_ids [B], class_names [B], scores [B]")}
    return export_verified(output_dir, name or os.path.basename(run.path), model, classify, manifest,
                           make_compare(model, tf.function(classify), images, probability_difference),
                           labels=model.class_names, run=run if record else None, formats=formats,
                           max_pixels=max_pixels)
