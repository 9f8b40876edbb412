"""Export a trained detector as a SavedModel returning final boxes.

    trident detection export --run runs/detection-shapes-compact
    trident detection export --run RUN --confidence 0.3 --iou 0.5 --max-detections 50

`serving_default` takes uint8 images of any size and returns `boxes` (xyxy in the
input's own pixels), `scores`, `classes`, `num_detections`: letterbox, model, decoding
and NMS (`non_max_suppression_padded`, which TFLite and ONNX also convert) all inside.
`serve_bytes` takes encoded images. The export is reloaded and compared with the Keras
model on held-out images before it is kept.
"""

import argparse
import os

import numpy as np
import tensorflow as tf

from shared.config import positive_int
from shared.data.detection import load_detection_data
from shared.export import export_verified, held_out_images, make_compare
from shared.runs import open_run
from shared.task_model import load_checkpoint
from tasks.detection.inference import detect_with


def get_args_parser():
    parser = argparse.ArgumentParser("trident detection export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--confidence", type=float, default=0.25, help="lowest score returned")
    parser.add_argument("--iou", type=float, default=0.6, help="NMS IoU threshold")
    parser.add_argument("--max-detections", type=int, default=100)
    parser.add_argument("--compare-images", type=positive_int, default=6)
    return parser


def detection_difference(served, expected, image):
    """Same count and classes, then the largest box or score difference (inf otherwise)."""
    if served["num_detections"][0] != expected["num_detections"][0] or \
            not np.array_equal(served["classes"], expected["classes"]):
        return float("inf")
    return max(float(np.abs(served["boxes"] - expected["boxes"]).max()),
               float(np.abs(served["scores"] - expected["scores"]).max()))


def export_run(run, output_dir="saved_models", name=None, confidence=0.25, iou=0.6, max_detections=100,
               compare_images=6):
    model = load_checkpoint(run.best_or_last())
    config = run.config()
    images = held_out_images(run, lambda val, test: load_detection_data(
        config["data"], config["seed"], val, test, config.get("images"), config["image_size"]), compare_images)
    decoder = model.decoder(score_threshold=confidence, iou_threshold=iou, max_detections=max_detections)
    detect = detect_with(model, decoder)
    manifest = {
        "task": "detection", "run": run.path, "class_names": model.class_names, "image_size": model.image_size,
        "score_threshold": confidence, "iou_threshold": iou, "max_detections": max_detections,
        "decoder": {k: v for k, v in decoder.get_config().items() if k not in ("name", "trainable", "dtype")},
        "endpoints": {
            "serving_default": "images: uint8 [B, H, W, 3], any size (one size per batch) -> boxes [B, M, 4] xyxy "
                               "in input pixels, scores [B, M], classes [B, M] (-1 = empty), num_detections [B]",
            "serve_bytes": "image_bytes: string [B] (JPEG/PNG/BMP/GIF) -> the same outputs",
        },
    }
    path, manifest = export_verified(output_dir, name or os.path.basename(run.path), model, detect, manifest,
                                     make_compare(tf.function(detect), images, detection_difference),
                                     labels=model.class_names, tolerance=1e-3, run=run)
    return path, manifest


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    path, manifest = export_run(open_run(args.run), args.output_dir, args.name, args.confidence, args.iou,
                                args.max_detections, args.compare_images)
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} held-out images, "
          f"max |difference| {manifest['max_abs_diff']:.2e}")
    return path


if __name__ == "__main__":
    main()
