"""Label review against known noise: flip a share of a real set's labels, then see what `review` finds.

    .venv/bin/python -m bench label_noise                              # weather4 and sign_digits, 5% and 10%
    .venv/bin/python -m bench label_noise --only weather4 --rates 0.1 --seeds 0 1 2
    .venv/bin/python -m bench label_noise --detection-run RUN [--detection-run RUN ...]   # boxes: a finished run
    .venv/bin/python -m bench label_noise --segmentation-run RUN --rates 0.1               # masks: a finished run
    .venv/bin/python -m bench label_noise --instance-run RUN --rates 0.1                   # objects' boxes

For each classification set, every labelled image (train, val and test as Trident reads them) goes
through the same steps as `trident classification review` (ImageNet features, out-of-fold
probabilities, cleanlab); before that, a seeded share of the labels is flipped to another class
drawn at random. Prints, per set, rate and seed: the suspects' precision and recall against the
flipped labels, and the precision of the first N suspects (N = the number flipped). The features are
computed once per set (they do not depend on the labels); the rest takes seconds.

With `--detection-run`, each finished detection run's detector answers every image of its recorded
splits once; then a seeded share of the boxes is damaged, a third each (at random) dropped (an object
with no box), moved by half its size (badly placed) and, where the data has several classes, given
another class; the review (`shared.review.box_review.review_detections`) runs on the damaged boxes.
Precision and recall are per image (an image is damaged when one of its boxes is). The detector was
trained on the boxes as they were, so it has not learned the damage: an upper bound of what a review of
a run trained on such labels finds (its val and test images are out-of-sample either way).

With `--segmentation-run`, the run's model gives every recorded image its pixel probabilities once, on
the review's grid; then a seeded share of the images each get one mistake (a rectangle of 15-30% of the
side painted with another class, or a connected region of one class erased into the class around it),
and the review (`shared.review.mask_issues`) runs on the damaged masks. The same upper bound holds.
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


def damage_boxes(boxes, labels, classes, rate, seed):
    """`(boxes, labels, damaged image indices)`: `rate` of all boxes, drawn with `seed`, each dropped, moved by
    half its width and height, or (several classes) given another class."""
    rng = np.random.default_rng(seed)
    owners = [(i, j) for i, b in enumerate(boxes) for j in range(len(b))]
    chosen = rng.choice(len(owners), int(round(rate * len(owners))), replace=False)
    kinds = ["drop", "move"] + (["class"] if classes > 1 else [])
    boxes = [np.asarray(b, np.float64).reshape(-1, 4).copy() for b in boxes]
    labels = [np.asarray(lab, np.int64).reshape(-1).copy() for lab in labels]
    dropped = {}
    for index in chosen:
        i, j = owners[index]
        kind = kinds[rng.integers(len(kinds))]
        if kind == "move":
            width, height = boxes[i][j, 2] - boxes[i][j, 0], boxes[i][j, 3] - boxes[i][j, 1]
            sign_x, sign_y = rng.choice([-1.0, 1.0], 2)
            boxes[i][j] += 0.5 * np.array([sign_x * width, sign_y * height, sign_x * width, sign_y * height])
        elif kind == "class":
            labels[i][j] = (labels[i][j] + rng.integers(1, classes)) % classes
        else:
            dropped.setdefault(i, []).append(j)
    for i, rows in dropped.items():
        boxes[i], labels[i] = np.delete(boxes[i], rows, axis=0), np.delete(labels[i], rows)
    return boxes, labels, np.unique([owners[k][0] for k in chosen])


def detection_noise(run_path, rates, seeds, task_name="detection"):
    """The box review against damaged boxes of a finished detection (or instance) run's recorded splits (see the
    module's text; an instance run's masks stay as they were, its boxes are damaged)."""
    import dataclasses

    from shared.actions.review import recorded_splits
    from shared.detector.threshold import answer_threshold
    from shared.engine.runs import open_run
    from shared.task_model import load_run_model
    from shared.review.box_review import REVIEW_SCORE_THRESHOLD, review_detections

    if task_name == "instance":
        from tasks.instance.evaluate import predict_split as predict_instances

        def predict_split(model, part, threshold):
            return predict_instances(model, part, threshold)[0]
    else:
        from tasks.detection.evaluate import predict_split
    task, run = task_for(task_name), open_run(run_path)
    splits = recorded_splits(task, run)
    parts = [(name, splits[name]) for name in ("train", "val", "test") if len(splits.get(name, ()))]
    model = load_run_model(run)
    detections = [found for _, part in parts for found in predict_split(model, part, REVIEW_SCORE_THRESHOLD)]
    boxes = [b for _, part in parts for b in part.boxes]
    labels = [lab for _, part in parts for lab in part.labels]
    classes, confident = len(model.class_names), answer_threshold(model)

    def flagged(new_boxes, new_labels):
        together = dataclasses.replace(parts[0][1], boxes=new_boxes, labels=new_labels, paths=None,
                                       images=np.zeros((len(new_boxes), 1, 1, 3), np.uint8),
                                       sizes=[(1, 1)] * len(new_boxes), image_ids=None)
        where = [("all", together, i) for i in range(len(new_boxes))]
        return np.array([row["index"] for row in review_detections(where, detections, model.class_names,
                                                                   confident)[0]], np.int64)

    clean = flagged(boxes, labels)
    print(json.dumps({"run": run_path, "images": len(boxes), "boxes": int(sum(len(b) for b in boxes)),
                      "confident": confident, "suspects_without_added_noise": len(clean)}))

    def damaged(rate, seed):
        noisy_boxes, noisy_labels, hit = damage_boxes(boxes, labels, classes, rate, seed)
        return (noisy_boxes, noisy_labels), hit

    against_damage(run_path, rates, seeds, damaged, flagged)


def damage_masks(labels, classes, rate, seed):
    """`(labels, damaged image indices)`: `rate` of the images (grid masks `[N, H, W]`), drawn with `seed`, each
    given one mistake, half of them (at random) a rectangle of 15-30% of the side painted with a class it mostly
    is not, the other half a connected region of a class the image holds erased into the class around it."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    labels = labels.copy()
    chosen = np.sort(rng.choice(len(labels), max(1, int(round(rate * len(labels)))), replace=False))
    _, height, width = labels.shape
    for i in chosen:
        mask = labels[i]
        present = [k for k in np.unique(mask) if k != 255]
        regions = None
        if len(present) > 1 and rng.random() < 0.5:
            k = present[rng.integers(1, len(present))] if present[0] == 0 else present[rng.integers(len(present))]
            components, count = ndimage.label(mask == k)
            sizes = np.bincount(components.ravel())[1:]
            if count and sizes.max() >= 0.005 * mask.size:
                regions = components == int(np.argmax(sizes)) + 1
                around = ndimage.binary_dilation(regions, iterations=2) & ~regions & (mask != 255)
                mask[regions] = np.bincount(mask[around]).argmax() if around.any() else (k + 1) % classes
        if regions is None:
            h, w = (rng.uniform(0.15, 0.3, 2) * (height, width)).astype(int)
            y, x = rng.integers(0, height - h), rng.integers(0, width - w)
            patch = mask[y:y + h, x:x + w]
            known = patch[patch != 255]
            mostly = np.bincount(known).argmax() if known.size else 0
            patch[patch != 255] = (mostly + rng.integers(1, classes)) % classes
    return labels, chosen


def segmentation_noise(run_path, rates, seeds):
    """The segmentation review against damaged masks of a finished run's recorded splits, on the review's grid."""
    from shared.actions.review import recorded_splits
    from shared.engine.runs import open_run
    from shared.review.mask_issues import mask_label_issues
    from shared.task_model import load_run_model
    from tasks.segmentation.review import grid_answers, review_size

    task, run = task_for("segmentation"), open_run(run_path)
    splits = recorded_splits(task, run)
    parts = [(name, splits[name]) for name in ("train", "val", "test") if len(splits.get(name, ()))]
    model = load_run_model(run)
    probabilities, labels = grid_answers(model, parts, review_size(model, sum(len(p) for _, p in parts)))

    def flagged(noisy):
        return mask_label_issues(noisy, probabilities)[0]

    print(json.dumps({"run": run_path, "images": len(labels), "grid": labels.shape[1],
                      "suspects_without_added_noise": len(flagged(labels))}))

    def damaged(rate, seed):
        noisy, hit = damage_masks(labels, model.num_classes, rate, seed)
        return (noisy,), hit

    against_damage(run_path, rates, seeds, damaged, flagged)


def against_damage(run_path, rates, seeds, damage, flagged):
    """Print the review's precision and recall per rate and seed: `damage(rate, seed)` gives `(labels, damaged
    image indices)`, the labels a tuple of `flagged`'s arguments; `flagged(*labels)` the suspects, ranked."""
    for rate in rates:
        rows = []
        for seed in seeds:
            noisy, damaged = damage(rate, seed)
            ranked = flagged(*noisy)
            precision, recall = precision_recall(ranked, damaged)
            top, _ = precision_recall(ranked[:len(damaged)], damaged)
            rows.append({"seed": seed, "damaged_images": len(damaged), "suspects": len(ranked),
                         "precision": round(precision, 3), "recall": round(recall, 3),
                         "precision_at_damaged": round(top, 3)})
        summary = {key: round(statistics.mean(r[key] for r in rows), 3)
                   for key in ("precision", "recall", "precision_at_damaged")}
        print(json.dumps({"run": run_path, "rate": rate, "mean": summary, "runs": rows}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=CLASSIFICATION, default=CLASSIFICATION)
    parser.add_argument("--datasets", default=ROOT)
    parser.add_argument("--rates", type=float, nargs="*", default=[0.05, 0.1])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--detection-run", action="append", default=[],
                        help="a finished detection run: review its recorded splits with damaged boxes instead")
    parser.add_argument("--instance-run", action="append", default=[],
                        help="a finished instance segmentation run: its boxes damaged, as --detection-run")
    parser.add_argument("--segmentation-run", action="append", default=[],
                        help="a finished segmentation run: review its recorded splits with damaged masks instead")
    args = parser.parse_args()
    for run in args.detection_run:
        detection_noise(run, args.rates, args.seeds)
    for run in args.instance_run:
        detection_noise(run, args.rates, args.seeds, "instance")
    for run in args.segmentation_run:
        segmentation_noise(run, args.rates, args.seeds)
    if args.detection_run or args.instance_run or args.segmentation_run:
        return
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
