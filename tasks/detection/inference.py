"""End-to-end detection, the one function `predict`, `evaluate` and the export all run."""

import tensorflow as tf

from shared.data.letterbox import letterbox


def make_detect(model, score_threshold=None, iou_threshold=None, max_detections=None, multi_label=False):
    """`detect_with` a decoder built from the model's NMS settings and the ones given here."""
    decoder = model.decoder(score_threshold=score_threshold, iou_threshold=iou_threshold,
                            max_detections=max_detections, multi_label=multi_label)
    return detect_with(model, decoder)


def detect_with(model, decoder):
    """`detect(images uint8 [B, H, W, 3]) -> dict` with boxes in the images' own pixels.

    Letterbox, model, `decoder` (a `DetectionDecoder`: decoding and NMS) all happen inside,
    so the same graph serves from Python and from the SavedModel. Outputs: `boxes [B, M, 4]`
    xyxy, `scores [B, M]`, `classes [B, M]` (-1 where empty), `num_detections [B]`.
    Evaluation asks its decoder for `multi_label` and a low threshold, as COCO scoring
    expects; `predict` and the export for one class per box.
    """

    def detect(images):
        shape = tf.shape(images)
        height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
        inputs, scale = letterbox(images, model.image_size)
        out = decoder(model(inputs, training=False))
        boxes = out["boxes"] / scale
        boxes = tf.stack([tf.clip_by_value(boxes[..., 0], 0.0, width), tf.clip_by_value(boxes[..., 1], 0.0, height),
                          tf.clip_by_value(boxes[..., 2], 0.0, width), tf.clip_by_value(boxes[..., 3], 0.0, height)],
                         axis=-1)
        boxes = tf.where(out["classes"][..., None] >= 0, boxes, 0.0)
        return {"boxes": boxes, "scores": out["scores"], "classes": out["classes"],
                "num_detections": out["num_detections"]}

    return detect
