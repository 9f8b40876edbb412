"""Export a trained detector as a SavedModel returning final boxes.

    trident detection export --run runs/detection-shapes-compact
    trident detection export --run RUN --confidence 0.3 --iou 0.5 --max-detections 50

`serving_default` takes uint8 images of any size and returns `boxes` (xyxy in the
input's own pixels), `scores`, `classes`, `num_detections`: letterbox, model, decoding
and NMS (`NonMaxSuppressionV5`, which TFLite and ONNX also have) all inside.
`serve_bytes` takes encoded images. The export is reloaded and compared with the Keras
model on held-out images before it is kept.
"""

import os

import numpy as np
import tensorflow as tf

from shared.data.boxes import box_iou
from shared.actions.export import open_export
from shared.export.saved_model import endpoints, export_verified, make_compare
from tasks.detection.inference import detect_with





# Scores closer than this are tied. Which of two tied, overlapping boxes NMS keeps is arbitrary, and
# two runtimes whose scores differ by float rounding (about 1e-7) may keep the other one.
TIE = 1e-5


def detection_difference(served, expected, image):
    """The largest box or score difference between two answers for one image, detections paired
    by class and score; inf when the counts differ, a detection has no partner, or more than a
    tenth of them (at least one) were tie-broken the other way.

    A tie broken the other way: the partner has the same class and a tied score (within `TIE`)
    and overlaps it (IoU >= 0.5), but is another box; such pairs add no difference.
    """
    count = int(expected["num_detections"][0])
    if int(served["num_detections"][0]) != count:
        return float("inf")
    ours = [(served["classes"][0, i], served["scores"][0, i], served["boxes"][0, i]) for i in range(count)]
    theirs = [(expected["classes"][0, i], expected["scores"][0, i], expected["boxes"][0, i]) for i in range(count)]
    worst, ties = 0.0, 0
    for cls, score, box in ours:
        partners = [j for j, (c, s, _) in enumerate(theirs) if c == cls and abs(float(s - score)) <= 1e-3]
        if not partners:
            return float("inf")
        j = min(partners, key=lambda j: float(np.abs(theirs[j][2] - box).max()))
        gap, shift = float(np.abs(theirs[j][2] - box).max()), abs(float(theirs[j][1] - score))
        if gap <= 0.01:  # the same box (differences above the export's tolerance still fail it)
            worst = max(worst, gap, shift)
        elif shift <= TIE and box_iou(theirs[j][2], box) >= 0.5:
            ties += 1
        else:
            return float("inf")
        theirs.pop(j)
    return worst if ties <= max(1, count // 10) else float("inf")


def export_run(task, run, output_dir="saved_models", name=None, compare_images=6, formats=("saved_model",),
               record=True, confidence=0.25, iou=0.6, max_detections=100):
    model, images = open_export(run, task, compare_images)
    decoder = model.decoder(score_threshold=confidence, iou_threshold=iou, max_detections=max_detections)
    detect = detect_with(model, decoder)
    manifest = {
        "task": "detection", "run": run.path, "class_names": model.class_names, "image_size": model.image_size,
        "score_threshold": confidence, "iou_threshold": iou, "max_detections": max_detections,
        "decoder": {k: v for k, v in decoder.get_config().items() if k not in ("name", "trainable", "dtype")},
        "endpoints": endpoints("boxes [B, M, 4] xyxy in input pixels, scores [B, M], classes [B, M] "
                               "(-1 = empty), num_detections [B]"),
    }
    return export_verified(output_dir, name or os.path.basename(run.path), model, detect, manifest,
                           make_compare(model, tf.function(detect), images, detection_difference),
                           labels=model.class_names, tolerance=1e-3, run=run if record else None, formats=formats)
