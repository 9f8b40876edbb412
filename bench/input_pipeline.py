"""Input pipeline speed on real JPEG files against training speed at the same size.

    .venv/bin/python bench/input_pipeline.py [IMAGE_DIR] [--image-size 128]

IMAGE_DIR defaults to the raccoon photos beside the project (200 JPEGs, 178 to 2000 px
wide). Measures, with the pipeline alone: the first epoch (read, decode, resize: the
uncached cost), later epochs (cached, shuffled, augmented), and the compact classifier's
training images/s on in-memory batches of the same size. Training never waits on input
when the pipeline's images/s is well above training's.
"""

import argparse
import os
import time

import _common
import keras
import numpy as np

from shared.backbones import build_backbone
from shared.data.augment import build_augmenter
from shared.data.images import is_image_file
from shared.data.imageset import ImageSet
from shared.data.pipeline import image_dataset
from tasks.classification.model import build_classifier

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "raccoon", "images")


def epoch_rate(ds, n):
    start = time.perf_counter()
    for _ in ds:
        pass
    return n / (time.perf_counter() - start)


def training_rate(size, batch_size, steps=15):
    model = build_classifier(build_backbone("compact"), 2, size, None)
    model.compile()
    x = np.random.default_rng(0).uniform(0, 255, (batch_size, size, size, 3)).astype(np.float32)
    y = np.zeros(batch_size, np.int32)
    for _ in range(3):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("images", nargs="?", default=DEFAULT)
    parser.add_argument("--image-size", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    paths = sorted(os.path.join(args.images, f) for f in os.listdir(args.images) if is_image_file(f))
    data = ImageSet(labels=np.zeros(len(paths), np.int32), class_names=["x"], paths=paths)
    rows = []
    for size in args.image_size:
        ds = image_dataset(data, size, args.batch_size, training=True, augmenter=build_augmenter(["flip", "crop", "color"]))
        first = epoch_rate(ds, len(data))
        cached = np.mean([epoch_rate(ds, len(data)) for _ in range(3)])
        train = training_rate(size, args.batch_size)
        rows.append([size, len(data), first, cached, train, cached / train])
    _common.table(["px", "images", "pipeline 1st epoch (decode) img/s", "pipeline cached+augment img/s",
                   "training img/s (compact)", "pipeline / training"], rows)
    print(f"CPU cores: {os.cpu_count()}, keras {keras.__version__}")


if __name__ == "__main__":
    main()
