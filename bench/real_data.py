"""Real data, default command: Trident's `train --data X --time-budget T` against a reference.

    .venv/bin/python -m bench real_data                      # every set, then the table
    .venv/bin/python -m bench real_data --only weather4      # one set
    .venv/bin/python -m bench real_data --only bccd --no-reference
    .venv/bin/python -m bench real_data --only weather4 --no-reference --repeats 3   # seeds 0, 1, 2: mean, spread

Trident runs exactly the command a new user types (no flag but --data and --time-budget),
then `evaluate --run` on the run's test split (its val split where the data has no test);
`--scratch` adds the from-scratch default of before (the same command with `--backbone compact`).
The reference trains in the same budget on the same train split and is scored on the same
images, with the same ImageNet weights Trident's default fine-tunes: for classification the
Keras transfer-learning guide's recipe, for detection keras-cv's YOLOV8 and for segmentation
keras-cv's DeepLabV3Plus on that backbone (`--scratch-reference`: the from-scratch references,
a textbook CNN and MobileNetV3Small, YOLOV8 xs, DeepLabV3Plus on a small ResNetV2; see
bench/real_data_reference.py). For instance segmentation, where Keras has no model to start
from, the reference is Ultralytics' YOLO26n-seg from scratch, in the Python `--yolo-python` names.
Budgets: 5 minutes for classification, 10 for the other tasks.
Each set's row is also appended to `--results` (JSON lines) so sets can run one at a time; it holds
the metric's 95% interval from the evaluation report. `--repeats N` trains the default N times with
seeds 0 to N-1 (each seed its own val split, initialisation, order and augmentation; its own test
split too where the data has none) and adds their mean
and spread, so a default is judged by more than one run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import _common

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "shared", "datasets")
SETS = {
    "weather4": ("classification", "weather4/weather_image(dataset)", 300),
    "sign_digits": ("classification", "sign_digits/Dataset", 300),
    "raccoon": ("detection", "raccoon", 600),
    "bccd": ("detection", "bccd/BCCD", 600),
    "isbi2012_membrane": ("segmentation", "isbi2012_membrane/train", 600),
    "dubai_aerial": ("segmentation", "dubai_aerial/Semantic segmentation dataset", 600),
    "dsb2018_nuclei": ("instance", "dsb2018_nuclei", 600),
}
METRIC = {"classification": "accuracy", "detection": "AP50", "segmentation": "mean IoU", "instance": "mask AP50"}
# A second figure the row keeps, where one number does not say enough.
SECOND = {"detection": "AP@[.50:.95]", "instance": "mask AP@[.50:.95]"}


def trident_default(task, data, budget, runs_dir, run=None, extra=(), name=None):
    """Run the default train command (unless `run` names a finished one) and evaluate; return the row.

    `extra` flags are added to the command, to measure a candidate default against it.
    """
    name = name or f"{task}-bench"
    command = [sys.executable, "-m", "tasks.cli", task, "train", "--data", data, "--time-budget", f"{budget}s",
               *extra]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.monotonic()
    if run is None:
        subprocess.run(command + ["--runs-dir", runs_dir, "--name", name, "--verbose", "2"], check=True,
                       cwd=os.path.join(HERE, ".."), env=env)
        run = os.path.join(runs_dir, name)
    wall = time.monotonic() - start
    with open(os.path.join(run, "data.json")) as f:
        info = json.load(f)
    split = "test" if info["counts"].get("test") else "val"
    out = os.path.join(run, "bench-evaluation")
    subprocess.run([sys.executable, "-m", "tasks.cli", task, "evaluate", "--run", run, "--split", split,
                    "--output", out], check=True, cwd=os.path.join(HERE, ".."), env=env)
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    with open(os.path.join(run, "state.json")) as f:
        state = json.load(f)
    chosen = ", ".join(f"{k} {v['value']}" for k, v in info.get("defaults", {}).items())
    second = {"metric2": report["metrics"][SECOND[task]]} if task in SECOND else {}
    interval = report.get("intervals", {}).get(METRIC[task])
    return {"metric": report["metrics"][METRIC[task]], **second, "calibration": calibration_figures(report),
            "interval": [interval["low"], interval["high"]] if interval else None, "split": split,
            "count": info["counts"][split],
            "train_seconds": state["train_seconds"], "images_per_second": state["train_images_per_second"],
            "epochs": state["epochs_done"], "wall_seconds": round(wall, 1), "defaults": chosen, "info": info,
            "run": run}


def paired_with_reference(run, right):
    """McNemar's exact test of Trident's run (its bench evaluation) against the reference on the same images;
    `right`: the reference's `{image path: right}`."""
    import numpy as np

    from shared.stats.paired import mcnemar

    found = np.load(os.path.join(run, "bench-evaluation", "per_image.npz"))
    trident = {str(path): bool(label == predicted)
               for path, label, predicted in zip(found["images"], found["labels"], found["predicted"])}
    shared = sorted(set(trident) & set(right))
    test = mcnemar([trident[p] for p in shared], [right[p] for p in shared])
    return {"images": len(shared), "trident_only": test["first_only"], "reference_only": test["second_only"],
            "p_value": test["p_value"]}


def calibration_figures(report):
    """The scored split's ECE before and after the run's calibration, and what was fitted (a temperature for
    classification and segmentation, a score map for detection and instance segmentation)."""
    found = report.get("score_calibration") or report.get("calibration") or {}
    fitted = report.get("calibration", {})
    fitted = fitted.get("fitted", fitted)
    keys = ("temperature", "score_scale", "score_shift", "not_fitted")
    return {"ece_before": found.get("ece_before"), "ece_after": found.get("ece_after"),
            **{key: fitted[key] for key in keys if key in fitted}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SETS), nargs="*", help="run these sets only")
    parser.add_argument("--datasets", default=ROOT, help="folder holding the real data sets")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference models")
    parser.add_argument("--scratch", action="store_true",
                        help="also run Trident's from-scratch default (--backbone compact) on each set")
    parser.add_argument("--scratch-reference", action="store_true",
                        help="references from random weights instead of the pretrained ones")
    parser.add_argument("--yolo-python", help="a Python with ultralytics, for the instance reference (YOLO26n-seg)")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every budget (quick checks)")
    parser.add_argument("--reuse-run", help="with one --only set: evaluate this finished default run instead of "
                        "training again (to add the reference alone, on a quiet machine)")
    parser.add_argument("--repeats", type=int, default=1, help="train the default with seeds 0..N-1 and add "
                        "the mean and spread of the metric (the row's other figures are seed 0's)")
    parser.add_argument("--reference-repeats", type=int, default=1,
                        help="classification: train the reference with seeds 0..N-1 on the same split and add the "
                             "mean and spread of its accuracy")
    parser.add_argument("--extra", default="", help="flags added to Trident's command (a candidate default), "
                        "e.g. \"--ema 0.99\"; recorded in the row")
    parser.add_argument("--results", default=os.path.join(HERE, "..", "docs", "results",
                                                          f"{time.strftime('%Y-%m-%d')}-real-data.jsonl"),
                        help="JSON lines file each set's row is appended to (default: the dated file of today in "
                             "docs/results/, which the tables of docs/benchmarks.md are made from)")
    args = parser.parse_args()
    if args.reuse_run and len(args.only or []) != 1:
        parser.error("--reuse-run needs exactly one --only set")
    work = tempfile.mkdtemp(prefix="trident-real-")
    for name in args.only or sorted(SETS):
        task, folder, budget = SETS[name]
        budget = budget * args.budget_scale
        data = os.path.join(args.datasets, folder)
        row = {"set": name, "task": task, "budget": budget, "extra": args.extra}
        row.update(trident_default(task, data, budget, os.path.join(work, name), args.reuse_run, args.extra.split()))
        if args.repeats > 1:
            found = [row["metric"]] + [
                trident_default(task, data, budget, os.path.join(work, name), None,
                                args.extra.split() + ["--seed", str(seed)], f"{task}-bench-seed{seed}")["metric"]
                for seed in range(1, args.repeats)]
            row["repeats"] = {"seeds": list(range(args.repeats)), "metrics": found, "mean": statistics.mean(found),
                              "stdev": statistics.stdev(found), "min": min(found), "max": max(found)}
        if args.scratch:
            scratch = trident_default(task, data, budget, os.path.join(work, name + "-scratch"), None,
                                      args.extra.split() + ["--backbone", "compact"])
            row["scratch"] = {key: scratch[key] for key in ("metric", "images_per_second", "epochs")}
        if not args.no_reference:
            from bench.real_data_reference import reference

            info = row.pop("info")
            row["reference"] = reference(task, data, info, budget, not args.scratch_reference, args.yolo_python)
            right = row["reference"].pop("right", None)
            if right is not None:  # classification: which images each got right, paired
                row["reference"]["paired"] = paired_with_reference(row["run"], right)
                if args.reference_repeats > 1:
                    found = [row["reference"]["metric"]] + [
                        reference(task, data, info, budget, yolo_python=args.yolo_python, seed=seed)["metric"]
                        for seed in range(1, args.reference_repeats)]
                    row["reference"]["repeats"] = {"seeds": list(range(args.reference_repeats)), "metrics": found,
                                                   "mean": statistics.mean(found), "stdev": statistics.stdev(found)}
        row.pop("info", None)
        row.pop("run", None)
        with open(args.results, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row))
    rows = []
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            ref = r.get("reference") or {}
            label = r["set"] + (f" ({r['extra']})" if r.get("extra") else "")
            shown = f"{r['metric']:.3f}" + (f" ({r['interval'][0]:.3f}-{r['interval'][1]:.3f})"
                                            if r.get("interval") else "")
            if r.get("repeats"):
                spread = r["repeats"]
                shown += (f"; {len(spread['metrics'])} seeds: mean {spread['mean']:.3f}, sd {spread['stdev']:.3f}, "
                          f"{spread['min']:.3f}-{spread['max']:.3f}")
            rows.append([label, f"{METRIC[r['task']]} ({r['split']}, {r['count']})",
                         (r.get("scratch") or {}).get("metric", "-"), shown, ref.get("metric", "-"),
                         ref.get("model", "-"), r["train_seconds"], r["images_per_second"], r["epochs"], r["defaults"]])
    _common.table(["set", "metric (split, images)", "Trident from scratch", "Trident default (95% interval)",
                   "reference",
                   "reference model", "train s", "train images/s", "epochs", "defaults chosen"], rows)


if __name__ == "__main__":
    main()
