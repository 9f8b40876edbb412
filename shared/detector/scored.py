"""A detection or instance evaluation's COCO files read back as a `Scored` (what `trident compare` pairs)."""

import os

import numpy as np

from shared.detector.metrics import coco_evaluator
from shared.detector.resample import CocoResampler
from shared.errors import fail
from shared.io import read_json
from shared.stats.scored import Scored


def scored_coco(folder, results_name, kinds):
    """`Scored` of `folder`'s ground_truth.json and `results_name` (the evaluation's COCO results).

    Args:
        kinds: `[(prefix, iou_type)]`, e.g. `[("", "bbox")]` or `[("mask ", "segm"), ("box ", "bbox")]`:
            the metrics are prefix + "AP" and prefix + "AP50" of each, the first the verdict's.
    """
    paths = [os.path.join(folder, name) for name in ("ground_truth.json", results_name)]
    for path in paths:
        if not os.path.isfile(path):
            fail(f"Evaluation {folder} has no {os.path.basename(path)}",
                 "Evaluate the run again (`trident <task> evaluate --run RUN`)", evaluation=folder)
    try:
        truth, results = (read_json(path) for path in paths)
        images = sorted(truth["images"], key=lambda image: image["id"])  # pycocotools' order
        names = [c["name"] for c in sorted(truth["categories"], key=lambda c: c["id"])]
    except (ValueError, KeyError, TypeError) as error:
        fail(f"Cannot read the COCO files of {folder}: {error}", "Evaluate the run again to rewrite them",
             evaluation=folder)
    resamplers = []
    for prefix, iou_type in kinds:
        evaluator = coco_evaluator(truth, results, iou_type)
        resamplers.append((prefix, CocoResampler(evaluator, names) if evaluator is not None else None))

    def score(weights):
        out = {}
        for prefix, resampler in resamplers:
            found = resampler(weights) if resampler is not None else {"AP": np.zeros(len(weights)),
                                                                      "AP50": np.zeros(len(weights))}
            out.update({prefix + key: value for key, value in found.items()})
        return out

    metrics = tuple(prefix + key for prefix, _ in kinds for key in ("AP", "AP50"))
    return Scored([image.get("file_name", str(image["id"])) for image in images], score, metrics)
