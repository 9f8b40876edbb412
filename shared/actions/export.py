"""The `export` action every task shares: a SavedModel that serves end to end, verified before it is kept.

    trident classification export --run runs/classification-photos-efficientnet_lite0
    trident detection export --run RUN --format tflite,onnx --confidence 0.3
    trident segmentation export --run RUN --output-dir models/ --name aerial

Writes OUTPUT_DIR/NAME/VERSION/ (TF Serving's layout; versions count up) with the endpoints
`serving_default` (uint8 images of any size in, the task's final answer out), `serve_bytes`
(encoded images) and `raw_outputs`, and assets.extra/trident.json describing them. The export
is reloaded and compared with the Keras model on held-out images before it is kept; the other
formats (TFLite, int8 TFLite, ONNX) are each checked in their own runtime.
"""

import argparse

from shared.config import positive_int
from shared.data.decode import MAX_PIXELS
from shared.export.saved_model import FORMATS, held_out_images
from shared.engine.lock import hold
from shared.engine.runs import open_run
from shared.paths import check_plain_name
from shared.settings import run_config
from shared.task_model import load_run_model


def get_args_parser(task):
    """The `export` flags every task has, then the task's own."""
    parser = argparse.ArgumentParser(f"trident {task.name} export", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--output-dir", default="saved_models", help="root of exported models")
    parser.add_argument("--name", help="model name (default: the run folder's name)")
    parser.add_argument("--compare-images", type=positive_int, default=task.compare_images,
                        help="held-out images the reloaded export is compared on (at least 1)")
    parser.add_argument("--format", dest="formats", type=formats_list, default=("saved_model",),
                        help="comma list of saved_model (always written), tflite (VERSION/model.tflite), tflite_int8 "
                             "(VERSION/model_int8.tflite, calibrated on training images) and onnx "
                             "(VERSION/model.onnx): the numeric outputs of serving_default for uint8 images at "
                             "the model's size, each checked in its own runtime like the SavedModel")
    parser.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                        help="the most pixels the export's serve_bytes decodes from one image (default "
                             f"{MAX_PIXELS:,}); a larger one is refused from its header, unread")
    task.add_arguments(parser, "export")
    return parser


def formats_list(text):
    """`--format` values: a comma list of `FORMATS`; the SavedModel is always among them."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in str(text).split(",") if part.strip()))
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or 'nothing'}: choose from {', '.join(FORMATS)}")
    return ("saved_model",) + tuple(name for name in names if name != "saved_model")


def main(task, argv=None):
    """The `export` command: parse, export with `task.export` (the flags under their own names), say what
    was checked."""
    flags = vars(get_args_parser(task).parse_args(argv))
    if flags["name"] is not None:
        check_plain_name(flags["name"], "--name", "the export must stay inside --output-dir",
                         "e.g. --name flowers (use --output-dir to choose the parent)")
    run = open_run(flags.pop("run"))
    with hold(run.path, f"{task.name} export"):
        path, manifest = task.export(run, **flags)
    sizes = manifest.get("compared_sizes")
    print(f"Exported {path}: reloaded and compared on {manifest['compared_images']} held-out images"
          + (f" at sizes {sizes}" if sizes else "") + f", max |difference| {manifest['max_abs_diff']:.2e}")
    return path


def open_export(run, task, limit):
    """`(model, images)`: the run's best checkpoint and up to `limit` held-out images (a
    `shared.export.saved_model.HeldOut`), the run's data read by `task.read` into its recorded splits."""
    config = run_config(run, task)
    model = load_run_model(run)
    images = held_out_images(run, config, lambda val, test: task.read(config["data"], config["seed"], val, test,
                                                              config.get("images"), config.get("image_size")), limit)
    return model, images
