"""Training-step speed of a pretrained EfficientNet-Lite0 task model, frozen to each `--freeze` level.

    .venv/bin/python -m bench frozen_speed --task detection        # batch 16 at 320 px
    .venv/bin/python -m bench frozen_speed --task classification   # batch 32 at 192 px

Batch norm is frozen throughout (the pretrained default); each level builds the model afresh,
trains two warm-up steps (tracing), then times `--steps` steps on one random batch repeated, so
the input pipeline is left out.
"""

import argparse
import time

from bench import _common  # noqa: F401  (quiet TensorFlow logs)
import numpy as np
import tensorflow as tf

from shared.backbones import build_backbone
from shared.engine.training import build_optimizer

SETTINGS = {"detection": (320, 16), "classification": (192, 32)}


def model_for(task, frozen_to):
    backbone = build_backbone("efficientnet_lite0", weights="imagenet", frozen_bn=True, frozen_to=frozen_to)
    size, batch = SETTINGS[task]
    images = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype("float32")
    if task == "detection":
        from tasks.detection.model import build_detector

        model = build_detector(backbone, 3, size, ["a", "b", "c"])
        boxes = np.tile(np.array([[[10, 10, 60, 60], [100, 100, 200, 180]]], "float32"), (batch, 1, 1))
        targets = {"boxes": boxes, "labels": np.zeros((batch, 2), "int32")}
    else:
        from tasks.classification.model import build_classifier

        model = build_classifier(backbone, 4, size, list("abcd"))
        targets = np.zeros(batch, "int32")
    model.compile(optimizer=build_optimizer({"lr": 1e-3, "weight_decay": 1e-4}))
    return model, tf.data.Dataset.from_tensors((images, targets)), batch


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(SETTINGS), default="detection")
    parser.add_argument("--levels", default="none,P1,P2,P3", help="comma list of --freeze levels")
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    for level in args.levels.split(","):
        model, one_batch, batch = model_for(args.task, None if level == "none" else level)
        model.fit(one_batch.repeat(2), verbose=0, shuffle=False)
        start = time.perf_counter()
        model.fit(one_batch.repeat(args.steps), verbose=0, shuffle=False)
        seconds = time.perf_counter() - start
        print(f"{args.task} frozen to {level}: {len(model.trainable_weights)} trainable tensors, "
              f"{args.steps * batch / seconds:.1f} images/s")


if __name__ == "__main__":
    main()
