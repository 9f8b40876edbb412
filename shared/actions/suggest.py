"""The `suggest` action: which unlabelled images to label next, pre-labelled in the run's data format.

    trident classification suggest --run RUN --data unlabelled/ --count 50
    trident detection suggest --run RUN --data unlabelled/ --count 50 --format voc --output batch1/

Ranks the images of `--data` (searched recursively) by how unsure the run's model is of them
(classification: one minus the margin between its two likeliest classes; detection: its most
doubtful detection; segmentation: its pixels' mean margin), then thins the most uncertain by their
ImageNet features so the list is not fifty near-copies. The chosen images are copied into
`--output`/data (default RUN/suggest/data) with the model's answer as their label, in the format
the run's data uses (class folders or a CSV; COCO, VOC or YOLO; mask PNGs) so a labelling tool
or Trident itself reads them; `report.html` beside it shows each with its pre-label.
"""

import argparse
import contextlib

from shared.actions.predict import expand_images
from shared.config import positive_int
from shared.engine.lock import hold
from shared.engine.runs import open_run
from shared.paths import inside


def get_args_parser(task):
    parser = argparse.ArgumentParser(f"trident {task.name} suggest", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--data", required=True, nargs="+", help="unlabelled image files or folders")
    parser.add_argument("--count", type=positive_int, default=50, help="how many images to suggest")
    parser.add_argument("--format", choices=("auto", *task.prelabel_formats), default="auto",
                        help="the pre-labels' format (auto: the format of the run's data)")
    parser.add_argument("--output", help="folder for the suggestions and their report (default: RUN/suggest)")
    return parser


def main(task, argv=None):
    options = vars(get_args_parser(task).parse_args(argv))
    task.check_label_tools("suggest")
    run = open_run(options["run"])
    paths = expand_images(options["data"])
    options["output"] = options["output"] or run.file("suggest")
    with hold(run.path, f"{task.name} suggest") if inside(options["output"], run.path) else contextlib.nullcontext():
        written, report_path = task.suggest(run, paths, options)
    print(f"Suggested {len(written)} of {len(paths)} images, pre-labelled in {options['output']}. "
          f"Report: {report_path}")
    return written
