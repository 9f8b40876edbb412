"""Does the converted EfficientNet-Lite see photos as an ImageNet network does?

    .venv/bin/python -m bench imagenet_check                  # lite0, the raccoon photos and two sample photos
    .venv/bin/python -m bench imagenet_check --variant lite2 --images 'DIR/*.jpg'

The converted network with its ImageNet head classifies real photos; the script prints each
sample photo's top 3, and for the folder of photos the most frequent top-1 and top-5 classes and
the share whose top-1 is a mammal. ImageNet-1k has no raccoon class, so the raccoon photos
check that the answers are the animals nearest to one (badger, weasel, fox...), not noise.
Class names come from tensorflow-datasets (installed with keras-cv).
"""

import argparse
import collections
import glob
import os

from bench import _common  # noqa: F401  (quiet TensorFlow logs)
import numpy as np
import tensorflow as tf
from tensorflow_datasets.datasets.siscore.labels import IMAGENET_LABELS_LIST

from shared.backbones.efficientnet_lite import VARIANTS, imagenet_classifier

HERE = os.path.dirname(os.path.abspath(__file__))
RACCOON = os.path.join(HERE, "..", "..", "shared", "datasets", "raccoon", "images", "*.jpg")
# ImageNet-1k indices of mammals: dogs, wolves, foxes, cats, bears, mongooses (151-299) and the
# other mammals from hares to pandas (330-388).
MAMMALS = set(range(151, 300)) | set(range(330, 389))


def short(index):
    return IMAGENET_LABELS_LIST[index].split(",")[0]


def classify(model, path, size):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return np.asarray(model(tf.image.resize(tf.cast(image, tf.float32), (size, size))[None]))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="lite0", choices=sorted(VARIANTS))
    parser.add_argument("--images", default=RACCOON, help="glob of photos to summarise")
    args = parser.parse_args()
    size = VARIANTS[args.variant][2]
    model = imagenet_classifier(args.variant)
    from sklearn.datasets import load_sample_image  # scikit-learn's two sample photos

    for name in ("china.jpg", "flower.jpg"):
        probabilities = np.asarray(model(tf.image.resize(load_sample_image(name)[None].astype(np.float32),
                                                         (size, size))))[0]
        top = np.argsort(-probabilities)[:3]
        print(f"{name}: " + ", ".join(f"{short(i)} {probabilities[i]:.2f}" for i in top))
    files = sorted(glob.glob(args.images))
    if not files:
        raise SystemExit(f"No photos match {args.images}")
    first, five, mammal = collections.Counter(), collections.Counter(), 0
    for path in files:
        top = np.argsort(-classify(model, path, size))[:5]
        first[short(top[0])] += 1
        five.update(short(i) for i in top)
        mammal += int(top[0]) in MAMMALS
    print(f"{len(files)} photos of {args.images}: top-1 a mammal for {mammal / len(files):.0%}")
    print("most frequent top-1: " + ", ".join(f"{name} {count}" for name, count in first.most_common(6)))
    print("most frequent in the top 5: " + ", ".join(f"{name} {count}" for name, count in five.most_common(6)))


if __name__ == "__main__":
    main()
