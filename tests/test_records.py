"""A damaged run record (cut short, mistyped, of the wrong kind) is the project's error naming the file and
the fix, never a traceback; a damaged `best.keras` falls back to `last.keras`, saying so."""

import shutil

import pytest

from tasks.cli import main as trident
from tests.factories import tiny_train_args, write_class_folders

pytestmark = pytest.mark.large  # trains

DAMAGES = [
    ("state.json", '{"epoch": ', "The training state {} cannot be read (Expecting value"),
    ("state.json", '{"epoch": "one"}', "Training state {} is malformed: `epoch` is 'one', not a count of epochs"),
    ("state.json", "[]", "The training state {} holds a JSON list, not the object Trident writes"),
    ("splits.json", '{"splits": {"train": [', "The split record {} cannot be read"),
    ("splits.json", '{"splits": 3}', "Split record {} is malformed"),
    ("splits.json", '{"splits": {"train": [["a.png"]]}}', "Split record {} is malformed: not enough values"),
    ("data.json", "[]", "The data record {} holds a JSON list"),
    ("config.yaml", "data: [", "The run's settings {} cannot be read"),
    ("config.yaml", "epochs: 2\nepochs: 3\n", "the key `epochs` is given twice"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("records")
    data = write_class_folders(base / "data", per_class=4)
    args = tiny_train_args(data, base / "runs", "--name", "r")
    assert trident(["classification", "train", *args]) == 0
    return base / "runs" / "r", args


@pytest.mark.parametrize("name, text, expected", DAMAGES)
def test_a_damaged_record_names_the_file_and_the_fix(trained, tmp_path, capsys, name, text, expected):
    pristine, args = trained
    run = tmp_path / "r"
    shutil.copytree(pristine, run)
    (run / name).write_text(text)
    capsys.readouterr()
    assert trident(["classification", "evaluate", "--run", str(run), "--no-explain"]) == 1
    err = capsys.readouterr().err
    assert expected.format(run / name) in err and "Traceback" not in err, err
    assert "Restore the file" in err


def test_a_cut_best_checkpoint_falls_back_to_the_last_one(trained, tmp_path, capsys):
    pristine, _ = trained
    run = tmp_path / "r"
    shutil.copytree(pristine, run)
    best = run / "checkpoints" / "best.keras"
    best.write_bytes(best.read_bytes()[:1000])
    capsys.readouterr()
    assert trident(["classification", "evaluate", "--run", str(run), "--no-explain"]) == 0
    out = capsys.readouterr().out
    assert (f"the best checkpoint {best} cannot be loaded (it is not a whole .keras file (cut short or "
            "overwritten)); using " in out and "last.keras, the last finished epoch, instead" in out)
    assert "accuracy" in out and "Report: " in out
    (run / "checkpoints" / "last.keras").write_bytes(b"")  # both damaged: the error names the last one tried
    assert trident(["classification", "evaluate", "--run", str(run), "--no-explain"]) == 1
    err = capsys.readouterr().err
    last = run / "checkpoints" / "last.keras"
    assert f"Checkpoint {last} cannot be loaded: it is not a whole .keras file" in err and "Traceback" not in err


def test_evaluate_keeps_the_recorded_split_when_a_class_folder_was_added(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=4)
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(data, runs, "--name", "r")]) == 0
    shutil.copytree(tmp_path / "data" / "dots", tmp_path / "data" / "zebra")
    capsys.readouterr()
    assert trident(["classification", "evaluate", "--run", str(runs / "r"), "--no-explain"]) == 0
    out = capsys.readouterr().out
    assert "4 file(s) added to the data since training" in out
    assert "class(es) zebra (unknown to the model) have no images in this split" in out
