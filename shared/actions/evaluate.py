"""The `evaluate` action every task shares: open the run, pick the split, align classes, finish the report.

    trident classification evaluate --run runs/classification-photos-efficientnet_lite0
    trident detection evaluate --run RUN --data annotations.json --images imgs/ --split test

Writes report.json/.md/.html into RUN/evaluation/<data>-<split>/ (or --output). The task's
`evaluate` keeps only what differs: how a split is scored and its own report sections.
`open_evaluation` gives it the model and the split (the run's own data read from its
recorded splits, other data as it is); `finish_report` adds the sections every report has
and writes it.
"""

import argparse
import contextlib
import dataclasses
import os
import re
import time

import numpy as np
import tensorflow as tf

from shared.data.recorded import run_splits
from shared.errors import fail
from shared.explain.explainer import Explainer
from shared.stats.scored import write_per_image
from shared.reports.plots import read_log, training_curves_figure
from shared.reports.run_sections import add_run_sections
from shared.engine.lock import hold
from shared.engine.runs import is_other_data, open_run, slug
from shared.paths import inside
from shared.settings import run_config
from shared.task_model import load_run_model

_NUMBERED = re.compile(r"^class_(\d+)$")


def get_args_parser(task):
    """The `evaluate` flags every task has (`--images` where the task reads COCO JSON), then the task's own."""
    parser = argparse.ArgumentParser(f"trident {task.name} evaluate", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--data", help="data to score (default: the run's own data)")
    if task.coco_images:
        parser.add_argument("--images", help="image folder for a COCO JSON given as --data")
    parser.add_argument("--split", choices=("train", "val", "test"),
                        help="split to score (default: test, or val when there is no test split)")
    parser.add_argument("--output", help="folder for the report (default: RUN/evaluation/<data>-<split>)")
    parser.add_argument("--no-explain", dest="explain", action="store_false",
                        help="leave out the heat maps, the backbone's feature maps and the pointing game")
    parser.add_argument("--explain-levels", type=levels_list, metavar="P1,P2,...",
                        help="pyramid levels whose heat maps are multiplied (default: every level from the "
                             "shallowest through the deepest one at least 8 cells across, at least three); the "
                             "report's pointing game tells how well a choice suits the data")
    parser.add_argument("--explain-method", choices=("layercam", "gradcam"), default="layercam")
    task.add_arguments(parser, "evaluate")
    return parser


def levels_list(text):
    """`--explain-levels`: a comma list of pyramid level names such as P3,P4."""
    names = [name.strip().upper() for name in text.split(",")]
    if not names or not all(re.fullmatch(r"P\d", name) for name in names):
        raise argparse.ArgumentTypeError(f"expected pyramid levels such as P3 or P1,P2,P3, got {text!r}")
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"each level once, got {text!r}")
    return tuple(names)


def main(task, argv=None):
    """The `evaluate` command: parse, score with `task.evaluate` (the flags under their own names), print
    the task's summary of the metrics and the report's path."""
    flags = vars(get_args_parser(task).parse_args(argv))
    options = {"level": flags.pop("explain_levels"), "method": flags.pop("explain_method")}
    flags["explain"] = options if flags["explain"] else False
    run = open_run(flags.pop("run"))
    into_run = not flags.get("output") or inside(flags["output"], run.path)
    with hold(run.path, f"{task.name} evaluate") if into_run else contextlib.nullcontext():
        paths, metrics = task.evaluate(run, **flags)
    print(task.summary(metrics))
    print(f"Report: {paths['html']}")
    return paths


def answers(function, dataset):
    """`function` (a task's inference function) on each image of `dataset` in turn, as numpy dicts."""
    function = tf.function(function, reduce_retracing=True)
    for i in range(len(dataset)):
        yield {k: v.numpy()[0] for k, v in function(tf.constant(dataset.image(i)[None])).items()}


@dataclasses.dataclass
class Evaluation:
    """What a task's evaluation works on."""
    run: object
    model: object
    checkpoint: str
    spec: str  # the data scored
    split: str
    dataset: object  # the split's set, in the model's class order
    info: dict  # what the data reader reported (how it split, counts, skipped files...)
    started: float = dataclasses.field(default_factory=time.perf_counter)
    explainer: object = None  # the model's `Explainer` when the report explains
    explain_seconds: float = 0.0  # what explaining took (building the explainer, then `explain`)

    def explain(self, report, add):
        """The explanation sections, when the evaluation was opened to explain: `add(explainer) -> pointing
        game record` (a task's own sections), and the record kept in the report with the seconds it took."""
        if self.explainer is None:
            return
        started = time.perf_counter()
        report.record("explained_with", self.explainer.describe())
        report.record("pointing_game", add(self.explainer))
        self.explain_seconds += time.perf_counter() - started

    def subtitle(self, extra=""):
        return (f"data {self.spec}, split {self.split} ({len(self.dataset)} images{extra}), "
                f"checkpoint {os.path.basename(self.checkpoint)}")

    def data_record(self, **more):
        return {"source": self.spec, "split": self.split, "how_split": self.info["split"],
                "counts": self.info["counts"], "skipped": self.info["skipped"], **more}


def open_evaluation(run, task, data=None, images=None, split=None, loaded=None, explain=False):
    """Open `run` for evaluation.

    Args:
        task: the `shared.task.Task` whose `read` reads the data (data other than the run's own
            with no splits of its own is scored whole).
        data: data to score (default: the run's own).
        images: the image folder of a COCO JSON given as `data` (default: the run's own, for its
            own data).
        split: "train", "val" or "test" (default: test, else val).
        loaded: `(splits, info)` training already holds in memory, or None.
        explain: whether the report explains (`Evaluation.explain`): True, or a dict of
            `shared.explain.explainer.Explainer` arguments (`level`, `method`), checked here before any scoring.
    """
    started = time.perf_counter()
    config = run_config(run, task)
    checkpoint = run.best_or_last()
    model = load_run_model(run)
    spec = data or config["data"]
    if loaded is not None:
        splits, info = loaded
    else:
        other = is_other_data(data, config)
        folder = images or (config.get("images") if not data else None)
        splits, info = run_splits(run, config, lambda val, test: task.read(
            spec, config["seed"], val, test, folder, config.get("image_size"), unsplit_as_test=other), other)
    split = split or ("test" if len(splits["test"]) else "val")
    dataset = splits[split]
    if len(dataset) == 0:
        fail(f"Split `{split}` of {spec} has no images", "Choose another --split", split=split)
    dataset = align_classes(dataset, model, spec, task.class_aliases(model),
                            lambda part: {c for i in range(len(part)) for c in task.item_labels(part, i)})
    evaluation = Evaluation(run, model, checkpoint, spec, split, dataset, info, started)
    if explain:

        building = time.perf_counter()
        evaluation.explainer = Explainer(model, **(explain if isinstance(explain, dict) else {}))
        evaluation.explain_seconds = time.perf_counter() - building
    return evaluation


def align_classes(dataset, model, spec, aliases=None, present=None):
    """`dataset` relabelled into the model's class ids, matched by name.

    The one policy of every task: classes with the model's names take the model's ids
    (any order, any subset); names a reader made up (`class_3` for mask value 3) take the
    model's class with that id, and the task's `aliases` (`{name: class id}`, such as
    `#rrggbb` for a mask colour) theirs. A class the model does not know is refused, naming it,
    unless no item of `dataset` has it (`present(dataset)`: the class ids its items have), as when a
    class folder was added after training and the run's recorded split holds none of its images.
    """
    names, wanted = list(dataset.class_names), list(model.class_names)
    if names == wanted:
        return dataset
    aliases = aliases or {}

    def model_id(name):
        numbered = _NUMBERED.match(name)
        if name in wanted:
            return wanted.index(name)
        if numbered and int(numbered.group(1)) < len(wanted):
            return int(numbered.group(1))
        return aliases.get(name)

    remap = [model_id(name) for name in names]
    unknown = [name for name, i in zip(names, remap) if i is None]
    if unknown and present is not None and not {names[i] for i in present(dataset)} & set(unknown):
        print(f"The data's class(es) {', '.join(unknown)} (unknown to the model) have no images in this split")
        remap, unknown = [0 if i is None else i for i in remap], []  # no item has them: the id is never used
    if unknown:
        fail(f"Data {spec} has classes the model was not trained on: {', '.join(unknown)}",
             f"Evaluate on data whose classes are among: {', '.join(wanted)}", data=spec)
    return dataset.relabel(np.asarray(remap, np.int64), wanted)


def finish_report(report, evaluation, stats, output=None, tables=(), per_image=None):
    """Add the sections every evaluation report has, then write it. Returns the paths.

    Args:
        stats: `model_stats` of the model.
        output: folder (default: RUN/evaluation/<data>-<split>).
        tables: extra `(title, columns, rows)` tables placed before the skipped files.
        per_image: `{name: array [N, ...]}` of each image's outcome, written beside the report
            (`shared.stats.scored.write_per_image`) with the images' names, or None.
    """
    curves = training_curves_figure(read_log(evaluation.run.file("log.csv")))
    if curves is not None:
        report.figure("Training curves", curves, "training_curves")
    report.table("Model size and speed (this machine, CPU)", ["measure", "value"],
                 [[k, "" if v is None else v] for k, v in stats.items()])
    for title, columns, rows in tables:
        report.table(title, columns, rows)
    skipped = evaluation.info["skipped"]
    if skipped:
        report.table("Skipped files (could not be decoded)", ["file", "reason"], skipped[:50],
                     note=f"{len(skipped)} file(s) in all; they were left out of training and scoring.")
    add_run_sections(report, evaluation.run)
    _add_timing(report, evaluation)
    folder = output or evaluation.run.file("evaluation", f"{slug(evaluation.spec)}-{evaluation.split}")
    paths = report.write(folder)
    if per_image is not None:
        dataset = evaluation.dataset
        write_per_image(folder, [dataset.name(i) for i in range(len(dataset))], **per_image)
    return paths


def _add_timing(report, evaluation):
    """What the evaluation took (reading, scoring, the report's figures; not writing it) and, of that,
    the explanation sections."""
    seconds = time.perf_counter() - evaluation.started
    explain = evaluation.explain_seconds if evaluation.explainer is not None else None
    report.record("timing", {"seconds": seconds, "explanation_seconds": explain})
    report.text("Evaluation time", f"{seconds:.1f} s on this machine" + (
        "" if explain is None else f", of which the explanation sections {explain:.1f} s "
        f"({explain / max(seconds - explain, 1e-9):.0%} more than without them)") + ".")
