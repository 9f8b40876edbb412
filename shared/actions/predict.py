"""The `predict` action every task shares: image files and folders in, the task's answers out.

    trident classification predict --model runs/classification-photos-efficientnet_lite0 a.jpg photos/
    trident detection predict --model saved_models/detection-raccoon-efficientnet_lite0 photos/ --output out/
    trident segmentation predict --model RUN tiles/ --explain

`--model` is a run folder or an exported SavedModel: `load_predictor` gives the same object for
both (a function from uint8 images to the task's outputs, those of the export's
`serving_default`, and the model's class table), so each task's answer is written once for
both. An unreadable image is reported and skipped; the others still get their answers.
"""

import argparse
import dataclasses
import os
import sys

import numpy as np
import tensorflow as tf

from shared.config import positive_int
from shared.data.decode import MAX_PIXELS
from shared.data.images import is_image_file, read_image
from shared.errors import TridentError, fail
from shared.explain.explainer import explainer_for
from shared.export.saved_model import read_export_manifest, resolve_saved_model
from shared.io import write_json
from shared.engine.runs import model_kind, open_run
from shared.task_model import load_run_model


def get_args_parser(task):
    """The `predict` flags every task has (`--model`, the images, `--trust-model`), then the task's own."""
    parser = argparse.ArgumentParser(f"trident {task.name} predict", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="run folder or SavedModel folder")
    parser.add_argument("images", nargs="+", help="image files or folders")
    parser.add_argument("--trust-model", action="store_true",
                        help="run a SavedModel that Trident did not export (a SavedModel is a program: it can "
                             "read and write files; only pass this for models you trust)")
    parser.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                        help=f"the most pixels decoded from one image (default {MAX_PIXELS:,}); a larger image is "
                             "refused from its header, unread, and the others still answered")
    task.add_arguments(parser, "predict")
    return parser


def main(task, argv=None):
    """The `predict` command: every image answered by the task (`task.predictions`)."""
    options = vars(get_args_parser(task).parse_args(argv))
    paths = expand_images(options["images"])
    predictor = load_predictor(options["model"], task, lambda model: task.answer(model, options),
                               options["trust_model"])
    explainer = explainer_for(options["model"]) if options.get("explain") else None
    handle, json_path, done = task.predictions(options, predictor, explainer)
    return predict_all(paths, handle, json_path, done, options["max_pixels"])


def expand_images(items):
    """Image files from a list of files and folders (folders searched recursively, sorted)."""
    paths = []
    for item in items:
        if os.path.isdir(item):
            for folder, _, files in sorted(os.walk(item)):
                paths += [os.path.join(folder, f) for f in sorted(files) if is_image_file(f)]
        elif os.path.lexists(item):  # a file that is not a regular one is skipped and named when read
            paths.append(item)
        else:
            fail(f"Image {item} does not exist", "Check the path", image=item)
    if not paths:
        fail("No images found", "Pass image files or folders holding JPEG/PNG/BMP/GIF images", images=items)
    return paths


@dataclasses.dataclass
class Predictor:
    """`answer(uint8 [1, H, W, 3]) -> {name: numpy array}` and the model's description: its class
    names, and the Keras model (a run folder) or the export's manifest (`assets.extra/trident.json`)."""
    answer: object
    class_names: list
    model: object = None
    manifest: dict = None
    kind: str = "run"


def load_predictor(path, task, make_answer, trust=False):
    """The model at `path` (a run folder or an export) as a `Predictor`.

    Args:
        task: the `shared.task.Task`; an export of another task is refused.
        make_answer: `model -> end-to-end function`, the task's inference function (the
            one its export serves), used for run folders.
        trust: run a SavedModel without Trident's manifest. A SavedModel's graph can read
            and write files, so one Trident did not write is refused unless trusted.
    """
    def numpy(outputs):
        return {k: v.numpy() for k, v in outputs.items()}

    if model_kind(path) == "run":

        model = load_run_model(open_run(path))
        function = tf.function(make_answer(model), reduce_retracing=True)
        return Predictor(lambda images: numpy(function(tf.constant(images))), list(model.class_names), model)

    folder = resolve_saved_model(path)
    manifest = read_export_manifest(folder)
    if "class_names" not in manifest and not trust:
        fail(f"SavedModel {folder} was not exported by Trident (it has no assets.extra/trident.json); "
             "a SavedModel is a program that can read and write files, so it is not run",
             f"Export the run with `trident {task.name} export`, or pass --trust-model if you trust where this "
             "model came from", model=path)
    if manifest.get("task", task.name) != task.name:
        fail(f"SavedModel {folder} is a {manifest['task']} model, not a {task.name} one",
             f"Use `trident {manifest['task']} predict` for it", model=path)
    serve = tf.saved_model.load(folder).signatures.get("serving_default")
    if serve is None or "images" not in serve.structured_input_signature[1]:
        fail(f"SavedModel {folder} has no `serving_default` endpoint taking `images`",
             "Use a model exported by `trident export`, or one with the same endpoints", model=path)
    answer = lambda images: numpy(serve(images=tf.constant(images)))  # noqa: E731
    names = manifest.get("class_names") or _foreign_names(folder, answer)
    return Predictor(answer, NumberedNames(names), manifest=manifest, kind="saved_model")


def _foreign_names(folder, answer):
    """Class names of a trusted SavedModel without a manifest: its labels.txt, else `class_<id>`."""
    labels = os.path.join(folder, "assets.extra", "labels.txt")
    if os.path.isfile(labels):
        with open(labels, encoding="utf-8") as file:
            return NumberedNames(line.strip() for line in file if line.strip())
    probabilities = answer(np.zeros((1, 64, 64, 3), np.uint8)).get("probabilities")
    return NumberedNames(f"class_{i}" for i in range(0 if probabilities is None else probabilities.shape[-1]))


class NumberedNames(list):
    """A class table that names an id beyond its end `class_<id>` (a foreign model's extra classes)."""
    def __getitem__(self, index):
        if not isinstance(index, slice) and int(index) >= len(self):
            return f"class_{int(index)}"
        return super().__getitem__(index)


def for_each_image(paths, handle, max_pixels=MAX_PIXELS):
    """Call `handle(path, uint8 image)` for every readable image and collect its results.

    An unreadable file is reported and skipped so the others still get predictions;
    at the end, a `TridentError` lists the files that failed.
    """
    results, failed = [], []
    for path in paths:
        try:
            image = read_image(path, max_pixels)
        except TridentError as error:
            print(f"{path}: skipped: {error}", file=sys.stderr)
            failed.append(path)
            continue
        results.append(handle(path, image))
    return results, failed


def predict_all(paths, handle, json_path=None, done=None, max_pixels=MAX_PIXELS):
    """`for_each_image`, then the results to `json_path`, the line `done`, and the failures (an error)."""
    results, failed = for_each_image(paths, handle, max_pixels)
    if json_path:

        write_json(json_path, results)
    if done:
        print(done)
    report_failures(failed, len(paths))
    return results


def report_failures(failed, total):
    if failed:
        fail(f"{len(failed)} of {total} image(s) could not be read: {', '.join(failed[:5])}",
             "Replace or remove those files", failed=len(failed))
