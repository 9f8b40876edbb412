"""ISBI 2012 membranes: Trident's default segmenter against keras-cv's DeepLabV3Plus.

    .venv/bin/python bench/segmentation_isbi.py [--budget 300] [--data ../shared/datasets/isbi2012_membrane]

Slices 0-23 train, 24-29 test, 256 px. Same data pipeline and augmentation, same
wall-clock budget, same learning-rate schedule shape, both from scratch, and the same
metric code: each model's probabilities at 256 px are resized back to 512 px and scored
with Trident's confusion-matrix IoU. keras-cv's model is DeepLabV3Plus on a ResNetV2
backbone narrowed to about Trident's backbone size, with a 96-channel ASPP (its decoder
head stays 256 wide; presets need the network). Classes: 0 =
membrane (mask value 0), 1 = cell interior (mask value 255).
"""

import argparse
import os
import tempfile

import _common
import keras
import numpy as np
import tensorflow as tf

from shared.callbacks import Throughput, TimeBudget, WarmupCosine
from shared.data.preprocess import resize_images
from shared.data.segmentation import load_segmentation_data
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.errors import fail
from shared.io import read_json
from shared.training import set_seed
from shared.actions import train
from tasks.segmentation.task import TASK
from tasks.segmentation.metrics import confusion_matrix, scores_from_confusion

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "isbi2012_membrane")
SIZE = 256


def write_split(source, target):
    """Link slices 0-23 to train/ and 24-29 to test/, with a YAML mapping mask values to classes."""
    missing = [f"train/{sub}/{i}.png" for sub in ("image", "label") for i in range(30)
               if not os.path.isfile(os.path.join(source, "train", sub, f"{i}.png"))]
    if missing:
        fail(f"The ISBI data at {source} lacks {len(missing)} slice files (first: {missing[0]})",
             "Pass --data with the folder that holds train/image/0..29.png and train/label/0..29.png", data=source)
    for split, ids in (("train", range(0, 24)), ("test", range(24, 30))):
        for kind, sub in (("images", "image"), ("masks", "label")):
            os.makedirs(os.path.join(target, split, kind), exist_ok=True)
            for i in ids:
                os.symlink(os.path.abspath(os.path.join(source, "train", sub, f"{i}.png")),
                           os.path.join(target, split, kind, f"{i}.png"))
    path = os.path.join(target, "isbi.yaml")
    with open(path, "w") as f:
        f.write("train: train\ntest: test\nnames: [membrane, cell]\nmask_values: {0: 0, 255: 1}\nignore: 128\n")
    return path


def score(predict, test, size=SIZE):
    """Same code for both models: `size` px probabilities, resized to each image's size, arg-max, IoU."""
    classes = len(test.class_names)
    total = np.zeros((classes, classes), np.int64)
    for i in range(len(test)):
        image, mask = test.image(i), test.mask(i)
        probabilities = predict(resize_images(image[None], size))
        probabilities = tf.image.resize(probabilities, image.shape[:2], method="bilinear")
        total += confusion_matrix(mask, tf.argmax(probabilities, -1)[0].numpy(), classes)
    return scores_from_confusion(total, test.class_names)


def run_trident(data, budget, runs_dir, test):
    run = train.main(TASK, ["--data", data, "--image-size", str(SIZE), "--epochs", "1000",
                            "--time-budget", f"{budget}s",
                      "--batch-size", "8", "--val-fraction", "0.125", "--runs-dir", runs_dir, "--name", "isbi",
                      "--restart", "--verbose", "2"])
    from shared.task_model import load_checkpoint

    model = load_checkpoint(run.best_or_last())
    state = read_json(run.file("state.json"))
    return score(lambda x: model(x, training=False), test), state["train_images_per_second"], model.count_params()


def run_keras_cv(splits, budget, lr=2e-3, size=SIZE, batch=8, backbone=None):
    """keras-cv's DeepLabV3Plus trained in `budget` seconds: on a small ResNetV2 from scratch, or on
    `backbone` (a keras.Model with keras-cv's `pyramid_level_inputs`, e.g. a pretrained one)."""
    import keras_cv

    set_seed(0)
    backbone = backbone or keras_cv.models.ResNetV2Backbone(stackwise_filters=[24, 48, 96, 192],
                                                            stackwise_blocks=[2, 2, 2, 2],
                                                            stackwise_strides=[1, 2, 2, 2], include_rescaling=True)
    pyramid = keras_cv.layers.SpatialPyramidPooling(dilation_rates=[6, 12, 18], num_channels=96)
    model = keras_cv.models.DeepLabV3Plus(backbone=backbone, num_classes=len(splits["train"].class_names),
                                          spatial_pyramid_pooling=pyramid)
    model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy())
    train_ds = segmentation_dataset(splits["train"], size, batch, training=True, augment=["flip", "crop", "color"])
    steps = int(np.ceil(len(splits["train"]) / batch))
    meter = Throughput(len(splits["train"]))
    model.fit(train_ds, epochs=1000, verbose=2, callbacks=[WarmupCosine(lr, 1000, steps, 1.0, budget),
                                                          TimeBudget(budget), meter])
    return (score(lambda x: model(x, training=False), splits["test"], size), meter.images_per_second(),
            model.count_params())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds for each model")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="trident-isbi-")
    data = write_split(args.data, os.path.join(work, "isbi"))
    splits, info = load_segmentation_data(data, seed=0, val_fraction=0.125)
    print(f"split: {info['counts']}")
    rows = []
    for name, result in (("Trident (compact + DeepLabV3+)", run_trident(data, args.budget, os.path.join(work, "runs"),
                                                                        splits["test"])),
                         ("keras-cv DeepLabV3Plus (ResNetV2, narrowed)", run_keras_cv(splits, args.budget))):
        scores, images_per_second, params = result
        rows.append([name, scores["mean_iou"], scores["pixel_accuracy"], scores["per_class"]["membrane"]["iou"],
                     images_per_second, params])
    _common.table(["model", "mean IoU", "pixel accuracy", "membrane IoU", "train images/s", "parameters"], rows)
    print(f"budget {args.budget:.0f} s each, {SIZE} px, train {info['counts']['train']} slices "
          f"(Trident keeps {info['counts']['val']} of the 24 for choosing its checkpoint; keras-cv trains on the same "
          f"{info['counts']['train']}), test slices 24-29")


if __name__ == "__main__":
    main()
