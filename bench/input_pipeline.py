"""Input pipeline against training: can the first (uncached) epoch keep training fed?

    .venv/bin/python -m bench input_pipeline                  # weather4 + 48 generated 12 MP photos
    .venv/bin/python -m bench input_pipeline --data DIR --large 0

For each data set (a folder of class sub-folders; weather4 beside the project by default,
and `--large` generated photos of `--large-size`), each configuration runs in its own
process so its peak memory is its own, and measures:
- read + check: the reader's pass (file list, every file decoded once at 1/8 scale);
- first epoch: read, decode, resize, augment, as training's first epoch does (nothing
  cached yet), the median of three passes through new datasets;
- cached epoch: the later epochs (from the in-memory cache, shuffled, augmented);
- resident memory before the first epoch, and how much the first of those passes adds at
  its peak (sampled every 10 ms; the in-memory cache at the training size is part of it).
`reduced` is Trident's decode (JPEGs at 1/2..1/8 scale while both sides stay at least
the training size); `full` decodes every JPEG at full size first, for comparison.
The training rate is the default classifier's `train_on_batch` images/s at the same size
and batch. Training never waits on input while the first epoch's images/s is well above it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench import _common
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WEATHER4 = os.path.join(HERE, "..", "..", "shared", "datasets", "weather4", "weather_image(dataset)", "train")


def write_large_photos(root, count, width, height, seed=0):
    """`count` JPEG photos of `width x height` in two class folders: smooth colour plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(count):
        folder = os.path.join(root, "ab"[i % 2])
        os.makedirs(folder, exist_ok=True)
        phase = rng.uniform(0, 6.28, 3)
        image = np.stack([127 + 100 * np.sin(xs / (150 + 40 * c) + ys / 230 + phase[c]) for c in range(3)], -1)
        image += rng.normal(0, 12, (height, width, 1))
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"{i}.jpg"), quality=90)
    return root


def epoch_rate(ds, n):
    start = time.perf_counter()
    for _ in ds:
        pass
    return n / (time.perf_counter() - start)


class PeakRSS:
    """Samples this process's resident memory every 10 ms while running."""

    def __enter__(self):
        import threading

        self.peak, self.base, self._stop = 0, rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def pipeline_child(data, size, batch, decode):
    """One configuration in this process: print a JSON line of its figures."""
    import shared.data.pipeline as pipeline
    from shared.data.classification import load_classification_data
    from shared.data.decode import decode_image

    if decode == "full":  # what the pipeline did before reduced-scale decoding, for comparison
        pipeline.decode_image = lambda data, min_side=None, side="short": decode_image(data)
    start = time.perf_counter()
    splits, _ = load_classification_data(data, val_fraction=0.0, test_fraction=0.0)
    read = time.perf_counter() - start
    train = splits["train"]
    firsts, peaks, base = [], [], rss_mb()
    for _ in range(3):  # a new dataset has an empty cache: each pass is a first epoch
        ds = pipeline.image_dataset(train, size, batch, training=True, augment=["flip", "crop", "color"])
        with PeakRSS() as memory:
            firsts.append(epoch_rate(ds, len(train)))
        peaks.append(memory.peak - memory.base)
    first = float(np.median(firsts))
    cached = float(np.median([epoch_rate(ds, len(train)) for _ in range(3)]))
    print(json.dumps({"images": len(train), "read_s": read, "first": first, "cached": cached,
                      "base_mb": base, "adds_mb": peaks[0]}))


def training_child(size, batch, steps=10):
    from shared.backbones import build_backbone
    from tasks.classification.model import build_classifier

    model = build_classifier(build_backbone("compact"), 4, size, None)
    model.compile()
    x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    y = np.zeros(batch, np.int32)
    for _ in range(3):
        model.train_on_batch(x, y)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        rates.append(steps * batch / (time.perf_counter() - start))
    print(json.dumps({"train": float(np.median(rates))}))


def child(*args):
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=WEATHER4, help="a folder of class sub-folders")
    parser.add_argument("--large", type=int, default=48, help="generated large photos (0: none)")
    parser.add_argument("--large-size", default="4000x3000", help="their WIDTHxHEIGHT")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "train":
            training_child(int(rest[0]), int(rest[1]))
        else:
            pipeline_child(rest[0], int(rest[1]), int(rest[2]), kind)
        return
    sets = [("given", args.data)] if args.data else []
    if args.large:
        width, height = map(int, args.large_size.split("x"))
        folder = write_large_photos(tempfile.mkdtemp(prefix="trident-large-"), args.large, width, height)
        sets.append((f"{args.large} generated {args.large_size} JPEGs", folder))
    train = child("train", args.image_size, args.batch_size)["train"]
    rows = []
    for label, data in sets:
        label = os.path.basename(os.path.dirname(os.path.normpath(data))) if label == "given" else label
        for decode in ("reduced", "full"):
            r = child(decode, data, args.image_size, args.batch_size)
            rows.append([label, decode, r["images"], round(r["read_s"], 1), round(r["first"], 1),
                         round(r["cached"], 1), round(train, 1), round(r["first"] / train, 2), round(r["base_mb"]),
                         round(r["adds_mb"])])
    _common.table(["data", "decode", "images", "read + check s", "1st epoch img/s", "cached epoch img/s",
                   "training img/s", "1st epoch / training", "RSS before MB", "1st epoch adds MB"], rows)
    print(f"image size {args.image_size}, batch {args.batch_size}, CPU cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
