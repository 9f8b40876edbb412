"""Built-in shapes with the default detection config: test-split COCO AP and training time.

    .venv/bin/python -m bench detection_shapes [--time-budget 10m]

Target (issue): AP50 >= 0.95 and AP@[.50:.95] >= 0.70 on the test split within 10
minutes of training on a 2-core CPU.
"""

import argparse
import tempfile

from bench import _common

from shared.io import read_json
from shared.actions import train
from tasks.detection.task import TASK


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-budget", default="10m")
    parser.add_argument("--runs-dir", default=tempfile.mkdtemp(prefix="trident-bench-"))
    args = parser.parse_args()
    run = train.main(TASK, ["--config", "tasks/detection/configs/shapes.yaml", "--time-budget", args.time_budget,
                      "--runs-dir", args.runs_dir, "--name", "detection-shapes", "--restart", "--verbose", "2"])
    paths, coco = TASK.evaluate(run)
    state = read_json(run.file("state.json"))
    _common.table(["data", "AP@[.50:.95]", "AP50", "AP75", "train seconds", "epochs", "ended", "train images/s"],
                  [["shapes test (200 images)", coco["AP"], coco["AP50"], coco["AP75"], state["train_seconds"],
                    state["epochs_done"], state["ended"], state["train_images_per_second"]]])
    print(f"Report: {paths['html']}")


if __name__ == "__main__":
    main()
