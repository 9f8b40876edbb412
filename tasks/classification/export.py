"""Export a trained classifier as a SavedModel that serves end to end.

    trident classification export --run runs/classification-digits-compact
    trident classification export --run RUN --output-dir saved_models --name digits

Writes saved_models/<name>/<version>/ (TF Serving layout). `serving_default` takes
uint8 images of any size, `serve_bytes` encoded JPEG/PNG/BMP/GIF; both return
`probabilities`, `class_ids`, `class_names` and `scores` (resizing inside). The export
is reloaded and compared with the Keras model on held-out images before it is kept.
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from shared.config import positive_int
from shared.data.classification import load_classification_data
from shared.export import export_verified, held_out_images, make_compare
from shared.runs import open_run
from shared.task_model import load_checkpoint
from tasks.classification.inference import make_classify


def get_args_parser():
    parser = argparse.ArgumentParser("trident classification export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--compare-images", type=positive_int, default=8, help="held-out images to compare on")
    return parser


def probability_difference(served, expected, image):
    return float(np.abs(served["probabilities"] - expected["probabilities"]).max())


def export_run(run, output_dir="saved_models", name=None, compare_images=8):
    model = load_checkpoint(run.best_or_last())
    config = run.config()
    images = held_out_images(run, lambda val, test: load_classification_data(config["data"], config["seed"], val, test),
                             compare_images)
    classify = make_classify(model)
    manifest = {
        "task": "classification",
        "run": run.path,
        "class_names": model.class_names,
        "image_size": model.image_size,
        "endpoints": {
            "serving_default": "images: uint8 [B, H, W, 3], any size -> probabilities [B, C], "
                               "class_ids [B], class_names [B], scores [B]",
            "serve_bytes": "image_bytes: string [B] (JPEG/PNG/BMP/GIF) -> the same outputs",
        },
    }
    path, manifest = export_verified(output_dir, name or os.path.basename(run.path), model, classify, manifest,
                                     make_compare(tf.function(classify), images, probability_difference),
                                     labels=model.class_names, run=run)
    return path, manifest


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    path, manifest = export_run(open_run(args.run), args.output_dir, args.name, args.compare_images)
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} held-out images, "
          f"max |difference| {manifest['max_abs_diff']:.2e}")
    return path


if __name__ == "__main__":
    main()
