"""Argument parsing shared by every script: YAML configs as defaults, flags on top.

A script builds its parser from settings (`shared.settings.SettingsParser`), then calls
`parse_args(parser, argv)`. `--config FILE.yaml` supplies defaults; any flag given on the
command line wins; each YAML value passes its flag's own check. The resolved values are what
the run folder records, and `read_config` reads them back through the same checks.
"""

import argparse
import os
import re

import yaml

from shared.errors import fail
from shared.data.files import open_text
from shared.io import parse_yaml, write_text
from shared.patches import argparse_values

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


def auto_or_non_negative_int(text):
    """"auto", or a whole number of 0 or more."""
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        return non_negative_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be auto or a whole number of 0 or more, got {text}") from None


def auto_or_positive_float(text):
    """"auto", or a number above 0."""
    if str(text).strip().lower() == "auto":
        return "auto"
    return positive_float(text)


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
    """The settings given in `argv` (not those left at their defaults): `argv` parsed again by a twin of
    `parser` (a `shared.settings.SettingsParser`) whose every default is "not given"."""
    twin = argparse.ArgumentParser(add_help=False)
    for setting, _ in parser.settings.values():
        setting.add_to(twin, default=argparse.SUPPRESS)
    given, _ = twin.parse_known_args(argv)
    return set(vars(given))


def load_yaml_defaults(parser, path):
    """The settings a `--config` YAML file gives, each checked as its flag would be."""
    if not os.path.lexists(path):
        fail(f"Config file {path} does not exist", "Check the path given to --config", config=path)
    with open_text(path, "Config file") as f:
        try:
            values = parse_yaml(f) or {}
        except yaml.YAMLError as error:
            fail(f"Config file {path} is not valid YAML ({error})", "Fix the YAML syntax", config=path)
    if not isinstance(values, dict):
        fail(f"Config file {path} must hold a mapping of flag names to values",
             "Write one `key: value` per line", config=path)
    names = set(parser.settings) - {"config"}
    normalised = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in names:
            fail(f"Config file {path} has an unknown key `{key}`",
                 f"Use only this script's flags: {', '.join(sorted(names))}", key=key)
        normalised[name] = _checked(parser, parser.settings[name][1], value, path)
    return normalised


def read_config(values, parser, where):
    """A run's recorded settings (`values`, read from `where`) as the typed config of `parser`'s settings,
    every value through its flag's check (a hand-edited file stops with its name and the setting); settings
    the record lacks (newer than the run) take their defaults, and names no setting knows (older runs) are
    left out."""
    checked = {}
    for name, value in values.items():
        if name in parser.settings:
            try:
                checked[name] = _converted(parser, parser.settings[name][1], value)
            except Refused as error:
                fail(f"The run's settings {where} hold `{name}: {value!r}`, which its flag refuses ({error})",
                     "Restore the file, or train again with --restart", config=where)
    return parser.config_type()(**checked)


class Refused(ValueError):
    """A value its flag's check refuses, in argparse's words."""


def _converted(parser, action, value):
    """`value` (from a YAML file) converted and checked by `action`'s type and choices; `Refused` if not."""
    flag = "/".join(action.option_strings) or action.dest
    if action.nargs == 0:  # store_true, --x/--no-x
        if not isinstance(value, bool):
            raise Refused(f"argument {flag}: expected true or false, got {value!r}")
        return value
    if value is None:
        return None
    many = action.nargs in ("*", "+") or isinstance(action.nargs, int)
    if many:
        strings = [str(v) for v in (value if isinstance(value, list) else [value])]
    elif isinstance(value, list):
        raise Refused(f"argument {flag}: expected one value, got a list {value!r}")
    else:
        strings = [str(value)]
    try:
        return argparse_values(parser, action, strings)
    except argparse.ArgumentError as error:
        raise Refused(str(error)) from None


def _checked(parser, action, value, path):
    """`_converted`, or argparse's exit naming the file, as a bad flag would."""
    try:
        return _converted(parser, action, value)
    except Refused as error:
        parser.error(f"{error} (in config file {path})")


def save_yaml(path, values):

    write_text(path, yaml.safe_dump(values, sort_keys=True))


def load_yaml(path):
    """A YAML file Trident wrote (a run's `config.yaml`), a key given twice refused (`parse_yaml`)."""
    with open_text(path, "Settings file") as f:
        return parse_yaml(f) or {}
