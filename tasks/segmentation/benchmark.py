"""Benchmark a segmenter's export formats side by side: mean IoU on the validation split,
latency, throughput, size and parity with the Keras model.

    trident segmentation benchmark --run runs/segmentation-shapes-compact

Every runtime segments the images resized to the model's size, scored against the masks
resized the same way (nearest neighbour). Without --export, a fresh export with every format
is written into RUN/benchmark/export first.
"""

import numpy as np
from PIL import Image

from shared.data.preprocess import uint8_at_size
from tasks.segmentation.metrics import confusion_matrix, scores_from_confusion


def prepare(split, size, limit):
    count = min(limit, len(split))
    images = np.stack([uint8_at_size(split.image(i), size)[0] for i in range(count)])
    masks = [np.asarray(Image.fromarray(split.mask(i)).resize((size, size), Image.NEAREST)) for i in range(count)]
    return images, (masks, split.class_names)


def score(answers, truths):
    masks, names = truths
    matrix = sum(confusion_matrix(mask, answer["class_map"], len(names)) for answer, mask in zip(answers, masks))
    scores = scores_from_confusion(matrix, names)
    return {"mean_iou": scores["mean_iou"], "pixel_accuracy": scores["pixel_accuracy"]}
