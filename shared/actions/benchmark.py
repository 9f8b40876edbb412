"""`trident <task> benchmark`: every export format of a run side by side on its validation split.

    trident classification benchmark --run RUN
    trident detection benchmark --run RUN --export saved_models/NAME/3

For each runtime (the Keras model, the SavedModel, and the TFLite, int8 TFLite and ONNX
models of the export), one row: the task's metric on the validation split, latency for one
image and images per second at the largest batch the format takes (up to `--max-batch`),
the size on disk and the largest difference from the Keras model's answers. Every runtime
gets the same uint8 images at the model's size (sized as the model sizes them), so the
metric measures the format and not the resize. Without `--export` a fresh export with every
format is written into `RUN/benchmark/export` (the run's own export record is left alone).

The task (`shared.task.Task`) supplies how its split is prepared, how answers are scored, how
two answers differ, and its fresh export (its `benchmark_*` hooks and `export`).
"""

import argparse
import os
import statistics
import time

import numpy as np
import tensorflow as tf

from shared.config import positive_int
from shared.data.recorded import run_splits
from shared.errors import fail
from shared.export.saved_model import FORMATS, read_export_manifest, resolve_saved_model
from shared.io import write_json, write_text
from shared.export.portable import FormatRefused, numeric, onnx_session
from shared.engine.runs import open_run
from shared.settings import run_config
from shared.task_model import load_run_model

FILES = {"TFLite": "model.tflite", "TFLite int8": "model_int8.tflite", "ONNX": "model.onnx"}


def get_args_parser(task):

    parser = argparse.ArgumentParser(f"trident {task.name} benchmark", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--export", help="an export version folder to score (default: a fresh one with every "
                                         "format in RUN/benchmark/export)")
    parser.add_argument("--images", type=positive_int, default=200, help="validation images scored (at most)")
    parser.add_argument("--latency-images", type=positive_int, default=30,
                        help="single-image calls timed per runtime (the median is reported)")
    parser.add_argument("--max-batch", type=positive_int, default=32, help="largest batch timed")
    parser.add_argument("--output", help="folder for benchmark.json/.md (default: RUN/benchmark)")
    task.add_arguments(parser, "benchmark")
    return parser


def main(task, argv=None):

    flags = vars(get_args_parser(task).parse_args(argv))
    rows, paths = benchmark_run(open_run(flags.pop("run")), task, **flags)
    print(paths["table"])
    print(f"Written: {paths['md']} and {paths['json']}")
    return rows


def benchmark_run(run, task, export=None, images=200, latency_images=30, max_batch=32, output=None):
    """Score and time every runtime; write `benchmark.json` and `benchmark.md`. Returns `(rows, paths)`."""
    output = output or run.file("benchmark")
    checkpoint = run.best_or_last()
    model = load_run_model(run)
    config = run_config(run, task)
    splits, _ = run_splits(run, config, lambda val, test: task.read(config["data"], config["seed"], val, test,
                                                            config.get("images"), config.get("image_size")))
    part = next((name for name in ("val", "test") if len(splits[name])), None)
    if part is None:
        fail(f"Run {run.path} has neither a validation nor a test split to benchmark on",
             "Train with --val-fraction above 0", run=run.path)
    inputs, truths = task.benchmark_prepare(splits[part], model.image_size, images)
    refused = {}
    if export:
        export = _matching_export(export, model)
    else:
        export, refused = _fresh_export(task, run, os.path.join(output, "export"))

    serve = tf.function(task.benchmark_serve(model, read_export_manifest(export)))
    runtimes = [("Keras", _keras(serve), None, os.path.getsize(checkpoint)),
                ("SavedModel", _saved_model(export), None, _folder_bytes(export))]
    for name, file in FILES.items():
        path = os.path.join(export, file)
        if os.path.isfile(path):
            answer, batch = _tflite(path) if file.endswith(".tflite") else _onnx(path)
            runtimes.append((name, answer, batch, os.path.getsize(path)))

    reference = None
    rows = []
    for name, answer, fixed_batch, size in runtimes:
        answers = [answer(inputs[i:i + 1]) for i in range(len(inputs))]
        reference = reference or answers
        parity = max((task.benchmark_difference(ours, theirs, inputs[i])
                      for i, (ours, theirs) in enumerate(zip(answers, reference))), default=0.0)
        single = _latency(answer, inputs, latency_images)
        batch = fixed_batch or max_batch
        rows.append({"format": name, "images": len(inputs), "split": part,
                     **task.benchmark_score([{k: v[0] for k, v in a.items()} for a in answers], truths),
                     "latency_ms_batch1": single, "batch": batch,
                     "images_per_s_at_batch": _throughput(answer, inputs, batch),
                     "megabytes": size / 1e6, "max_abs_diff_vs_keras": float(parity)})
    stages = task.benchmark_stages(model, splits[part], latency_images) or []
    paths = _write(output, run, export, rows, stages, refused)
    return rows, paths


def _fresh_export(task, run, folder):
    """A fresh export with every format the model converts to, and `{format: why}` for those it does not
    (a refused format is left out and the export written again without it)."""
    formats, refused = list(FORMATS), {}
    while True:
        try:
            return task.benchmark_export(run, folder, tuple(formats)), refused
        except FormatRefused as error:
            if error.format not in formats:
                raise
            print(f"Benchmarking without {error.format}: {error}")
            refused[error.format] = str(error)
            formats.remove(error.format)


def _matching_export(path, model):
    """The version folder of `path` (a version or `<root>/<name>`), refused when it was made for another
    input size or other classes than the run's model."""
    path = resolve_saved_model(path)
    manifest = read_export_manifest(path)
    made_for = (manifest.get("image_size"), manifest.get("class_names"))
    if made_for != (model.image_size, list(model.class_names)):
        fail(f"The export {path} was made for {made_for[0]} px and classes {made_for[1]}, the run's model takes "
             f"{model.image_size} px and classes {list(model.class_names)}",
             "Pass an export of this run (or leave out --export for a fresh one)", export=path)
    return path


def _keras(serve):


    serve = numeric(serve)
    return lambda batch: {k: v.numpy() for k, v in serve(tf.constant(batch)).items()}


def _saved_model(path):


    signature = tf.saved_model.load(path).signatures["serving_default"]
    serve = numeric(lambda images: signature(images=images))
    return lambda batch: {k: v.numpy() for k, v in serve(tf.constant(batch)).items()}


def _tflite(path):

    # All the cores, as TensorFlow and onnxruntime use them; left to itself the interpreter runs one
    # thread (the raccoon detector at 320 px: 37-42 ms an image, 24-26 ms with two threads).
    interpreter = tf.lite.Interpreter(model_path=path, num_threads=cpu_threads())
    runner = interpreter.get_signature_runner()

    def answer(batch):
        outputs = [runner(images=batch[i:i + 1]) for i in range(len(batch))]
        return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}

    return answer, 1


def cpu_threads():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system
        return os.cpu_count() or 1


def _onnx(path):

    session = onnx_session(path)
    names = [output.name for output in session.get_outputs()]
    return (lambda batch: dict(zip(names, session.run(None, {"images": batch})))), None


def _latency(answer, inputs, calls):
    """Median milliseconds of one single-image call, after two warm-up calls."""
    return median_ms(lambda i: answer(inputs[i % len(inputs):][:1]), calls)


def median_ms(call, calls, warmup=2):
    """Median milliseconds of `call(i)` over `calls` calls (i = 0, 1, ...), after `warmup` calls."""
    for i in range(warmup):
        call(i)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _throughput(answer, inputs, batch, repeats=3):
    """Images per second at `batch` (images repeated to fill it): the median of `repeats` calls after a warm-up."""
    full = np.concatenate([inputs] * (batch // len(inputs) + 1))[:batch]
    return 1000 * batch / median_ms(lambda i: answer(full), repeats, warmup=1)


def _folder_bytes(path):
    """Bytes of a SavedModel proper: `saved_model.pb` and `variables/` (not the other formats beside it)."""
    total = os.path.getsize(os.path.join(path, "saved_model.pb"))
    for folder, _, files in os.walk(os.path.join(path, "variables")):
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    return total


def _difference(value):
    return f"{value:.2g}" if np.isfinite(value) else "other answers"  # e.g. int8 keeping other boxes


def _write(output, run, export, rows, stages, refused):
    metric = [k for k in rows[0] if k not in ("format", "images", "split")][0]
    header = ["format", metric, "ms / image (batch 1)", "images/s (batch)", "MB", "max difference from Keras"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append(f"| {row['format']} | {row[metric]:.4f} | {row['latency_ms_batch1']:.3g} | "
                     f"{row['images_per_s_at_batch']:.4g} ({row['batch']}) | {row['megabytes']:.3g} | "
                     f"{_difference(row['max_abs_diff_vs_keras'])} |")
    table = "\n".join(lines)
    first = rows[0]
    text = (f"# Benchmark of {os.path.basename(run.path)}\n\n{first['images']} images of the {first['split']} "
            f"split at the model's size, every runtime on one CPU process in turn; export {export}.\n\n"
            f"{table}\n")
    if refused:
        text += "\nNot benchmarked, as the model does not convert to them:\n\n" + "".join(
            f"- {name}: {why}\n" for name, why in refused.items())
    if stages:
        text += ("\n## Where one image's time goes\n\nThe Keras model's stages, each timed alone (median ms of "
                 "single-image calls):\n\n| stage | ms |\n|---|---|\n"
                 + "".join(f"| {name} | {ms:.3g} |\n" for name, ms in stages))
    os.makedirs(output, exist_ok=True)
    paths = {"json": os.path.join(output, "benchmark.json"), "md": os.path.join(output, "benchmark.md"),
             "table": table}
    write_json(paths["json"], {"run": run.path, "export": export, "rows": rows, "refused": refused,
                               "stages_ms": {name: ms for name, ms in stages}})
    write_text(paths["md"], text)
    return paths
