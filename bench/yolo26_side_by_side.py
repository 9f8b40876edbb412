"""Detection latency side by side: a Trident detector's SavedModel and TFLite exports against
Ultralytics' YOLO26n, one image at a time, on the same letterboxed images and machine.

    .venv/bin/python -m bench yolo26_side_by_side --run RUN --export saved_models/NAME \
        --yolo-python /path/to/python-with-ultralytics [--yolo-model yolo26n.yaml] [--yolo-threads N] [--rounds 3]

Give `--run` and `--export` again (in pairs) to time several detectors in the same turns, e.g. two
heads trained on the same data; the images are the first run's.

Ultralytics lives in its own Python (it brings PyTorch), so its side runs in a child process
(`bench/_ultralytics_child.py`) that stays loaded and times its images whenever the parent asks:
the runtimes take turns, round after round, so that machine drift falls on all of them. Each
runtime answers every image of the run's test split (its validation split without one; at most
`--images`), letterboxed to the model's size as uint8, end to end: Trident's exports from uint8
pixels to final boxes (their own score threshold and NMS), YOLO26n through `YOLO.predict` from the
array to its `Results` (pre-processing, network, its NMS-free top-k post-processing).
`--yolo-model yolo26n.yaml` builds YOLO26n untrained (nothing to download), its one-to-one head
switched on as its trained weights are served; that post-processing keeps a fixed top-k, so its
time per image does not depend on the weights. Give a `.pt` file to
time trained weights instead. The AP of each Trident format comes from `trident detection
benchmark`; an untrained YOLO26n has none.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import _common
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def per_image_median(answer, images):
    times = []
    for image in images:
        start = time.perf_counter()
        answer(image[None])
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def main():
    from shared.actions.benchmark import _matching_export, _saved_model, _tflite, cpu_threads
    from shared.data.recorded import run_splits
    from shared.engine.runs import open_run
    from shared.task_model import load_checkpoint
    from tasks.detection.benchmark import prepare
    from shared.settings import run_config
    from tasks.detection.task import TASK

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, action="append", help="a detection run (repeat to time several)")
    parser.add_argument("--export", required=True, action="append",
                        help="an export of the run with the tflite format (one per --run, in the same order)")
    parser.add_argument("--yolo-python", required=True, help="a Python with `ultralytics` installed")
    parser.add_argument("--yolo-model", default="yolo26n.yaml")
    parser.add_argument("--yolo-threads", help="PyTorch threads for YOLO26n (default: Ultralytics' own choice)")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if len(args.run) != len(args.export):
        parser.error("give one --export for each --run")

    exports = []
    for path, export in zip(args.run, args.export):
        model = load_checkpoint(open_run(path).best_or_last())
        exports.append((_matching_export(export, model), model.image_size))
    if len({size for _, size in exports}) > 1:
        parser.error("the detectors side by side need the same input size")
    run = open_run(args.run[0])
    config = run_config(run, TASK)
    splits, _ = run_splits(run, config, lambda val, test: TASK.read(config["data"], config["seed"], val, test,
                                                            config.get("images"), config["image_size"]))
    part = "test" if len(splits["test"]) else "val"
    images, _ = prepare(splits[part], exports[0][1], args.images)
    del model
    stack = os.path.join(tempfile.mkdtemp(prefix="trident-yolo-"), "images.npy")
    np.save(stack, images)
    child = subprocess.Popen([args.yolo_python, os.path.join(HERE, "_ultralytics_child.py"), stack, args.yolo_model,
                              *([args.yolo_threads] if args.yolo_threads else [])],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = json.loads(child.stdout.readline())
    runtimes = {}
    for export, _ in exports:
        # NAME/VERSION
        label = f" ({'/'.join(os.path.normpath(export).split(os.sep)[-2:])})" if len(exports) > 1 else ""
        runtimes["Trident SavedModel" + label] = _saved_model(export)
        tflite = os.path.join(export, "model.tflite")
        if os.path.isfile(tflite):
            runtimes["Trident TFLite" + label] = _tflite(tflite)[0]
    for answer in runtimes.values():  # warm-up
        for image in images[:3]:
            answer(image[None])

    def yolo():
        child.stdin.write("time\n")
        child.stdin.flush()
        answer = json.loads(child.stdout.readline())
        yolo.stages.append(answer["stages_ms"])
        return answer["median_ms"]

    yolo.stages = []
    name = f"YOLO26n ({os.path.basename(args.yolo_model)}, {ready['parameters']:,} parameters)"
    order = [*runtimes, name]
    rounds = {key: [] for key in order}
    for turn in range(args.rounds):
        for key in (order if turn % 2 == 0 else order[::-1]):
            rounds[key].append(yolo() if key == name else per_image_median(runtimes[key], images))
    child.stdin.write("quit\n")
    child.stdin.close()
    child.wait()
    print(f"{len(images)} images of the {part} split of {run.path}, letterboxed to {images.shape[1]} px, one at a "
          f"time; {args.rounds} rounds in turns (PyTorch threads: {ready['threads']}, TFLite threads: {cpu_threads()}, "
          f"YOLO26n end-to-end head: "
          f"{ready['end2end']})")
    _common.table(["runtime", "median ms per image (median of rounds)", "rounds"],
                  [[key, statistics.median(values), " / ".join(f"{v:.1f}" for v in values)]
                   for key, values in rounds.items()])
    stages = {k: statistics.median(s[k] for s in yolo.stages) for k in yolo.stages[0]}
    print("YOLO26n's own stage times (ms, median): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))


if __name__ == "__main__":
    sys.exit(main())
