"""Benchmark a classifier's export formats side by side: accuracy on the validation split,
latency, throughput, size and parity with the Keras model.

    trident classification benchmark --run runs/classification-digits-compact
    trident classification benchmark --run RUN --export saved_models/NAME/2

Without --export, a fresh export with every format (SavedModel, TFLite, int8 TFLite, ONNX)
is written into RUN/benchmark/export first.
"""

import numpy as np

from shared.data.preprocess import uint8_at_size


def prepare(split, size, limit):
    count = min(limit, len(split))
    return np.stack([uint8_at_size(split.image(i), size)[0] for i in range(count)]), split.labels[:count]


def score(answers, labels):
    return {"accuracy": float(np.mean([int(a["class_ids"]) == int(y) for a, y in zip(answers, labels)]))}
