"""Benchmark a segmenter's export formats side by side: mean IoU on the validation split,
latency, throughput, size and parity with the Keras model.

    trident segmentation benchmark --run runs/segmentation-shapes-compact

Every runtime segments the images resized to the model's size, scored against the masks
resized the same way (nearest neighbour). Without --export, a fresh export with every format
is written into RUN/benchmark/export first.
"""

import numpy as np
from PIL import Image

from shared.benchmark_flow import BenchmarkSpec, benchmark_main, benchmark_parser
from shared.data.preprocess import uint8_at_size
from shared.data.segmentation import load_segmentation_data
from tasks.segmentation.export import export_run, segmentation_difference
from tasks.segmentation.inference import make_segment
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


SPEC = BenchmarkSpec(
    task="segmentation",
    load=lambda config, val, test: load_segmentation_data(config["data"], config["seed"], val, test,
                                                          config.get("images"), config["image_size"]),
    prepare=prepare, score=score, difference=segmentation_difference,
    export=lambda run, folder, formats: export_run(run, folder, "model", formats=formats, record=False)[0],
    serve=lambda model, manifest: make_segment(model))


def main(argv=None):
    return benchmark_main(benchmark_parser("segmentation", __doc__), argv, SPEC)


if __name__ == "__main__":
    main()
