"""Export a trained segmenter as a SavedModel returning a class map at the input's own size.

    trident segmentation export --run runs/segmentation-shapes-compact

`serving_default` takes uint8 images of any size and returns `class_map` (int32
[B, H, W], the input's size) and `probabilities` ([B, H, W, C]); resizing in and out
happens inside. `serve_bytes` takes encoded images (one size per call). The export is
reloaded and compared with the Keras model at two different sizes before it is kept.
"""

import argparse
import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.recorded import run_splits
from shared.data.segmentation import load_segmentation_data
from shared.export import export_verified
from shared.io import write_json
from shared.runs import open_run
from shared.training import load_checkpoint
from tasks.segmentation import model as _model  # noqa: F401  (registers SemanticSegmenter for loading)
from tasks.segmentation.inference import make_segment


def get_args_parser():
    parser = argparse.ArgumentParser("trident segmentation export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--compare-images", type=int, default=3)
    return parser


def comparison_images(run, limit):
    """Held-out images at their own size and at a second, non-square size."""
    config = run.config()
    splits, _ = run_splits(run, lambda val, test: load_segmentation_data(
        config["data"], config["seed"], val, test, config.get("images"), config["image_size"]))
    part = next(splits[s] for s in ("test", "val", "train") if len(splits[s]))
    images = []
    for i in range(min(limit, len(part))):
        image = part.image(i)
        height, width = image.shape[:2]
        other = (max(8, int(width * 0.75) + 5), max(8, int(height * 1.25)))
        images += [image, np.asarray(Image.fromarray(image).resize(other, Image.BILINEAR))]
    return images


def make_compare(segment, images):
    def compare(loaded):
        worst = 0.0
        for image in images:
            expected = {k: v.numpy() for k, v in segment(tf.constant(image[None])).items()}
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            for served in (loaded.signatures["serving_default"](images=tf.constant(image[None])),
                           loaded.serve_bytes(tf.constant([buffer.getvalue()]))):
                served = {k: v.numpy() for k, v in served.items()}
                if served["class_map"].shape != (1, *image.shape[:2]):
                    return float("inf"), len(images)
                worst = max(worst, float(np.abs(served["probabilities"] - expected["probabilities"]).max()))
        return worst, len(images)

    return compare


def export_run(run, output_dir="saved_models", name=None, compare_images=3):
    model = load_checkpoint(run.best_or_last())
    segment = make_segment(model)
    images = comparison_images(run, compare_images)
    manifest = {
        "task": "segmentation", "run": run.path, "class_names": model.class_names, "colours": model.colours,
        "image_size": model.image_size, "compared_sizes": sorted({tuple(i.shape[:2]) for i in images}),
        "endpoints": {
            "serving_default": "images: uint8 [B, H, W, 3], any size -> class_map int32 [B, H, W] at the input's "
                               "size, probabilities float32 [B, H, W, C]",
            "serve_bytes": "image_bytes: string [B] (images of one size per call) -> the same outputs",
        },
    }
    path, manifest = export_verified(output_dir, name or os.path.basename(run.path), model, segment, manifest,
                                     make_compare(tf.function(segment, reduce_retracing=True), images),
                                     labels=model.class_names)
    write_json(run.file("export.json"), {"path": os.path.abspath(path), **manifest})
    return path, manifest


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    path, manifest = export_run(open_run(args.run), args.output_dir, args.name, args.compare_images)
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} images at sizes "
          f"{manifest['compared_sizes']}, max |difference| {manifest['max_abs_diff']:.2e}")
    return path


if __name__ == "__main__":
    main()
