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

import tensorflow as tf

from shared.data.decode import MAX_PIXELS
from shared.actions.export import open_export
from shared.detector.compare import detection_difference
from shared.export.saved_model import endpoints, export_verified, make_compare
from tasks.detection.inference import detect_with


def export_run(task, run, output_dir="saved_models", name=None, compare_images=6, formats=("saved_model",),
               record=True, max_pixels=MAX_PIXELS, confidence=0.25, iou=0.6, max_detections=100):
    model, images = open_export(run, task, compare_images)
    decoder = model.decoder(score_threshold=confidence, iou_threshold=iou, max_detections=max_detections)
    detect = detect_with(model, decoder)
    manifest = {
        "task": "detection", "run": run.path, "class_names": model.class_names, "image_size": model.image_size,
        "score_threshold": confidence, "iou_threshold": iou, "max_detections": max_detections,
        "calibration": dict(model.calibration),
        "decoder": {k: v for k, v in decoder.get_config().items() if k not in ("name", "trainable", "dtype")},
        "endpoints": endpoints("boxes [B, M, 4] xyxy in input pixels, scores [B, M], classes [B, M] "
                               "(-1 = empty), num_detections [B]"),
    }
    return export_verified(output_dir, name or os.path.basename(run.path), model, detect, manifest,
                           make_compare(model, tf.function(detect), images, detection_difference),
                           labels=model.class_names, tolerance=1e-3, run=run if record else None, formats=formats,
                           max_pixels=max_pixels)
