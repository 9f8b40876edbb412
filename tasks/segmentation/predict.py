"""Segment images: write each class map as an index PNG and a colour overlay.

    trident segmentation predict --model runs/segmentation-shapes-compact img.png photos/
    trident segmentation predict --model saved_models/segmentation-shapes-compact photos/ --output out/

For each image, OUTPUT/<stem>_classes.png holds class ids as pixel values (a palette
PNG: it opens as a picture, and its values are the ids), OUTPUT/<stem>_overlay.png the
image with classes painted in, and OUTPUT/summary.json the share of pixels per class.
"""

import argparse
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.errors import fail
from shared.io import write_bytes, write_json
from shared.predict_inputs import expand_images, for_each_image, model_kind, report_failures
from shared.reports.draw import png_bytes
from tasks.segmentation import model as _model  # noqa: F401  (registers SemanticSegmenter for loading)
from tasks.segmentation.evaluate import overlay


def get_args_parser():
    parser = argparse.ArgumentParser("trident segmentation predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="run folder or SavedModel folder")
    parser.add_argument("images", nargs="+", help="image files or folders")
    parser.add_argument("--output", default="predictions", help="folder for class maps, overlays and summary.json")
    return parser


def load_segmenter(path):
    """`(segment(uint8 [1, H, W, 3]) -> class map [H, W], class_names, colours)` for a run or an export."""
    if model_kind(path) == "run":
        from shared.runs import open_run
        from shared.training import load_checkpoint
        from tasks.segmentation.inference import make_segment

        model = load_checkpoint(open_run(path).best_or_last())
        segment = tf.function(make_segment(model), reduce_retracing=True)
        return (lambda images: segment(tf.constant(images))["class_map"][0].numpy()), model.class_names, model.colours
    from shared.export import read_export_manifest, resolve_saved_model

    folder = resolve_saved_model(path)
    manifest = read_export_manifest(folder)
    if "class_names" not in manifest:
        fail(f"SavedModel {folder} has no assets.extra/trident.json", "Export it with `trident segmentation export`",
             model=path)
    serve = tf.saved_model.load(folder).signatures["serving_default"]
    return ((lambda images: serve(images=tf.constant(images))["class_map"][0].numpy()), manifest["class_names"],
            manifest["colours"])


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    paths = expand_images(args.images)
    segment, names, colours = load_segmenter(args.model)
    palette = [int(v) for colour in colours for v in colour]

    def handle(path, image):
        class_map = segment(image[None]).astype(np.uint8)
        stem = os.path.join(args.output, os.path.splitext(os.path.basename(path))[0])
        index_png = Image.fromarray(class_map, mode="P")
        index_png.putpalette(palette + [0] * (768 - len(palette)))
        write_bytes(f"{stem}_classes.png", png_bytes(index_png))
        write_bytes(f"{stem}_overlay.png", png_bytes(Image.fromarray(overlay(image, class_map, colours))))
        counts = np.bincount(class_map.reshape(-1), minlength=len(names))
        shares = {names[k]: round(float(c) / class_map.size, 4) for k, c in enumerate(counts) if c}
        print(f"{path}: " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])))
        return {"image": path, "class_map": f"{stem}_classes.png", "overlay": f"{stem}_overlay.png",
                "pixel_share": shares}

    results, failed = for_each_image(paths, handle)
    write_json(os.path.join(args.output, "summary.json"), results)
    print(f"Class maps, overlays and summary.json in {args.output}")
    report_failures(failed, len(paths))
    return results


if __name__ == "__main__":
    main()
