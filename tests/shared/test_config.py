import argparse

import pytest

from shared.config import add_training_args, parse_args, parse_duration
from shared.errors import TridentError


def parser():
    p = argparse.ArgumentParser()
    add_training_args(p)
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


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400), (None, None)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration():
    with pytest.raises(TridentError, match="Received: time_budget='ten minutes'"):
        parse_duration("ten minutes")
