"""Export a trained classifier as a SavedModel that serves end to end.

    trident classification export --run runs/classification-digits-compact
    trident classification export --run RUN --output-dir saved_models --name digits

Writes saved_models/<name>/<version>/ (TF Serving layout). `serving_default` takes
uint8 images of any size, `serve_bytes` encoded JPEG/PNG/BMP/GIF; both return
`probabilities`, `class_ids`, `class_names` and `scores` (resizing inside). The export
is reloaded and compared with the Keras model on held-out images before it is kept.
"""

import argparse
import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.classification import load_classification_data
from shared.data.preprocess import resize_images
from shared.data.recorded import run_splits
from shared.export import export_verified
from shared.io import write_json
from shared.runs import open_run
from shared.training import load_checkpoint
from tasks.classification import model as _model  # noqa: F401  (registers ImageClassifier for loading)


def get_args_parser():
    parser = argparse.ArgumentParser("trident classification export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--compare-images", type=int, default=8, help="held-out images to compare on")
    return parser


def make_serve(model):
    """The end-to-end function: uint8 images of any size -> probabilities and names."""
    names = tf.constant(model.class_names)
    size = model.image_size

    def serve(images):
        probabilities = model(resize_images(images, size), training=False)
        class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "probabilities": probabilities,
            "class_ids": class_ids,
            "class_names": tf.gather(names, class_ids),
            "scores": tf.reduce_max(probabilities, axis=-1),
        }

    return serve


def held_out_images(run, limit):
    """Up to `limit` original-size images from the run's test (else val) split."""
    config = run.config()
    splits, _ = run_splits(run, lambda val, test: load_classification_data(config["data"], config["seed"], val, test))
    part = splits["test"] if len(splits["test"]) else splits["val"]
    if len(part) == 0:
        part = splits["train"]
    return [part.image(i) for i in range(min(limit, len(part)))]


def make_compare(model, images):
    """Compare the reloaded export's two endpoints with the Keras model, image by image."""

    def compare(loaded):
        worst = 0.0
        for image in images:
            expected = np.asarray(model.predict_on_batch(resize_images(image[None], model.image_size)))
            served = loaded.signatures["serving_default"](images=tf.constant(image[None]))
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            from_bytes = loaded.serve_bytes(tf.constant([buffer.getvalue()]))
            worst = max(worst, float(np.abs(served["probabilities"].numpy() - expected).max()),
                        float(np.abs(from_bytes["probabilities"].numpy() - expected).max()))
        return worst, len(images)

    return compare


def export_run(run, output_dir="saved_models", name=None, compare_images=8):
    model = load_checkpoint(run.best_or_last())
    images = held_out_images(run, compare_images)
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
    path, manifest = export_verified(output_dir, name or os.path.basename(run.path), model, make_serve(model),
                                     manifest, make_compare(model, images), labels=model.class_names)
    write_json(run.file("export.json"), {"path": os.path.abspath(path), **manifest})
    return path, manifest


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    path, manifest = export_run(open_run(args.run), args.output_dir, args.name, args.compare_images)
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} held-out images, "
          f"max |difference| {manifest['max_abs_diff']:.2e}")
    return path


if __name__ == "__main__":
    main()
