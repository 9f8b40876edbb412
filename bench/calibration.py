"""Calibration of finished runs: fit on the val split as training now does after it ends, then score the test split.

    .venv/bin/python -m bench calibration --run RUN [--run RUN ...]

For each run (any task), `Task.calibrate` is fitted on the run's recorded val split for its best checkpoint and
written to RUN/calibration.json, exactly what `train` does after training (runs trained before it did, or a
refit); then `evaluate` scores the test split (the val split where there is none) into RUN/bench-calibration/.
Prints, per run, what was fitted and the test split's expected calibration error (ECE) before and after it:
of the top class's probability (classification), of pixels' (segmentation), of detections' scores (detection
and instance segmentation).
"""

import argparse
import json
import os

from bench.real_data import calibration_figures
from shared.data.recorded import run_splits
from shared.engine.runs import open_run
from shared.io import read_json
from shared.settings import run_config
from shared.task_model import load_checkpoint
from tasks.cli import task_for


def calibrate_run(path):
    run = open_run(path)
    task = task_for(read_json(run.file("manifest.json"))["task"])
    config = run_config(run, task)
    splits, info = run_splits(run, config, lambda val, test: task.read(config["data"], config["seed"], val, test,
                                                                     config.get("images"), config.get("image_size")))
    checkpoint = run.best_or_last()
    record = task.calibrate(load_checkpoint(checkpoint), splits["val"], config)
    if record:
        run.write_calibration({**record, "split": "val", "images": len(splits["val"])}, checkpoint)
    split = "test" if len(splits["test"]) else "val"
    output = run.file("bench-calibration")
    task.evaluate(run, split=split, output=output, loaded=(splits, info), explain=False)
    report = read_json(os.path.join(output, "report.json"))
    row = {"run": path, "task": task.name, "fitted": record, "split": split, "test": calibration_figures(report),
           "metrics": report.get("metrics")}
    print(json.dumps(row, default=str))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="a finished run folder (repeatable)")
    args = parser.parse_args()
    for path in args.run:
        calibrate_run(path)


if __name__ == "__main__":
    main()
