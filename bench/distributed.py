"""Multi-worker training on this machine: one process against two workers on 127.0.0.1.

    .venv/bin/python -m bench distributed [--epochs 4] [--batch-size 64] [--image-size 32]

Trains `trident classification train --data digits` (compact backbone, no augmentation)
three ways with the same global batch: one process (`--strategy one_device`), and two
worker processes (`--strategy multi_worker`, TF_CONFIG on loopback ports). Prints training
images/s (the chief's, after the first epoch) and the time of one step, then the
communication alone: two processes all-reducing a float32 vector the size of the model's
gradients, as every training step does (median of 50). Both workers share this machine's
cores, so the figures show the price of coordination, not a speed-up.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench import _common

from shared.engine.distribute import free_ports, loopback_tf_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(folder, args, workers):
    """Train with `workers` processes (1: one_device); returns the chief's state.json."""
    command = [sys.executable, "-m", "tasks.cli", "classification", "train", "--data", "digits",
               "--backbone", "compact", "--image-size", str(args.image_size), "--batch-size", str(args.batch_size),
               "--epochs", str(args.epochs), "--augment", "none", "--runs-dir", folder, "--name", "r",
               "--verbose", "0", "--strategy", "one_device" if workers == 1 else "multi_worker"]
    ports = free_ports(workers)
    env = [dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                **({"TF_CONFIG": loopback_tf_config(ports, i)} if workers > 1 else {})) for i in range(workers)]
    children = [subprocess.Popen(command, cwd=ROOT, env=env[i], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for i in range(workers)]
    for child in children:
        output, _ = child.communicate()
        if child.returncode:
            sys.exit(f"training failed:\n{output[-3000:]}")
    with open(os.path.join(folder, "r", "state.json")) as f:
        return json.load(f)


def parameter_count(folder):
    import tasks.classification  # noqa: F401  (registers the model class)
    from shared.task_model import load_checkpoint

    return int(sum(int(v.numpy().size) for v in load_checkpoint(
        os.path.join(folder, "r", "checkpoints", "last.keras")).trainable_variables))


def all_reduce_worker(ports, index, size, out):
    """One side of the communication timing: all-reduce `size` floats 50 times."""
    os.environ["TF_CONFIG"] = loopback_tf_config([int(p) for p in ports.split(",")], int(index))
    from shared.engine.distribute import make_distribution

    distribution = make_distribution("multi_worker")
    import numpy as np
    import tensorflow as tf

    strategy = distribution.strategy
    values = tf.ones([int(size)], tf.float32)
    step = tf.function(lambda: strategy.reduce(
        "SUM", strategy.run(lambda: tf.distribute.get_replica_context().all_reduce("SUM", values)), axis=None))
    for _ in range(5):
        step()
    times = []
    for _ in range(50):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
    with open(out, "w") as f:
        json.dump({"median_ms": 1000 * float(np.median(times))}, f)


def communication(size, folder):
    ports = ",".join(map(str, free_ports(2)))
    outs = [os.path.join(folder, f"allreduce-{i}.json") for i in range(2)]
    children = [subprocess.Popen([sys.executable, "-m", "bench", "distributed", "--all-reduce", ports, str(i),
                                  str(size), outs[i]], cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
                for i in range(2)]
    for child in children:
        child.wait()
    with open(outs[0]) as f:
        return json.load(f)["median_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--all-reduce", nargs=4, metavar=("PORTS", "INDEX", "SIZE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.all_reduce:
        return all_reduce_worker(*args.all_reduce)
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for workers in (1, 2):
            state = train(os.path.join(folder, f"w{workers}"), args, workers)
            rate = state["train_images_per_second"]
            rows.append([f"{workers} process" + ("es (multi_worker, loopback)" if workers > 1 else " (one_device)"),
                         rate, 1000 * args.batch_size / rate])
        size = parameter_count(os.path.join(folder, "w1"))
        reduce_ms = communication(size, folder)
    print(f"digits, compact backbone, {args.image_size} px, global batch {args.batch_size}, {args.epochs} epochs")
    _common.table(["training", "images/s", "ms per step"], rows)
    print(f"all-reduce of the gradients ({size} float32, {size * 4 / 1e6:.2f} MB) between the two workers: "
          f"{reduce_ms:.2f} ms (median of 50)")


if __name__ == "__main__":
    main()
