"""Training throughput: `trident classification train` against a bare `keras.Model.fit`.

    .venv/bin/python -m bench throughput [--epochs 5] [--backbone compact] [--image-size 32] [--pairs 5]

Same network, same optimizer, same batch size, same data (built-in digits), side by side
in one process. Bare fit gets in-memory float32 arrays already resized; Trident reads
through its tf.data pipeline with its callbacks (checkpoints, CSV and TensorBoard logs,
NaN guard, time budget, LR schedule). Both are timed by the same callback, first batch
to last batch of each epoch, leaving out the first epoch (tracing). Target: Trident at
least 0.95 of bare fit.
"""

import argparse
import tempfile

from bench import _common
import keras
import numpy as np

from shared.backbones import build_backbone
from shared.backbones.classic import as_drawn
from shared.engine.callbacks import Throughput
from shared.data.builtin import digits
from shared.data.preprocess import resize_images
from shared.io import read_json
from shared.engine.training import set_seed
from shared.actions import train
from tasks.classification.task import TASK
from tasks.classification.model import build_classifier


def bare_fit(images, labels, args):
    """Keras `fit` of the network Trident builds for digits (grayscale: one input channel; a
    classic at its native size as drawn)."""
    set_seed(0)
    backbone = build_backbone(args.backbone, input_channels=1, **as_drawn(args.backbone, args.image_size))
    model = build_classifier(backbone, 10, args.image_size, None)
    model.compile(optimizer=keras.optimizers.AdamW(2e-3, weight_decay=1e-4))
    meter = Throughput(len(labels))
    model.fit(images, labels, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[meter])
    return meter.images_per_second()


def textbook_lenet5(images, labels, args):
    """A plain Keras LeNet-5 as textbooks write it: 32x32x1 in, tanh, average pooling, 61,706 parameters."""
    set_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((32, 32, 1)), layers.Rescaling(1.0 / 255.0),
        layers.Conv2D(6, 5, activation="tanh"), layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"), layers.AveragePooling2D(2),
        layers.Conv2D(120, 5, activation="tanh"), layers.Flatten(),
        layers.Dense(84, activation="tanh"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.AdamW(2e-3, weight_decay=1e-4), loss="sparse_categorical_crossentropy")
    meter = Throughput(len(labels))
    model.fit(images[..., :1], labels, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[meter])
    return meter.images_per_second()


def trident_fit(args, augment, runs_dir):
    run = train.main(TASK, ["--data", "digits", "--backbone", args.backbone, "--image-size", str(args.image_size),
                      "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--augment", augment,
                      "--runs-dir", runs_dir, "--name", f"throughput-{augment}", "--restart", "--verbose", "0"])
    return read_json(run.file("state.json"))["train_images_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--backbone", default="compact")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=1,
                        help="bare fit and Trident in turn this many times; the ratio is taken pair by pair "
                             "(so the machine's drift cancels) and its median reported")
    args = parser.parse_args()
    data = digits()["train"]
    images = np.asarray(resize_images(data.images, args.image_size))
    runs_dir = tempfile.mkdtemp(prefix="trident-bench-")
    if args.pairs > 1:
        return paired(images, data.labels, args, runs_dir)
    bare = bare_fit(images, data.labels, args)
    plain = trident_fit(args, "none", runs_dir)
    augmented = trident_fit(args, "crop", runs_dir)
    bare_again = bare_fit(images, data.labels, args)
    reference = (bare + bare_again) / 2
    rows = [
        ["bare keras fit, in-memory arrays (mean of 2)", reference, 1.0],
        ["trident train, no augmentation", plain, plain / reference],
        ["trident train, default digits augmentation (crop)", augmented, augmented / reference],
    ]
    if args.backbone == "lenet5" and args.image_size == 32:
        textbook = textbook_lenet5(images, data.labels, args)
        rows.append(["plain keras textbook LeNet-5 (Sequential, 1 channel)", textbook, textbook / reference])
        print(f"trident train (no augmentation) / textbook LeNet-5: {plain / textbook:.2f}")
    _common.table(["setup", "train images/s", "ratio to bare fit"], rows)
    print(f"bare fit runs: {bare:.1f}, {bare_again:.1f} images/s; {args.backbone}, {args.image_size} px, "
          f"batch {args.batch_size}, {args.epochs} epochs")


def paired(images, labels, args, runs_dir):
    """Bare fit, Trident (no augmentation) and, for LeNet-5 at 32 px, the textbook LeNet-5 in turn,
    `args.pairs` times: medians of each and of the per-turn ratios."""
    textbook = args.backbone == "lenet5" and args.image_size == 32
    turns = []
    for turn in range(args.pairs):
        row = {"bare": bare_fit(images, labels, args), "trident": trident_fit(args, "none", runs_dir)}
        if textbook:
            row["textbook"] = textbook_lenet5(images, labels, args)
        turns.append(row)
        print(f"turn {turn + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
    rows = [[name, float(np.median([t[name] for t in turns])),
             float(np.median([t["trident"] / t[name] for t in turns]))] for name in turns[0]]
    _common.table(["setup", "median train images/s", "median of trident / this, turn by turn"], rows)
    print(f"{args.backbone}, {args.image_size} px, batch {args.batch_size}, {args.epochs} epochs, "
          f"{args.pairs} turns")


if __name__ == "__main__":
    main()
