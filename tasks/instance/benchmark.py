"""Benchmark an instance segmenter's export formats side by side: COCO mask and box AP on held-out
images letterboxed to the model's size, latency, throughput, size and parity with the Keras model.

    trident instance benchmark --run runs/instance-shapes-compact
"""

import numpy as np

from shared.data.preprocess import uint8_at_size
from shared.detector.metrics import coco_evaluate, coco_ground_truth, coco_results
from tasks.instance.evaluate import EVAL_SCORE_THRESHOLD
from tasks.instance.inference import segment_with
from tasks.instance.masks import encode
from tasks.instance.pipeline import letterboxed_id_map


def prepare(split, size, limit):
    count = min(limit, len(split))
    images, boxes, masks = [], [], []
    for i in range(count):
        image, scale = uint8_at_size(split.image(i), size, letterboxed=True)
        images.append(image)
        boxes.append(np.asarray(split.boxes[i], np.float32).reshape(-1, 4) * scale)
        ids = letterboxed_id_map(split.masks[i].id_map(), size, 1)
        masks.append([encode(ids == k + 1) for k in range(len(split.boxes[i]))])
    return np.stack(images), (boxes, split.labels[:count], masks, split.class_names, size)


def score(answers, truths):
    boxes, labels, masks, names, size = truths
    detections, found = [], []
    for answer in answers:
        n = int(answer["num_detections"])
        detections.append((answer["boxes"][:n], answer["scores"][:n], answer["classes"][:n]))
        found.append([encode(m > 0) for m in answer["masks"][:n]])
    truth = coco_ground_truth(boxes, labels, [(size, size)] * len(boxes), names, masks)
    results = coco_results(detections, found)
    segm, bbox = coco_evaluate(truth, results, "segm"), coco_evaluate(truth, results, "bbox")
    return {"mask AP": segm["AP"], "mask AP50": segm["AP50"], "box AP": bbox["AP"]}


def serve(model, manifest):
    """The model at the export's own decoder settings (a fresh export's: score 0.001, as COCO evaluation)."""
    return segment_with(model, model.decoder(score_threshold=manifest.get("score_threshold", EVAL_SCORE_THRESHOLD),
                                             iou_threshold=manifest.get("iou_threshold", 0.6),
                                             max_detections=manifest.get("max_detections", 100)))
