"""Raccoon: Trident's default detector against keras-cv's YOLOV8Detector, side by side.

    .venv/bin/python bench/detection_raccoon.py [--budget 600] [--data ../shared/datasets/raccoon]

Same data (the author's 160/40 split; both train on the same 144 images, Trident keeps
16 for choosing its checkpoint), same 320 px letterbox pipeline and augmentation, same
wall-clock budget, same learning-rate schedule shape, both from scratch, and the same
evaluation code (pycocotools over every test image). keras-cv's model is the YOLOV8 "xs"
configuration built directly (presets need the network), about the size of Trident's.
"""

import argparse
import csv
import os
import statistics
import tempfile
import time

import _common
import keras
import numpy as np

from shared.callbacks import Throughput, TimeBudget, WarmupCosine
from shared.data.detection import load_detection_data
from shared.data.detection_pipeline import build_box_augmenter, detection_dataset
from shared.io import read_json
from shared.training import set_seed
from shared.actions import train
from tasks.detection.task import TASK
from tasks.detection.metrics import coco_evaluate, coco_ground_truth, coco_results

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "raccoon")
SIZE = 320


def author_split(source, target):
    """Link the author's train/test files into target/{train,test}/{images,annotations}."""
    for split in ("train", "test"):
        with open(os.path.join(source, "data", f"{split}_labels.csv")) as f:
            names = sorted({row["filename"] for row in csv.DictReader(f)})
        for kind, ext in (("images", ""), ("annotations", ".xml")):
            os.makedirs(os.path.join(target, split, kind), exist_ok=True)
            for name in names:
                file = name if kind == "images" else os.path.splitext(name)[0] + ext
                os.symlink(os.path.abspath(os.path.join(source, kind, file)), os.path.join(target, split, kind, file))
    return target


def ms_per_image(model, image):
    for _ in range(3):
        model.predict(image, verbose=0)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        model.predict(image, verbose=0)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def run_trident(data, budget, runs_dir):
    run = train.main(TASK, ["--data", data, "--image-size", str(SIZE), "--epochs", "1000",
                            "--time-budget", f"{budget}s",
                      "--runs-dir", runs_dir, "--name", "raccoon", "--restart", "--verbose", "2"])
    _, coco = TASK.evaluate(run)
    state = read_json(run.file("state.json"))
    from shared.task_model import load_checkpoint

    model = load_checkpoint(run.best_or_last())
    speed = ms_per_image(model, np.zeros((1, SIZE, SIZE, 3), np.float32))
    return coco, state["train_images_per_second"], speed, model.count_params(), state["epochs_done"]


def run_keras_cv(splits, budget, lr=1e-3, backbone=None):
    """keras-cv's YOLOV8 detector trained in `budget` seconds: on its own xs backbone from scratch, or on
    `backbone` (a keras.Model with keras-cv's `pyramid_level_inputs`, e.g. a pretrained one)."""
    import keras_cv

    set_seed(0)
    backbone = backbone or keras_cv.models.YOLOV8Backbone(stackwise_channels=[32, 64, 128, 256],
                                                          stackwise_depth=[1, 2, 2, 1], include_rescaling=True,
                                                          activation="swish")
    model = keras_cv.models.YOLOV8Detector(
        num_classes=len(splits["train"].class_names), bounding_box_format="xyxy", backbone=backbone, fpn_depth=1,
        prediction_decoder=keras_cv.layers.MultiClassNonMaxSuppression(
            bounding_box_format="xyxy", from_logits=False, confidence_threshold=0.001, iou_threshold=0.6,
            max_detections=100))
    model.compile(optimizer=keras.optimizers.Adam(lr, global_clipnorm=10.0), classification_loss="binary_crossentropy",
                  box_loss="ciou")
    to_kcv = lambda x, y: {"images": x, "bounding_boxes": {"boxes": y["boxes"],  # noqa: E731
                                                             "classes": keras.ops.cast(y["labels"], "float32")}}
    train_ds = detection_dataset(splits["train"], SIZE, 16, training=True, augment=build_box_augmenter(
        ["flip", "crop", "color"])).map(to_kcv)
    steps = int(np.ceil(len(splits["train"]) / 16))
    meter = Throughput(len(splits["train"]))
    model.fit(train_ds, epochs=1000, verbose=2, callbacks=[
        WarmupCosine(lr, 1000, steps, 1.0, budget), TimeBudget(budget), meter])
    test = splits["test"]
    detections, index = [], 0
    for images, _ in detection_dataset(test, SIZE, 8):
        out = model.predict(images, verbose=0)
        for b in range(len(out["num_detections"])):
            n = int(out["num_detections"][b])
            height, width = test.sizes[index]
            boxes = np.asarray(out["boxes"][b][:n]) / (SIZE / max(height, width))
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
            detections.append((boxes, np.asarray(out["confidence"][b][:n]), np.asarray(out["classes"][b][:n])))
            index += 1
    coco = coco_evaluate(coco_ground_truth(test.boxes, test.labels, test.sizes, test.class_names),
                         coco_results(detections))
    speed = ms_per_image(model, np.zeros((1, SIZE, SIZE, 3), np.float32))
    return coco, meter.images_per_second(), speed, model.count_params(), len(meter.epoch_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=DEFAULT)
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds for each model")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="trident-raccoon-")
    data = author_split(args.data, os.path.join(work, "raccoon"))
    splits, info = load_detection_data(data, seed=0)
    print(f"split: {info['counts']}")
    rows = []
    for name, result in (("Trident (compact + PAN, TAL)", run_trident(data, args.budget, os.path.join(work, "runs"))),
                         ("keras-cv YOLOV8Detector (xs)", run_keras_cv(splits, args.budget))):
        coco, images_per_second, ms, params, epochs = result
        rows.append([name, coco["AP50"], coco["AP"], images_per_second, ms, params, epochs])
    _common.table(["model", "AP50", "AP@[.50:.95]", "train images/s", "inference ms/image", "parameters", "epochs"],
                  rows)
    print(f"budget {args.budget:.0f} s each, {SIZE} px, test images {len(splits['test'])}")


if __name__ == "__main__":
    main()
