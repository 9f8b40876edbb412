"""A simulated labelling loop: images chosen by `suggest` against images chosen at random.

    .venv/bin/python -m bench label_loop                                   # weather4, seeds 0 and 1
    .venv/bin/python -m bench label_loop --only sign_digits --start 40 --add 40 --rounds 3 --budget 60
    .venv/bin/python -m bench label_loop --only raccoon --start 30 --add 30 --budget 150

From a real classification or detection set's train split, `--start` images (seeded; stratified by
class for classification) are labelled; each round adds `--add` more, chosen by `trident <task>
suggest` on the rest (the oracle then gives their true labels or boxes) or at random, and trains
again with the default command in `--budget` seconds (the set's own val split for choosing, its test
split for scoring; written as a CSV, or COCO JSONs, naming the original files). Prints the test
accuracy (classification) or AP50 (detection) after every round for both choices, per seed, and
their means: the learning curves of the README.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from bench.real_data import ROOT, SETS
from tasks.cli import task_for

HERE = os.path.dirname(os.path.abspath(__file__))


def trident(*args):
    subprocess.run([sys.executable, "-m", "tasks.cli", *args], check=True, cwd=os.path.join(HERE, ".."),
                   stdout=subprocess.DEVNULL, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def _csv_listing(folder, name, rows, names):
    """Classification: `rows` `(path, class id, split)` as a CSV of path,label,split."""
    listing = os.path.join(folder, f"{name}.csv")
    with open(listing, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "split"])
        writer.writerows([(path, names[label], split) for path, label, split in rows])
    return listing


def _coco_listing(folder, name, rows, names):
    """Detection: `rows` `(path, (boxes, labels, size), split)` as one COCO JSON per split (absolute file names)
    and a dataset YAML naming them."""
    splits = {}
    for path, (boxes, labels, size), split in rows:
        coco = splits.setdefault(split, {"images": [], "annotations": [], "categories": [
            {"id": k + 1, "name": n} for k, n in enumerate(names)]})
        image_id = len(coco["images"]) + 1
        coco["images"].append({"id": image_id, "file_name": os.path.abspath(path), "height": int(size[0]),
                               "width": int(size[1])})
        for (x1, y1, x2, y2), label in zip(np.reshape(boxes, (-1, 4)).tolist(), np.reshape(labels, -1).tolist()):
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id, "iscrowd": 0,
                                        "category_id": int(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1]})
    for split, coco in splits.items():
        with open(os.path.join(folder, f"{name}-{split}.json"), "w") as f:
            json.dump(coco, f)
    listing = os.path.join(folder, f"{name}.yaml")
    with open(listing, "w") as f:
        f.write("".join(f"{split}: {name}-{split}.json\n" for split in splits))
    return listing


# Per task: how a round's labelled images are written, which metric scores the round, and how an image's
# label is kept (its class id, or its boxes, classes and size).
TASKS = {"classification": (_csv_listing, ("metrics", "accuracy"), lambda part, i: int(part.labels[i])),
         "detection": (_coco_listing, ("metrics", "AP50"),
                       lambda part, i: (part.boxes[i], part.labels[i], part.sizes[i]))}


def train_and_score(task, folder, name, rows, names, budget, seed):
    """Train the default command on `rows` (path, label, split) in `budget` seconds; its test score and run."""
    write, metric, _ = TASKS[task]
    listing = write(folder, name, rows, names)
    runs = os.path.join(folder, "runs")
    trident(task, "train", "--data", listing, "--allow-outside-data", "--time-budget", f"{budget}s",
            "--seed", str(seed), "--runs-dir", runs, "--name", name, "--verbose", "0")
    out = os.path.join(folder, "eval", name)
    trident(task, "evaluate", "--run", os.path.join(runs, name), "--split", "test", "--no-explain",
            "--output", out)
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)[metric[0]][metric[1]], os.path.join(runs, name)


def suggested(task, folder, run, paths, count, round_):
    out = os.path.join(folder, f"suggest-{round_}")
    trident(task, "suggest", "--run", run, "--data", *paths, "--count", str(count), "--output", out)
    with open(os.path.join(out, "report.json")) as f:
        return [row["path"] for row in json.load(f)["suggestions"]]


def loop(name, args, seed, work):
    task = SETS[name][0]
    splits, _ = task_for(task).read(os.path.join(args.datasets, SETS[name][1]), 0, 0.1, 0.2)
    train, names = splits["train"], splits["train"].class_names
    label_of = TASKS[task][2]
    truth = {path: label_of(train, i) for i, path in enumerate(train.paths)}
    fixed = [(p, label_of(splits[split], i), split) for split in ("val", "test")
             for i, p in enumerate(splits[split].paths)]
    rng = np.random.default_rng(seed)
    if task == "classification":  # stratified: every class in the first labelled part
        per_class = max(1, args.start // len(names))
        start = [p for c in range(len(names)) for p in rng.permutation(
            [p for p, label in zip(train.paths, train.labels) if label == c])[:per_class]]
    else:
        start = list(rng.permutation(train.paths)[:args.start])
    curves = {}
    score, run = train_and_score(task, work, f"s{seed}-start", [(p, truth[p], "train") for p in start] + fixed,
                                 names, args.budget, seed)
    for strategy in ("suggest", "random"):
        labelled, last_run, curve = list(start), run, [(len(start), score)]
        for round_ in range(1, args.rounds + 1):
            rest = [p for p in train.paths if p not in set(labelled)]
            if strategy == "suggest":
                labelled += suggested(task, work, last_run, rest, args.add, f"s{seed}-{round_}")
            else:
                labelled += list(rng.permutation(rest)[:args.add])
            found, last_run = train_and_score(task, work, f"s{seed}-{strategy}-{round_}",
                                              [(p, truth[p], "train") for p in labelled] + fixed, names,
                                              args.budget, seed)
            curve.append((len(labelled), found))
            print(json.dumps({"set": name, "seed": seed, "strategy": strategy, "labelled": len(labelled),
                              "test_" + TASKS[task][1][1]: round(found, 4)}), flush=True)
        curves[strategy] = curve
    return curves


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="weather4", choices=sorted(n for n, s in SETS.items() if s[0] in TASKS))
    parser.add_argument("--datasets", default=ROOT)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--start", type=int, default=40)
    parser.add_argument("--add", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="trident-label-loop-")
    results = [loop(args.only, args, seed, work) for seed in args.seeds]
    for strategy in ("suggest", "random"):
        points = list(zip(*[r[strategy] for r in results]))
        print(json.dumps({"set": args.only, "strategy": strategy, "curve": [
            {"labelled": p[0][0], "mean": round(statistics.mean(a for _, a in p), 4),
             "per_seed": [round(a, 4) for _, a in p]} for p in points], "work": work}))


if __name__ == "__main__":
    main()
