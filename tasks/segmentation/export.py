"""Export a trained segmenter as a SavedModel returning a class map at the input's own size.

    trident segmentation export --run runs/segmentation-shapes-compact

`serving_default` takes uint8 images of any size and returns `class_map` (int32
[B, H, W], the input's size) and `probabilities` ([B, H, W, C]); resizing in and out
happens inside. `serve_bytes` takes encoded images (one size per call). The export is
reloaded and compared with the Keras model at two different sizes before it is kept.
"""

import argparse
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.config import positive_int
from shared.data.segmentation import load_segmentation_data
from shared.export import export_verified, held_out_images, make_compare
from shared.runs import open_run
from shared.task_model import load_checkpoint
from tasks.segmentation.inference import make_segment


def get_args_parser():
    parser = argparse.ArgumentParser("trident segmentation export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--compare-images", type=positive_int, default=3)
    return parser


def with_second_sizes(images):
    """Each image at its own size and at a second, non-square size."""
    both = []
    for image in images:
        height, width = image.shape[:2]
        other = (max(8, int(width * 0.75) + 5), max(8, int(height * 1.25)))
        both += [image, np.asarray(Image.fromarray(image).resize(other, Image.BILINEAR))]
    return both


def segmentation_difference(served, expected, image):
    """The largest probability difference; inf when the class map is not at the image's size."""
    if served["class_map"].shape != (1, *image.shape[:2]):
        return float("inf")
    return float(np.abs(served["probabilities"] - expected["probabilities"]).max())


def export_run(run, output_dir="saved_models", name=None, compare_images=3):
    model = load_checkpoint(run.best_or_last())
    segment = make_segment(model)
    config = run.config()
    images = with_second_sizes(held_out_images(run, lambda val, test: load_segmentation_data(
        config["data"], config["seed"], val, test, config.get("images"), config["image_size"]), compare_images))
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
                                     make_compare(tf.function(segment, reduce_retracing=True), images,
                                                  segmentation_difference),
                                     labels=model.class_names, run=run)
    return path, manifest


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    path, manifest = export_run(open_run(args.run), args.output_dir, args.name, args.compare_images)
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} images at sizes "
          f"{manifest['compared_sizes']}, max |difference| {manifest['max_abs_diff']:.2e}")
    return path


if __name__ == "__main__":
    main()
