"""Benchmark a classifier's export formats side by side: accuracy on the validation split,
latency, throughput, size and parity with the Keras model.

    trident classification benchmark --run runs/classification-digits-compact
    trident classification benchmark --run RUN --export saved_models/NAME/2

Without --export, a fresh export with every format (SavedModel, TFLite, int8 TFLite, ONNX)
is written into RUN/benchmark/export first.
"""

import numpy as np

from shared.benchmark_flow import BenchmarkSpec, benchmark_main, benchmark_parser
from shared.data.classification import load_classification_data
from shared.data.preprocess import uint8_at_size
from tasks.classification.export import export_run, probability_difference
from tasks.classification.inference import make_classify


def prepare(split, size, limit):
    count = min(limit, len(split))
    return np.stack([uint8_at_size(split.image(i), size)[0] for i in range(count)]), split.labels[:count]


def score(answers, labels):
    return {"accuracy": float(np.mean([int(a["class_ids"]) == int(y) for a, y in zip(answers, labels)]))}


SPEC = BenchmarkSpec(
    task="classification",
    load=lambda config, val, test: load_classification_data(config["data"], config["seed"], val, test),
    prepare=prepare, score=score, difference=probability_difference,
    export=lambda run, folder, formats: export_run(run, folder, "model", formats=formats, record=False)[0],
    serve=lambda model, manifest: make_classify(model))


def main(argv=None):
    return benchmark_main(benchmark_parser("classification", __doc__), argv, SPEC)


if __name__ == "__main__":
    main()
