"""Benchmark a detector's export formats side by side: COCO AP on the validation split,
latency, throughput, size and parity with the Keras model.

    trident detection benchmark --run runs/detection-shapes-compact

Every runtime detects on the images letterboxed to the model's size, scored with
pycocotools against the boxes letterboxed the same way. Without --export, a fresh export
with every format is written into RUN/benchmark/export first, keeping detections down to
score 0.001 as COCO evaluation does (a given --export keeps its own threshold).
"""

import numpy as np

from shared.actions.benchmark import median_ms
from shared.data.letterbox import letterbox
from shared.data.preprocess import uint8_at_size
from shared.detector.metrics import coco_evaluate, coco_ground_truth, coco_results
from tasks.detection.evaluate import EVAL_SCORE_THRESHOLD
from tasks.detection.inference import detect_with


def prepare(split, size, limit):
    count = min(limit, len(split))
    images, boxes = [], []
    for i in range(count):
        image, scale = uint8_at_size(split.image(i), size, letterboxed=True)
        images.append(image)
        boxes.append(np.asarray(split.boxes[i], np.float32).reshape(-1, 4) * scale)
    return np.stack(images), (boxes, split.labels[:count], split.class_names, size)


def score(answers, truths):
    boxes, labels, names, size = truths
    detections = []
    for answer in answers:
        n = int(answer["num_detections"])
        detections.append((answer["boxes"][:n], answer["scores"][:n], answer["classes"][:n]))
    coco = coco_evaluate(coco_ground_truth(boxes, labels, [(size, size)] * len(boxes), names),
                         coco_results(detections))
    return {"AP": coco["AP"], "AP50": coco["AP50"]}


def stages(model, split, calls):
    """Median ms of each stage of one image's detection: letterboxing the photo (its own size), the
    backbone, neck and head (the network less the backbone), box decoding, and NMS with the rest
    of the decoder (top-k, gathers)."""
    import tensorflow as tf


    decoder = model.decoder(score_threshold=EVAL_SCORE_THRESHOLD, iou_threshold=0.6, max_detections=100)
    photos = [tf.constant(split.image(i)[None]) for i in range(min(5, len(split)))]
    inputs = letterbox(photos[0], model.image_size)[0]
    raw = model(inputs, training=False)
    box = tf.function(lambda images: letterbox(images, model.image_size)[0], reduce_retracing=True)
    backbone = tf.function(lambda x: model.backbone(x, training=False))
    network = tf.function(lambda x: model(x, training=False))
    decode = tf.function(lambda r: decoder.boxes_and_logits(r)[:2])
    everything = tf.function(decoder)
    timed = {"letterbox": median_ms(lambda i: box(photos[i % len(photos)]), calls),
             "backbone": median_ms(lambda i: backbone(inputs), calls),
             "network": median_ms(lambda i: network(inputs), calls),
             "decode": median_ms(lambda i: decode(raw), calls),
             "decoder": median_ms(lambda i: everything(raw), calls)}
    return [("letterbox", timed["letterbox"]), ("backbone", timed["backbone"]),
            ("neck and head", timed["network"] - timed["backbone"]), ("decode boxes", timed["decode"]),
            ("top-k, NMS, gathers", timed["decoder"] - timed["decode"])]


def serve(model, manifest):
    """The detector at the export's own decoder settings (a fresh export's: score 0.001, as COCO evaluation)."""
    return detect_with(model, model.decoder(score_threshold=manifest.get("score_threshold", EVAL_SCORE_THRESHOLD),
                                            iou_threshold=manifest.get("iou_threshold", 0.6),
                                            max_detections=manifest.get("max_detections", 100)))
