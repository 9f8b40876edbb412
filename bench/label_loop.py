"""A simulated labelling loop: images chosen by `suggest` against images chosen at random.

    .venv/bin/python -m bench label_loop                                   # weather4, seeds 0 and 1
    .venv/bin/python -m bench label_loop --only sign_digits --start 40 --add 40 --rounds 3 --budget 60

From a real classification set's train split, `--start` images (stratified, seeded) are labelled;
each round adds `--add` more, chosen by `trident classification suggest` on the rest (the oracle
then gives their true labels) or at random, and trains again with the default command in
`--budget` seconds (the set's own val split for choosing, its test split for scoring, as CSV rows
naming the original files). Prints the test accuracy after every round for both choices, per
seed, and their means: the learning curves of the README.
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


def train_and_score(folder, name, rows, budget, seed):
    """Train the default command on `rows` (path, label, split) written as a CSV; the test accuracy."""
    listing = os.path.join(folder, f"{name}.csv")
    with open(listing, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "split"])
        writer.writerows(rows)
    runs = os.path.join(folder, "runs")
    trident("classification", "train", "--data", listing, "--allow-outside-data", "--time-budget", f"{budget}s",
            "--seed", str(seed), "--runs-dir", runs, "--name", name, "--verbose", "0")
    out = os.path.join(folder, "eval", name)
    trident("classification", "evaluate", "--run", os.path.join(runs, name), "--split", "test", "--no-explain",
            "--output", out)
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)["metrics"]["accuracy"], os.path.join(runs, name)


def suggested(folder, run, paths, count, round_):
    out = os.path.join(folder, f"suggest-{round_}")
    trident("classification", "suggest", "--run", run, "--data", *paths, "--count", str(count), "--output", out)
    with open(os.path.join(out, "report.json")) as f:
        return [row["path"] for row in json.load(f)["suggestions"]]


def loop(name, args, seed, work):
    splits, _ = task_for("classification").read(os.path.join(args.datasets, SETS[name][1]), 0, 0.1, 0.2)
    train, names = splits["train"], splits["train"].class_names
    truth = {path: names[label] for path, label in zip(train.paths, train.labels)}
    fixed = [(p, names[label], split) for split in ("val", "test")
             for p, label in zip(splits[split].paths, splits[split].labels)]
    rng = np.random.default_rng(seed)
    per_class = max(1, args.start // len(names))
    start = [p for c in range(len(names)) for p in rng.permutation(
        [p for p, label in zip(train.paths, train.labels) if label == c])[:per_class]]
    curves = {}
    accuracy, run = train_and_score(work, f"s{seed}-start", [(p, truth[p], "train") for p in start] + fixed,
                                    args.budget, seed)
    for strategy in ("suggest", "random"):
        labelled, last_run, curve = list(start), run, [(len(start), accuracy)]
        for round_ in range(1, args.rounds + 1):
            rest = [p for p in train.paths if p not in set(labelled)]
            if strategy == "suggest":
                labelled += suggested(work, last_run, rest, args.add, f"s{seed}-{round_}")
            else:
                labelled += list(rng.permutation(rest)[:args.add])
            score, last_run = train_and_score(work, f"s{seed}-{strategy}-{round_}",
                                              [(p, truth[p], "train") for p in labelled] + fixed, args.budget, seed)
            curve.append((len(labelled), score))
            print(json.dumps({"set": name, "seed": seed, "strategy": strategy, "labelled": len(labelled),
                              "test_accuracy": round(score, 4)}), flush=True)
        curves[strategy] = curve
    return curves


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="weather4", choices=sorted(n for n, s in SETS.items()
                                                                     if s[0] == "classification"))
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
