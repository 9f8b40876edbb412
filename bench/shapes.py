"""Built-in shapes with a task's default config: test-split metrics and training time.

    .venv/bin/python -m bench shapes --task detection [--time-budget 10m]
    .venv/bin/python -m bench shapes --task segmentation

Targets (their issues): detection AP50 >= 0.95 and AP@[.50:.95] >= 0.70, segmentation mean IoU
>= 0.90, on the test split within 10 minutes of training on a 2-core CPU.
"""

import argparse
import importlib
import tempfile

from bench import _common

from shared.actions import train
from shared.io import read_json

# The metrics each task's row shows, in its evaluation's names.
METRICS = {"detection": ("AP", "AP50", "AP75"), "segmentation": ("mean_iou", "pixel_accuracy")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(METRICS), required=True)
    parser.add_argument("--time-budget", default="10m")
    parser.add_argument("--runs-dir", default=tempfile.mkdtemp(prefix="trident-bench-"))
    args = parser.parse_args()
    task = importlib.import_module(f"tasks.{args.task}.task").TASK
    run = train.main(task, ["--config", f"tasks/{args.task}/configs/shapes.yaml", "--time-budget",
                            args.time_budget, "--runs-dir", args.runs_dir, "--name", f"{args.task}-shapes",
                            "--restart", "--verbose", "2"])
    paths, metrics = task.evaluate(run)
    state = read_json(run.file("state.json"))
    _common.table(["data", *METRICS[args.task], "train seconds", "epochs", "ended", "train images/s"],
                  [["shapes test (200 images)", *(metrics[name] for name in METRICS[args.task]),
                    state["train_seconds"], state["epochs_done"], state["ended"], state["train_images_per_second"]]])
    print(f"Report: {paths['html']}")


if __name__ == "__main__":
    main()
