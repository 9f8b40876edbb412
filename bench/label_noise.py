"""Label review against known noise: flip a share of a real set's labels, then see what `review` finds.

    .venv/bin/python -m bench label_noise                              # weather4 and sign_digits, 5% and 10%
    .venv/bin/python -m bench label_noise --only weather4 --rates 0.1 --seeds 0 1 2

For each classification set, every labelled image (train, val and test as Trident reads them) goes
through the same steps as `trident classification review` (ImageNet features, out-of-fold
probabilities, cleanlab); before that, a seeded share of the labels is flipped to another class
drawn at random. Prints, per set, rate and seed: the suspects' precision and recall against the
flipped labels, and the precision of the first N suspects (N = the number flipped). The features are
computed once per set (they do not depend on the labels); the rest takes seconds.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np

from bench.real_data import ROOT, SETS
from shared.review.embed import embed, embedding_model
from shared.review.label_issues import label_issues, out_of_fold_probabilities, precision_recall
from tasks.cli import task_for

CLASSIFICATION = sorted(name for name, (task, _, _) in SETS.items() if task == "classification")


def flip(labels, classes, rate, seed):
    """`(noisy labels, flipped indices)`: `rate` of the labels, drawn with `seed`, each moved to another class."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(labels), int(round(rate * len(labels))), replace=False))
    noisy = labels.copy()
    noisy[chosen] = (labels[chosen] + rng.integers(1, classes, len(chosen))) % classes
    return noisy, chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=CLASSIFICATION, default=CLASSIFICATION)
    parser.add_argument("--datasets", default=ROOT)
    parser.add_argument("--rates", type=float, nargs="*", default=[0.05, 0.1])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    task = task_for("classification")
    model = embedding_model()
    for name in args.only:
        splits, _ = task.read(os.path.join(args.datasets, SETS[name][1]), 0, 0.1, 0.2)
        parts = [splits[part] for part in ("train", "val", "test") if len(splits[part])]
        started = time.perf_counter()
        features = np.concatenate([embed(part, model=model) for part in parts])
        embedded = time.perf_counter() - started
        labels = np.concatenate([part.labels for part in parts]).astype(np.int64)
        classes = len(parts[0].class_names)
        clean, _ = out_of_fold_probabilities(features, labels, classes, args.folds)
        flagged_clean, _ = label_issues(labels, clean)
        print(json.dumps({"set": name, "images": len(labels), "embedding_seconds": round(embedded, 1),
                          "suspects_without_added_noise": len(flagged_clean)}))
        for rate in args.rates:
            rows = []
            for seed in args.seeds:
                noisy, planted = flip(labels, classes, rate, seed)
                started = time.perf_counter()
                probabilities, folds = out_of_fold_probabilities(features, noisy, classes, args.folds, seed)
                ranked, _ = label_issues(noisy, probabilities)
                precision, recall = precision_recall(ranked, planted)
                top, _ = precision_recall(ranked[:len(planted)], planted)
                rows.append({"seed": seed, "flipped": len(planted), "suspects": len(ranked),
                             "precision": round(precision, 3), "recall": round(recall, 3),
                             "precision_at_flipped": round(top, 3),
                             "seconds": round(time.perf_counter() - started, 1)})
            summary = {key: round(statistics.mean(r[key] for r in rows), 3)
                       for key in ("precision", "recall", "precision_at_flipped")}
            print(json.dumps({"set": name, "rate": rate, "mean": summary, "runs": rows}))


if __name__ == "__main__":
    main()
