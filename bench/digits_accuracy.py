"""Built-in digits with the default config: test accuracy and training time.

    .venv/bin/python -m bench digits_accuracy [--runs-dir DIR] [--seeds 0 1 2]

Target (issue): at least 98% test accuracy within 60 s of training on a 2-core CPU.
Training time is the wall-clock time of `fit` (data loading and the report excluded),
as recorded in the run's state.json.
"""

import argparse
import tempfile

from bench import _common

from shared.io import read_json
from shared.actions import train
from tasks.classification.task import TASK

CONFIG = "tasks/classification/configs/digits.yaml"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs-dir", default=tempfile.mkdtemp(prefix="trident-bench-"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        run = train.main(TASK, ["--config", CONFIG, "--runs-dir", args.runs_dir, "--name", f"digits-{seed}",
                          "--seed", str(seed), "--restart", "--verbose", "0"])
        _, metrics = TASK.evaluate(run)
        state = read_json(run.file("state.json"))
        rows.append([seed, metrics["accuracy"], state["train_seconds"], state["epochs_done"],
                     state["train_images_per_second"]])
    _common.table(["seed", "test accuracy", "train seconds", "epochs", "train images/s"], rows)


if __name__ == "__main__":
    main()
