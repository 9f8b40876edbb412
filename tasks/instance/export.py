"""Export a trained instance segmenter as a SavedModel returning each object's box and mask.

    trident instance export --run runs/instance-shapes-compact
    trident instance export --run RUN --confidence 0.3 --iou 0.5 --max-detections 500

`serving_default` takes uint8 images of any size and returns `boxes` (xyxy in the input's own
pixels), `scores`, `classes`, `num_detections` and `masks` (uint8 [B, N, H, W], 1 = the object,
at the input's own size): letterbox, network, decoding, NMS and mask assembly all inside.
`serve_bytes` takes encoded images. The export is reloaded and compared with the Keras model on
held-out images before it is kept: boxes and scores within the tolerance, masks equal pixel for
pixel but for pixels on a mask's edge (whose probability is within 1e-3 of the threshold).
"""

import os

import tensorflow as tf

from shared.data.decode import MAX_PIXELS
from shared.actions.export import open_export
from shared.detector.compare import detection_difference
from shared.export.saved_model import endpoints, export_verified, make_compare
from tasks.instance.inference import segment_with

# Pixels whose mask disagrees between two runtimes, as a share of a mask's area, still counted as the
# same mask: float rounding moves a logit across 0 only on the mask's edge.
EDGE_SHARE = 0.02


def instance_difference(served, expected, image):
    """`detection_difference` of two answers for one image, where a detection and its partner (the same
    box) must also have the same mask but for at most `EDGE_SHARE` of its area (at least one pixel).
    Runtimes of a fixed image size return a mask for every slot; only the found ones are compared."""

    def masks(i, j):
        ours, theirs = served["masks"][0, i], expected["masks"][0, j]
        if ours.shape != theirs.shape:
            return float("inf")
        return 0.0 if (ours != theirs).sum() <= max(1, EDGE_SHARE * theirs.sum()) else float("inf")

    return detection_difference(served, expected, image, masks)


def export_run(task, run, output_dir="saved_models", name=None, compare_images=3, formats=("saved_model",),
               record=True, max_pixels=MAX_PIXELS, confidence=0.25, iou=0.6, max_detections=300):
    model, images = open_export(run, task, compare_images)
    decoder = model.decoder(score_threshold=confidence, iou_threshold=iou, max_detections=max_detections)
    segment = segment_with(model, decoder)
    manifest = {
        "task": task.name, "run": run.path, "class_names": model.class_names, "image_size": model.image_size,
        "score_threshold": confidence, "iou_threshold": iou, "max_detections": max_detections,
        "mask_stride": model.mask_stride, "calibration": dict(model.calibration),
        "decoder": {k: v for k, v in decoder.get_config().items() if k not in ("name", "trainable", "dtype")},
        "endpoints": endpoints("boxes [B, M, 4] xyxy in input pixels, scores [B, M], classes [B, M] (-1 = empty), "
                               "num_detections [B], masks uint8 [B, N, H, W] (N = the most detections of an image "
                               "of the batch; 1 = the object)", sizes="one size per batch"),
    }
    return export_verified(output_dir, name or os.path.basename(run.path), model, segment, manifest,
                           make_compare(model, tf.function(segment), images, instance_difference),
                           labels=model.class_names, tolerance=1e-3, run=run if record else None, formats=formats,
                           max_pixels=max_pixels)
