"""The `review` action: the labels of a run's data that the evidence contradicts, ranked, in a report.

    trident classification review --run runs/classification-photos-efficientnet_lite0
    trident classification review --run RUN --folds 10 --output review/

Every labelled image of the run's recorded splits gets class probabilities from a model that
never saw it (k-fold, on features of an ImageNet network that never saw the labels either);
cleanlab's confident learning picks the images whose given label those probabilities contradict.
Writes report.json/.md/.html (each suspect with its image, the given label beside the evidence's,
a link to the file) and suspects.csv (path, given, suggested) into RUN/review/ (or --output).
"""

import argparse
import contextlib
import csv
import io
import os

from shared.config import positive_int
from shared.engine.lock import hold
from shared.engine.runs import open_run
from shared.io import write_text
from shared.paths import inside
from shared.data.recorded import run_splits
from shared.settings import run_config


def get_args_parser(task):
    parser = argparse.ArgumentParser(f"trident {task.name} review", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--folds", type=positive_int, default=5,
                        help="folds of the out-of-sample probabilities (at least 2; fewer when a class is smaller)")
    parser.add_argument("--show", type=positive_int, default=48, help="suspects shown as images in the report")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds")
    parser.add_argument("--output", help="folder for the report (default: RUN/review)")
    return parser


def recorded_splits(task, run):
    """The run's own splits as `evaluate` reads them (its recorded files), every part labelled."""
    config = run_config(run, task)
    return run_splits(run, config, lambda val, test: task.read(
        config["data"], config["seed"], val, test, config.get("images"), config.get("image_size")))[0]


def main(task, argv=None):
    """The `review` command: let the task rank the suspects of the run's recorded splits, write them."""
    options = vars(get_args_parser(task).parse_args(argv))
    task.check_label_tools("review")
    run = open_run(options["run"])
    output = options["output"] or run.file("review")
    into_run = inside(output, run.path)
    with hold(run.path, f"{task.name} review") if into_run else contextlib.nullcontext():
        report, suspects = task.review(run, options)
        paths = report.write(output)
        write_text(os.path.join(output, "suspects.csv"), suspects_csv(suspects))
    print(f"{len(suspects)} suspected label error(s) among {report.data['reviewed']} images. Report: {paths['html']}")
    return paths


def suspects_csv(suspects):
    """`rank,path,split,issue,given,suggested,confidence` per suspect, ranked: for a labelling tool or a script."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["rank", "path", "split", "issue", "given", "suggested", "confidence"])
    for rank, row in enumerate(suspects, start=1):
        writer.writerow([rank, row["path"], row["split"], row.get("issue", "class"), row["given"], row["suggested"],
                         f"{row['confidence']:.4f}"])
    return text.getvalue()
