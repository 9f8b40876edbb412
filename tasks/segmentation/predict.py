"""Segment images: write each class map as an index PNG and a colour overlay.

    trident segmentation predict --model runs/segmentation-shapes-compact img.png photos/
    trident segmentation predict --model saved_models/segmentation-shapes-compact photos/ --output out/

For each image, OUTPUT/<stem>_classes.png holds class ids as pixel values (a palette
PNG: it opens as a picture, and its values are the ids), OUTPUT/<stem>_overlay.png the
image with classes painted in, and OUTPUT/summary.json the share of pixels per class.
"""

import os

import numpy as np
from PIL import Image

from shared.data.segmentation import DEFAULT_COLOURS
from shared.explain.explainer import region_score
from shared.io import write_bytes
from shared.reports.draw import overlay, png_bytes


MAX_EXPLAINED = 5  # heat maps per image: the classes covering most pixels


def add_arguments(parser):
    parser.add_argument("--output", default="predictions", help="folder for class maps, overlays and summary.json")
    parser.add_argument("--explain", action="store_true",
                        help="also write, per class found (background aside), a heat map of what made the model "
                             "paint it: OUTPUT/<stem>_why_<class>.png (run folders only)")


def colours_of(predictor):
    """The class colours of a run's model or an export's manifest (a foreign export: the default palette)."""
    if predictor.model is not None:
        return predictor.model.colours
    return (predictor.manifest.get("colours")
            or [DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i in range(len(predictor.class_names))])


def predictions(options, predictor, explainer):
    """`predict`'s handler: write an image's class map and overlay (see `shared.task.Task.predictions`)."""
    names, colours, output = predictor.class_names, colours_of(predictor), options["output"]
    palette = [int(v) for colour in colours for v in colour]

    def handle(path, image):
        class_map = predictor.answer(image[None])["class_map"][0].astype(np.uint8)
        stem = os.path.join(output, os.path.splitext(os.path.basename(path))[0])
        index_png = Image.fromarray(class_map, mode="P")
        index_png.putpalette(palette + [0] * (768 - len(palette)))
        write_bytes(f"{stem}_classes.png", png_bytes(index_png))
        write_bytes(f"{stem}_overlay.png", png_bytes(Image.fromarray(overlay(image, class_map, colours))))
        counts = np.bincount(class_map.reshape(-1), minlength=len(names))
        shares = {names[k]: round(float(c) / class_map.size, 4) for k, c in enumerate(counts) if c}
        print(f"{path}: " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])))
        answer = {"image": path, "class_map": f"{stem}_classes.png", "overlay": f"{stem}_overlay.png",
                  "pixel_share": shares}
        if explainer is not None:
            found = [int(k) for k in np.argsort(-counts) if counts[k] and k != 0][:MAX_EXPLAINED]
            answer["explanations"] = {names[k]: explainer.write(output, path, image,
                                                                explainer.image(image, region_score(k)), names[k])
                                      for k in found}
        return answer

    return handle, os.path.join(output, "summary.json"), f"Class maps, overlays and summary.json in {output}"
