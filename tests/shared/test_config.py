import pytest

from shared.config import parse_args, parse_duration
from shared.data.dataset_yaml import load_dataset_yaml
from shared.errors import TridentError
from shared.settings import TRAINING, SettingsParser


def parser():
    p = SettingsParser()
    p.add_settings(TRAINING)
    return p


def test_yaml_sets_defaults_and_flags_win(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 7\nbatch-size: 4\nbackbone: lenet5\n")
    args = parse_args(parser(), ["--config", str(config), "--epochs", "3"])
    assert args.epochs == 3  # the flag wins
    assert args.batch_size == 4  # the YAML sets a default, dashes accepted
    assert args.backbone == "lenet5"


def test_unknown_yaml_key_is_named(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("epoch: 7\n")
    with pytest.raises(TridentError, match="unknown key `epoch`"):
        parse_args(parser(), ["--config", str(config)])


def test_missing_and_malformed_config(tmp_path):
    with pytest.raises(TridentError, match="does not exist"):
        parse_args(parser(), ["--config", str(tmp_path / "nope.yaml")])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(TridentError, match="mapping"):
        parse_args(parser(), ["--config", str(bad)])


def test_a_key_given_twice_is_refused_in_config_and_dataset_yamls(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 7\nbatch-size: 4\nepochs: 9\n")
    with pytest.raises(TridentError, match=r"(?s)c.yaml is not valid YAML .*the key `epochs` is given twice.*line 3"):
        parse_args(parser(), ["--config", str(config)])
    (tmp_path / "train").mkdir()
    dataset = tmp_path / "data.yaml"
    dataset.write_text("train: train\nnames: [a, b]\ntrain: elsewhere\n")
    with pytest.raises(TridentError, match=r"data.yaml is not valid YAML .*the key `train` is given twice"):
        load_dataset_yaml(str(dataset))


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400), (None, None)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration():
    with pytest.raises(TridentError, match="Received: value='ten minutes'"):
        parse_duration("ten minutes")
    for nothing in ("0", "0m", 0):
        with pytest.raises(TridentError, match="leaves no time to train"):
            parse_duration(nothing)


def _error(capsys, argv, build=parser):
    """argparse's message and exit status for `argv`."""
    with pytest.raises(SystemExit) as stop:
        parse_args(build(), argv)
    return stop.value.code, capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("key, value, flag", [
    ("epochs", "0", ["--epochs", "0"]),
    ("lr", "-1", ["--lr", "-1"]),
    ("val-fraction", "1.5", ["--val-fraction", "1.5"]),
    ("batch_size", "many", ["--batch-size", "many"]),
    ("verbose", "3", ["--verbose", "3"]),
    ("early_stopping", "-2", ["--early-stopping", "-2"]),
])
def test_a_bad_yaml_value_fails_exactly_like_the_same_flag(tmp_path, capsys, key, value, flag):
    config = tmp_path / "c.yaml"
    config.write_text(f"{key}: {value}\n")
    flag_status, flag_message = _error(capsys, flag)
    yaml_status, yaml_message = _error(capsys, ["--config", str(config)])
    assert flag_status == yaml_status == 2
    assert yaml_message == f"{flag_message} (in config file {config})"


def test_yaml_values_are_converted_by_their_flag_and_choices_apply(tmp_path, capsys):
    from shared.actions.train import get_args_parser
    from tasks.classification.task import TASK as classification
    from tasks.segmentation.task import TASK as segmentation

    classification_parser = lambda: get_args_parser(classification)  # noqa: E731
    segmentation_parser = lambda: get_args_parser(segmentation)  # noqa: E731

    config = tmp_path / "c.yaml"
    config.write_text("head_units: [64, 32]\ndropout: 0.25\nlr: 1e-3\nrestart: true\n")
    args = parse_args(classification_parser(), ["--config", str(config)])
    assert args.head_units == [64, 32] and args.dropout == 0.25 and args.lr == 0.001 and args.restart is True
    config.write_text("head: unet\n")
    _, message = _error(capsys, ["--config", str(config)], segmentation_parser)
    assert "argument --head: invalid choice: 'unet'" in message and str(config) in message
    config.write_text("subpixel: maybe\n")
    _, message = _error(capsys, ["--config", str(config)], segmentation_parser)
    assert "expected true or false, got 'maybe'" in message
    config.write_text("restart: 1\n")
    _, message = _error(capsys, ["--config", str(config)])
    assert "argument --restart: expected true or false" in message


def test_the_typed_config_holds_declared_settings_only_and_knows_which_may_change_on_resume():
    from shared.settings import TRAINING, config_type

    config = config_type(TRAINING)(epochs=5, lr=1e-3, data="x")
    assert config.lr == config["lr"] == 1e-3 and config.get("batch_size") == 32  # the setting's default
    config["epochs"] = 8
    assert config.epochs == 8
    with pytest.raises(KeyError, match="not a setting"):
        config["epoch"] = 3  # a typo is refused, not stored
    recorded = {"epochs": 5, "lr": 2e-3, "data": "x", "verbose": 0, "retired_setting": 1}
    assert config.changed_from(recorded) == ["lr"]  # epochs and verbose may change on resume


def test_a_runs_config_is_read_back_through_the_flags_checks(tmp_path):
    from shared.config import read_config
    from shared.settings import TRAINING, SettingsParser

    parser = SettingsParser(add_help=False)
    parser.add_settings(TRAINING)
    config = read_config({"epochs": "12", "lr": 0.01, "image_size": None, "head": "old runs' setting"}, parser,
                         "run/config.yaml")
    assert config.epochs == 12 and config.lr == 0.01 and config.freeze == "auto"  # newer settings: defaults
    assert "head" not in config
    with pytest.raises(TridentError, match=r"run/config.yaml hold `seed: 'abc'`.*--restart"):
        read_config({"seed": "abc"}, parser, "run/config.yaml")
    with pytest.raises(TridentError, match="`verbose: 5`"):
        read_config({"verbose": 5}, parser, "run/config.yaml")
