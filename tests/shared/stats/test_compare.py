import json
import os

import numpy as np
import pytest

from shared.errors import TridentError
from shared.stats.paired import compare, mcnemar
from shared.stats.scored import Scored, write_per_image
from tasks import cli
from tasks.classification.metrics import resampled_scores

NAMES = ["a", "b"]


def scored(correct, images=None):
    labels = np.zeros(len(correct), np.int64)
    predicted = np.where(correct, 0, 1)
    images = images or [f"img{i}.png" for i in range(len(correct))]
    return Scored(images, resampled_scores(labels, predicted, NAMES), ("accuracy", "macro F1"),
                  correct=np.asarray(correct, bool))


def test_a_real_difference_is_called_and_noise_is_not():
    rng = np.random.default_rng(0)
    weak = rng.random(300) < 0.6
    strong = weak | (rng.random(300) < 0.75)  # right wherever the weak one is, and on most others
    found = compare(scored(weak), scored(strong), ("A", "B"), resamples=500)
    assert found["verdict"].startswith("B is better than A on this split")
    low, high = found["metrics"]["accuracy"]["interval"]
    assert 0 < low < found["metrics"]["accuracy"]["difference"] < high
    assert found["mcnemar"]["first_only"] == 0 and found["mcnemar"]["p_value"] < 1e-6
    assert compare(scored(strong), scored(weak), ("A", "B"), resamples=500)["verdict"].startswith(
        "A is better than B")

    noisy = weak.copy()
    noisy[:2] = ~noisy[:2]  # two images of 300 change
    found = compare(scored(weak), scored(noisy), ("A", "B"), resamples=500)
    assert "within noise" in found["verdict"] and found["mcnemar"]["p_value"] > 0.2


def test_images_are_paired_by_name_and_different_images_are_refused():
    correct = np.arange(20) % 3 > 0
    names = [f"img{i}.png" for i in range(20)]
    shuffled = np.random.default_rng(1).permutation(20)
    same = compare(scored(correct, names), scored(correct[shuffled], [names[i] for i in shuffled]), resamples=200)
    assert same["metrics"]["accuracy"]["difference"] == 0 and same["metrics"]["accuracy"]["interval"] == (0, 0)
    assert same["mcnemar"] == mcnemar(correct, correct)
    other = names[:-1] + ["elsewhere.png"]
    with pytest.raises(TridentError, match="different images.*1 only in A, 1 only in B"):
        compare(scored(correct, names), scored(correct, other), resamples=200)


def fake_run(root, name, correct, lr, fingerprint="f0"):
    """A classification run folder as `train` and `evaluate` leave it, with a given outcome per image."""
    run = os.path.join(root, name)
    folder = os.path.join(run, "evaluation", "photos-test")
    os.makedirs(folder)
    with open(os.path.join(run, "config.yaml"), "w") as f:
        f.write(f"data: photos\nlr: {lr}\nseed: 0\n")
    with open(os.path.join(run, "manifest.json"), "w") as f:
        json.dump({"task": "classification"}, f)
    with open(os.path.join(folder, "report.json"), "w") as f:
        json.dump({"data": {"fingerprint": fingerprint}}, f)
    labels = np.zeros(len(correct), np.int64)
    write_per_image(folder, [f"img{i}.png" for i in range(len(correct))], labels=labels,
                    predicted=np.where(correct, 0, 1), confidence=np.full(len(correct), 0.9),
                    class_names=np.asarray(NAMES))
    return run


def test_trident_compare_prints_the_verdict_and_writes_the_report(tmp_path, capsys):
    rng = np.random.default_rng(2)
    weak = rng.random(200) < 0.55
    first = fake_run(tmp_path, "first", weak, 0.001)
    second = fake_run(tmp_path, "second", weak | (rng.random(200) < 0.8), 0.01)
    assert cli.main(["compare", first, second, "--resamples", "300"]) == 0
    out = capsys.readouterr().out
    assert "second is better than first on this split" in out
    folder = os.path.join(first, "comparisons", "photos-test-second")
    report = json.load(open(os.path.join(folder, "report.json")))
    assert report["settings_that_differ"] == {"lr": {"first": 0.001, "second": 0.01}}
    assert report["comparisons"][0]["mcnemar"]["first_only"] == 0
    markdown = open(os.path.join(folder, "report.md")).read()
    assert "Settings that differ" in markdown and "McNemar" in markdown

    moved = fake_run(tmp_path, "moved", weak, 0.001, fingerprint="f1")
    assert cli.main(["compare", first, moved]) == 1
    assert "different images" in capsys.readouterr().err
    assert cli.main(["compare", first]) == 1
    assert "at least two runs" in capsys.readouterr().err
    assert cli.main(["compare", first, second, "--resamples", "10000000"]) == 1
    assert "--resamples must be between" in capsys.readouterr().err
