"""`Task`: everything the shared actions need to know about one vision task, in one object.

Each task folder defines one subclass in `tasks/<task>/task.py` and an instance of it named
`TASK`; the eight actions (`shared.actions`: inspect, train, evaluate, predict, export,
benchmark, review, suggest) take that instance and never ask which task they serve. Adding a task means one
folder and one line in `tasks/cli.py`'s map.

The hooks, by action:
- data: `read` (the one reader signature), `item_labels`, `inspect_sections`, `flip_probe`;
- train: `build_model`, `datasets`, `resolve`, `calibrate`, and the class attributes on choosing a
  checkpoint and the defaults (`monitor`, `mode`, `keep`, `size_rules`, ...);
- evaluate: `evaluate` and `summary`; compare: `scored` (an evaluation read back for `trident compare`);
- review, suggest: `review` (the labels its out-of-sample evidence contradicts), `suggest` (what to label next);
- predict: `inference` (the one image-to-answer function), `answer` (it at predict's flags) and
  `predictions` (what predict writes for an image);
- export: `export_run` (its verified SavedModel and the other formats);
- benchmark: `benchmark_prepare`, `benchmark_score`, `benchmark_difference`, `benchmark_serve`,
  `benchmark_stages`.
A task module wires a hook to a function of its own with one line (`inference =
staticmethod(make_classify)`) or overrides the method.
How a model sizes its input (resize or letterbox) is the model's own `TaskModel.sizing`.
"""

import sys

from shared.engine.defaults import PRETRAINED_FROZEN


class Task:
    """One task. Subclasses set the class attributes and override the hooks their actions use."""

    # The word on the command line (`trident <name> <action>`) and in run folder names.
    name = ""
    # Built-in data names (`--data shapes`) and the image size their tuned settings use.
    builtins = ()
    builtin_image_size = 128
    # Whether data of one class is something to learn (finding one kind of object is; telling one
    # class from nothing is not).
    one_class_ok = False
    # The fix a user is told when data of one class cannot be learned.
    second_class_fix = "Add images of at least one more class"
    # Whether each item has exactly one label (identical files with different labels conflict).
    single_label = False
    # Whether the task reads COCO JSON, whose images may sit in a folder of their own (`--images`).
    coco_images = True
    # The logged value choosing `best.keras` when there is a val split, and which way is better.
    monitor, mode = "val_loss", "min"
    # "best": `best.keras` is the best `monitor` epoch; "last": the last epoch (unless early stopping).
    keep = "best"
    # Smallest and largest automatic image size, and which side of the image sets it: from
    # scratch, and with ImageNet-pretrained weights (see `shared.engine.defaults.image_size_for`).
    size_rules = (64, 256, "short_side")
    pretrained_size_rules = (128, 256, "short_side")
    # `(--batch-norm, --freeze)` that `auto` means with pretrained weights.
    pretrained_frozen = PRETRAINED_FROZEN
    # Optimizer steps the learning rate's warm-up lasts at least when fine-tuning pretrained weights
    # (`shared.engine.defaults.warmup_for`); 0 keeps `--warmup-epochs`' one epoch whatever its steps.
    min_warmup_steps = 0
    # Optimizer steps the head learns alone on the frozen backbone before the backbone joins, when
    # fine-tuning pretrained weights (`shared.engine.defaults.head_epochs_for`); 0: no head-first phase.
    head_first_steps = 0
    # Why flips are safe when the task has no `flip_probe` (mirroring cannot change its labels).
    flip_reason = "mirroring keeps every label"
    # The inspection's per-class table: what it counts.
    counts_title = "Objects or regions per class"
    # Held-out images an export is compared on, by default.
    compare_images = 6
    # Evaluate's one-line summary of its metrics (`str.format` over them).
    headline = ""

    def description(self, action_doc):
        """An action's `--help` text: what the action does (`action_doc`), then what the task reads and
        answers (its module's docstring)."""
        about = sys.modules[type(self).__module__].__doc__
        return f"{action_doc.rstrip()}\n\n{about.strip()}\n" if about else action_doc

    # -- data ------------------------------------------------------------------------------
    def read(self, data, seed=0, val_fraction=0.1, test_fraction=0.2, images=None, image_size=None,
             unsplit_as_test=False):
        """`(splits, info)`: `data` read the task's way; see `shared.data` for the readers.

        Args:
            images: str, the image folder of a COCO JSON given as `data`, or None.
            image_size: int, the training size (readers that pre-shrink huge images use it), or None.
            unsplit_as_test: bool, data with no splits of its own is scored whole (other data
                than a run's own, in `evaluate`).
        """
        raise NotImplementedError

    def item_labels(self, part, index):
        """The class ids of item `index` of set `part`, for counts and duplicate checks."""
        raise NotImplementedError

    def inspect_sections(self, options):
        """`(per-item labels, extra sections or None)` of the data inspection; `options` holds the
        action's flags (a dict). The default: `item_labels` and no sections of the task's own."""
        return self.item_labels, None

    def flip_probe(self, splits, seed):
        """A dict measuring whether mirroring keeps labels (`shared.data.flip_probe`), or None when
        it always does for this task."""
        return None

    def default_image_size(self, data):
        """The image size of a built-in data set."""
        return self.builtin_image_size

    # -- command line ----------------------------------------------------------------------
    def add_arguments(self, parser, action):
        """The task's own flags of `action` ("evaluate", "predict", ...; `train` has `train_settings`) added
        to `parser`."""

    # -- train -----------------------------------------------------------------------------
    # The task's own `train` settings (`shared.settings.Setting`s, after `shared.settings.TRAINING`),
    # and the task's defaults for any of them.
    train_settings = ()
    train_defaults = {}

    def check(self, config):
        """Refuse settings the task cannot train with, before any data is read."""

    def resolve(self, config):
        """Fill the task's own settings left open (e.g. the head a backbone implies), so the saved
        config holds what the model uses."""

    def build_model(self, config, info):
        """A new compiled model (a `shared.task_model.TaskModel`) for `config` and the data's `info`."""
        raise NotImplementedError

    def datasets(self, config, splits, info):
        """`(train_ds, val_ds)`, the `tf.data` pipelines of `fit`."""
        raise NotImplementedError

    # -- evaluate --------------------------------------------------------------------------
    def class_aliases(self, model):
        """`{name: class id}`: names a reader makes up for the model's classes (beyond `class_<id>`),
        so other data can be scored against the model (see `shared.actions.evaluate.align_classes`)."""
        return {}

    def evaluate(self, run, data=None, images=None, split=None, output=None, loaded=None, explain=True,
                 **options):
        """Score the run's best checkpoint and write its report; `(paths, metrics)`.

        `loaded`: the `(splits, info)` training holds in memory; `options`: the task's own
        evaluate flags."""
        raise NotImplementedError

    def calibrate(self, model, part, config):
        """What to fit on the val split `part` after training, for `model` (the run's best checkpoint): a
        dict kept as the run's `calibration.json` and given back as `model.calibration` wherever the run's
        model is loaded (e.g. a classifier's temperature), or None (nothing to fit, the default)."""
        return None

    def scored(self, folder):
        """The evaluation written into `folder` as a `shared.stats.scored.Scored`: its images and how to
        score resamples of them (`trident compare` pairs two runs' evaluations image by image)."""
        raise NotImplementedError

    # Which of `review` and `suggest` exist for the task (their actions refuse the others, by name, before any work).
    label_tools = ()
    # The formats `suggest` writes its pre-labels in (`--format`), the first being the default for built-in data.
    prelabel_formats = ()

    def review(self, run, options):
        """`(report, suspects)` of `trident <task> review`: the labels of the run's recorded splits
        (`shared.actions.review.recorded_splits`) the evidence contradicts, ranked (`shared.review`);
        `options` holds the action's flags."""
        raise NotImplementedError

    def suggest(self, run, paths, options):
        """`(rows, report path)` of `trident <task> suggest`: which of the unlabelled images `paths` to label
        next, written pre-labelled in the run's data format (`shared.review.select`)."""
        raise NotImplementedError

    def check_label_tools(self, action):
        """Refuse `review` or `suggest` (`action`) for a task that has neither yet."""
        if action not in self.label_tools:
            from shared.errors import fail

            fail(f"`trident {self.name} {action}` does not exist yet: this task has no {action} of its own",
                 f"Use `trident {self.name} inspect` for this task's data checks", task=self.name)

    def summary(self, metrics):
        """Evaluate's metrics in one line."""
        return self.headline.format(**metrics)

    # -- predict ---------------------------------------------------------------------------
    # `model -> function`: the task's one image-to-answer function (uint8 images of any size in, the
    # export's outputs out), which evaluate, predict and the export all run.
    inference = None

    def answer(self, model, options):
        """The end-to-end function of `model` at the predict flags `options` (a dict); by default
        `inference(model)`, the same whatever the flags."""
        return self.inference(model)

    def predictions(self, options, predictor, explainer):
        """`(handle, json path or None, closing line)` of `predict`: `handle(path, image) -> record`
        answers one image with `predictor` (`shared.actions.predict.Predictor`), writes what the
        task writes, and returns its JSON record."""
        raise NotImplementedError

    # -- export and benchmark ---------------------------------------------------------------
    # `(task, run, output_dir, name, compare_images, formats, record, **options) -> (folder, manifest)`:
    # the task's export of a run through `shared.export.saved_model.export_verified`.
    export_run = None

    def export(self, run, output_dir="saved_models", name=None, compare_images=None, formats=("saved_model",),
               record=True, **options):
        """Export the run (`export_run`; `options`: `max_pixels`, the `serve_bytes` limit every task's export
        passes to `export_verified`, and the task's own export flags); `(folder, manifest)`."""
        return self.export_run(self, run, output_dir, name, compare_images or self.compare_images, formats, record,
                               **options)

    def benchmark_export(self, run, folder, formats):
        """A fresh export of `run` into `folder` with `formats` for the benchmark; its path."""
        return self.export(run, folder, "model", formats=formats, record=False)[0]

    def benchmark_prepare(self, split, size, limit):
        """`(uint8 images [N, size, size, 3], truths)`: the first `limit` images of `split` as
        every runtime gets them."""
        raise NotImplementedError

    def benchmark_score(self, answers, truths):
        """`{metric: value}` of answers (one dict per image) against `truths`."""
        raise NotImplementedError

    def benchmark_difference(self, served, expected, image):
        """The largest difference between two answers for one image (see `shared.export.saved_model.make_compare`)."""
        raise NotImplementedError

    def benchmark_serve(self, model, manifest):
        """The Keras model's inference function at the export's own settings."""
        return self.answer(model, {})

    def benchmark_stages(self, model, split, calls):
        """`[(stage, median ms)]` of one image's answer, or None."""
        return None
