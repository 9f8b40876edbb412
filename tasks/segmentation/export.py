"""Export a trained segmenter as a SavedModel returning a class map at the input's own size.

    trident segmentation export --run runs/segmentation-shapes-compact

`serving_default` takes uint8 images of any size and returns `class_map` (int32
[B, H, W], the input's size) and `probabilities` ([B, H, W, C]); resizing in and out
happens inside. `serve_bytes` takes encoded images (one size per call). The export is
reloaded and compared with the Keras model at two different sizes before it is kept.
"""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.decode import MAX_PIXELS
from shared.actions.export import open_export
from shared.export.saved_model import endpoints, export_verified, make_compare
from tasks.segmentation.inference import make_segment





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


def export_run(task, run, output_dir="saved_models", name=None, compare_images=3, formats=("saved_model",),
               record=True, max_pixels=MAX_PIXELS):
    model, images = open_export(run, task, compare_images)
    images = images.replaced(with_second_sizes(images))
    segment = make_segment(model)
    manifest = {
        "task": "segmentation", "run": run.path, "class_names": model.class_names, "colours": model.colours,
        "image_size": model.image_size, "calibration": dict(model.calibration),
        "compared_sizes": sorted({tuple(i.shape[:2]) for i in images}),
        "endpoints": endpoints("class_map int32 [B, H, W] at the input's size, probabilities float32 "
                               "[B, H, W, C]", sizes="images of one size per call"),
    }
    return export_verified(output_dir, name or os.path.basename(run.path), model, segment, manifest,
                           make_compare(model, tf.function(segment, reduce_retracing=True), images,
                                        segmentation_difference),
                           labels=model.class_names, run=run if record else None, formats=formats,
                           max_pixels=max_pixels)
