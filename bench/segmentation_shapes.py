"""Built-in shapes with the default segmentation config: test-split mean IoU and training time.

    .venv/bin/python -m bench segmentation_shapes [--time-budget 10m]

Target (issue): mean IoU >= 0.90 on the test split within 10 minutes of training on a
2-core CPU.
"""

import argparse
import tempfile

from bench import _common

from shared.io import read_json
from shared.actions import train
from tasks.segmentation.task import TASK


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-budget", default="10m")
    parser.add_argument("--runs-dir", default=tempfile.mkdtemp(prefix="trident-bench-"))
    args = parser.parse_args()
    run = train.main(TASK, ["--config", "tasks/segmentation/configs/shapes.yaml", "--time-budget", args.time_budget,
                      "--runs-dir", args.runs_dir, "--name", "segmentation-shapes", "--restart", "--verbose", "2"])
    paths, scores = TASK.evaluate(run)
    state = read_json(run.file("state.json"))
    _common.table(["data", "mean IoU", "pixel accuracy", "train seconds", "epochs", "ended", "train images/s"],
                  [["shapes test (200 images)", scores["mean_iou"], scores["pixel_accuracy"], state["train_seconds"],
                    state["epochs_done"], state["ended"], state["train_images_per_second"]]])
    print(f"Report: {paths['html']}")


if __name__ == "__main__":
    main()
