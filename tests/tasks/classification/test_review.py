"""`trident classification review` and `suggest`: a wrong label planted in tiny data is the first suspect, in every
output; suggestions are uncertain, diverse, and their pre-labels read back as data in both formats."""

import csv
import json
import os
import shutil

import pytest

from shared.data.classification import load_classification_data
from tasks.cli import main as trident
from tests.factories import tiny_train_args, write_class_folders


@pytest.mark.large  # trains, and runs the ImageNet network over the data
def test_a_planted_wrong_label_is_ranked_first(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=12, size=32)
    planted = os.path.join(data, "bars", "planted.jpg")
    shutil.move(os.path.join(data, "dots", "3.jpg"), planted)  # a dots image labelled bars
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(data, runs, "--name", "r")]) == 0
    capsys.readouterr()
    assert trident(["classification", "review", "--run", str(runs / "r")]) == 0
    assert "suspected label error(s) among 36 images" in capsys.readouterr().out
    review = runs / "r" / "review"
    with open(review / "suspects.csv") as f:
        first = next(csv.DictReader(f))
    assert (first["rank"], first["path"], first["given"], first["suggested"]) == ("1", planted, "bars", "dots")
    report = json.loads((review / "report.json").read_text())
    assert report["suspects"][0]["path"] == planted and report["reviewed"] == 36
    page = (review / "report.html").read_text()
    assert f"href='file://{planted}'" in page and "suspects" in os.listdir(review / "report_figures")[0]


@pytest.mark.large  # trains, and runs the ImageNet network over the images
def test_suggest_writes_prelabels_that_read_back_as_data_in_both_formats(tmp_path, capsys):
    data = write_class_folders(tmp_path / "data", per_class=6, size=32)
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(data, runs, "--name", "r")]) == 0
    unlabelled = write_class_folders(tmp_path / "new", per_class=4, size=32, seed=1)
    for fmt in ("folders", "csv"):
        out = tmp_path / f"suggested-{fmt}"
        assert trident(["classification", "suggest", "--run", str(runs / "r"), "--data", unlabelled, "--count", "5",
                        "--format", fmt, "--output", str(out)]) == 0
        assert f"Suggested 5 of 12 images, pre-labelled in {out}" in capsys.readouterr().out
        report = json.loads((out / "report.json").read_text())
        rows = report["suggestions"]
        assert len(rows) == 5 and len({r["path"] for r in rows}) == 5
        assert all(rows[i]["uncertainty"] >= 0 for i in range(5))
        splits, info = load_classification_data(str(out / "data" / "labels.csv") if fmt == "csv" else str(out / "data"),
                                                val_fraction=0.0, test_fraction=0.0)
        assert sum(info["counts"].values()) == 5 and not info["skipped"]
        part = splits["train"]
        assert sorted(zip([os.path.basename(p)[5:] for p in part.paths],
                          [part.class_names[i] for i in part.labels])) == sorted(
            (os.path.basename(r["path"]), r["label"]) for r in rows)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert trident(["classification", "suggest", "--run", str(runs / "r"), "--data", unlabelled,
                    "--output", str(tmp_path / "mine")]) == 1
    assert "was not written by `suggest`" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
