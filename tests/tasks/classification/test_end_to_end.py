"""Train, evaluate, export, reload and predict through the `trident` command, on tiny data."""

import json
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from shared.engine.runs import Run
from shared.io import read_json
from shared.stats.calibration import with_temperature
from shared.task_model import load_run_model
from tasks.cli import main as trident
from tasks.classification.inference import make_classify
from tasks.classification.task import TASK as CLASSIFICATION
from tests.factories import tiny_train_args, write_class_folders
from tests.helpers import benchmarked, odd_batches_answer, odd_format_images, portable_match_saved_model, same_answers

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_train_evaluate_export_predict(class_folder, tmp_path, capsys):
    broken = os.path.join(class_folder, "plain", "broken.jpg")
    with open(broken, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 truncated")
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(class_folder, runs, "--name", "t")]) == 0
    run = runs / "t"
    for name in ("config.yaml", "manifest.json", "data.json", "state.json", "log.csv", "backbone.weights.h5",
                 "checkpoints/best.keras", "checkpoints/last.keras", "report.html", "report.md", "report.json"):
        assert (run / name).exists(), name
    assert (run / "tensorboard").is_dir()
    manifest = read_json(run / "manifest.json")
    assert manifest["seed"] == 0 and manifest["versions"]["keras"] and manifest["data_fingerprint"]["train"]
    assert read_json(run / "data.json")["skipped"][0][0] == broken

    assert trident(["classification", "evaluate", "--run", str(run)]) == 0
    report = read_json(run / "evaluation" / "data-test" / "report.json")
    assert report["metrics"]["skipped images"] == 1
    assert report["classification"]["images"] == read_json(run / "data.json")["counts"]["test"]
    assert set(report["model"]) >= {"parameters", "ms_per_image_batch1"}
    # Other data with no splits of its own is scored whole.
    other = write_class_folders(tmp_path / "other", per_class=2, seed=5)
    assert trident(["classification", "evaluate", "--run", str(run), "--data", other, "--explain-levels", "P1",
                    "--explain-method", "gradcam"]) == 0
    assert read_json(run / "evaluation" / "other-test" / "report.json")["classification"]["images"] == 6
    assert trident(["classification", "evaluate", "--run", str(run), "--explain-levels", "P7",
                    "--output", str(tmp_path / "no-report")]) == 1  # refused before scoring, nothing written
    assert "no pyramid level P7" in capsys.readouterr().err and not (tmp_path / "no-report").exists()

    fitted = read_json(run / "calibration.json")  # fitted on the val split after training
    assert fitted["split"] == "val" and fitted["temperature"] > 0 and "ece_after" in fitted
    assert fitted["temperature"] == 1.0 and "wrong answer" in fitted["not_fitted"]  # too few errors to fit
    # Tiny data has too few wrong answers to fit a temperature; set one as a larger val split would fit it,
    # and check that predict applies it (the export's answers are held to predict's below).
    Run(str(run)).write_calibration({"temperature": 2.0, "split": "val"}, Run(str(run)).best_or_last())
    model = load_run_model(Run(str(run)))
    image = np.random.default_rng(3).integers(0, 255, (2, 30, 30, 3), np.uint8)
    raw = make_classify(model, temperature=1.0)(tf.constant(image))["probabilities"].numpy()
    np.testing.assert_allclose(make_classify(model)(tf.constant(image))["probabilities"].numpy(),
                               with_temperature(raw, 2.0), atol=1e-5)

    out = tmp_path / "exports"
    assert trident(["classification", "export", "--run", str(run), "--output-dir", str(out), "--name", "m",
                    "--format", "saved_model,tflite,onnx"]) == 0
    export = out / "m" / "1"
    portable_match_saved_model(export, ["probabilities", "class_ids"], atol=1e-4)
    benchmarked("classification", run, "accuracy")  # a fresh export of every format, int8 included
    meta = read_json(export / "assets.extra" / "trident.json")
    assert meta["max_abs_diff"] <= 1e-4 and meta["compared_images"] > 0
    assert meta["calibration"]["temperature"] == 2.0  # inside every format (same_answers below: as predict)
    assert meta["class_names"] == ["bars", "dots", "plain"]
    assert trident(["classification", "export", "--run", str(run), "--output-dir", str(out), "--name", "m"]) == 0
    assert sorted(os.listdir(out / "m")) == ["1", "2"]  # versions count up

    # Any image size in, probabilities and names out, from both endpoints.
    loaded = tf.saved_model.load(str(export))
    image = np.random.default_rng(1).integers(0, 255, (1, 40, 52, 3), np.uint8)
    served = loaded.signatures["serving_default"](images=tf.constant(image))
    assert served["probabilities"].shape == (1, 3)
    assert served["class_names"].numpy()[0].decode() in meta["class_names"]
    png = tf.io.encode_png(image[0]).numpy()
    from_bytes = loaded.serve_bytes(tf.constant([png, png]))
    np.testing.assert_allclose(from_bytes["probabilities"][0], served["probabilities"][0], atol=1e-5)

    odd_batches_answer(out / "m")

    # Awkward formats give the same answer on every way in: predict on the run and on the
    # export, serve_bytes, and evaluate (its accuracy on them is the share predicted "bars").
    odd = tmp_path / "odd" / "bars"
    odd.mkdir(parents=True)
    answers = same_answers(CLASSIFICATION, run, out / "m", make_classify, odd_format_images(odd), _agree)
    assert trident(["classification", "evaluate", "--run", str(run), "--data", str(odd.parent),
                    "--output", str(tmp_path / "odd-report"), "--no-explain"]) == 0
    assert not (tmp_path / "odd-report" / "report_figures" / "why_it_decided.png").exists()  # left out as asked
    assert (run / "evaluation" / "other-test" / "report_figures" / "why_it_decided.png").is_file()
    timing = read_json(run / "evaluation" / "other-test" / "report.json")["timing"]  # the sections' share is told
    assert 0 < timing["explanation_seconds"] < timing["seconds"]
    assert read_json(run / "evaluation" / "other-test" / "report.json")["explained_with"] == "Grad-CAM at P1"
    assert read_json(tmp_path / "odd-report" / "report.json")["timing"]["explanation_seconds"] is None
    accuracy = read_json(tmp_path / "odd-report" / "report.json")["classification"]["accuracy"]
    assert accuracy == pytest.approx(np.mean([a["class_names"][0] == b"bars" for a in answers.values()]))

    capsys.readouterr()
    sample = os.path.join(class_folder, "bars", "0.png")
    results = {}
    for model_path in (str(run), str(out / "m")):
        json_out = tmp_path / "p.json"
        assert trident(["classification", "predict", "--model", model_path, sample, "--top-k", "2",
                        "--json", str(json_out)]) == 0
        results[model_path] = json.loads(json_out.read_text())[0]["top"]
    assert capsys.readouterr().out.count(sample) == 2
    run_top, export_top = results.values()
    assert [r["class"] for r in run_top] == [r["class"] for r in export_top]
    np.testing.assert_allclose([r["probability"] for r in run_top], [r["probability"] for r in export_top],
                               atol=1e-5)

    # --explain writes a heat map over the image at its own size; an export cannot be explained.
    assert trident(["classification", "predict", "--model", str(run), sample, "--json", str(json_out),
                    "--explain", str(tmp_path / "why")]) == 0
    why = json.loads(json_out.read_text())[0]["explanation"]
    assert Image.open(why).size == Image.open(sample).size and run_top[0]["class"] in why
    assert trident(["classification", "predict", "--model", str(out / "m"), sample, "--explain",
                    str(tmp_path / "why")]) == 1
    assert "holds no gradients" in capsys.readouterr().err


def _agree(a, b, what):
    assert a["class_names"][0] == b["class_names"][0], what
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-5, err_msg=what)


def test_resume_after_interruption_and_raising_epochs(class_folder, tmp_path, capsys):
    runs = tmp_path / "runs"
    args = tiny_train_args(class_folder, runs, "--name", "r", "--epochs", "3")
    # A one-microsecond budget stops during the first epoch, as a kill would.
    assert trident(["classification", "train", *args, "--time-budget", "0.000001"]) == 0
    state = read_json(runs / "r" / "state.json")
    assert state["epoch"] == 1 and state["ended"] == "time budget"
    assert trident(["classification", "train", *args]) == 0
    assert "Resuming" in capsys.readouterr().out
    state = read_json(runs / "r" / "state.json")
    assert state["epoch"] == 3 and state["ended"] == "completed"
    epochs = [line.split(",")[0] for line in open(runs / "r" / "log.csv").read().split()[1:]]
    assert epochs == ["0", "1", "2"]
    assert trident(["classification", "train", *args]) == 0
    assert "already finished 3 epochs" in capsys.readouterr().out
    assert trident(["classification", "train", *args[:-2], "--epochs", "2"]) == 0  # fewer than done: nothing
    assert "already finished 3 epochs" in capsys.readouterr().out
    assert "epochs: 3" in (runs / "r" / "config.yaml").read_text().splitlines()
    assert trident(["classification", "train", *args[:-2], "--epochs", "4"]) == 0
    assert read_json(runs / "r" / "state.json")["epoch"] == 4


def test_bad_input_is_a_clear_error_not_a_traceback(class_folder, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(tmp_path / "nope", runs)]) == 1
    assert "nope is neither a built-in data set" in capsys.readouterr().err
    assert trident(["classification", "train", *tiny_train_args(class_folder, runs), "--backbone", "vgg99"]) == 1
    assert "Unknown backbone `vgg99`" in capsys.readouterr().err
    assert trident(["classification", "evaluate", "--run", str(tmp_path)]) == 1
    assert "not a Trident run folder" in capsys.readouterr().err
    assert trident(["classification", "predict", "--model", str(tmp_path), "x.png"]) == 1
    assert trident(["segment", "train"]) == 2  # unknown task
    assert trident(["classification", "train", *tiny_train_args(class_folder, runs), "--name", "../escaped"]) == 1
    assert "not a plain folder name" in capsys.readouterr().err and not (tmp_path / "escaped").exists()
    assert trident(["classification", "train", *tiny_train_args(class_folder, runs), "--time-budget", "0"]) == 1
    assert "leaves no time to train" in capsys.readouterr().err


def test_csv_naming_images_outside_its_folder_is_refused_unless_allowed(tmp_path, capsys):
    images = write_class_folders(tmp_path / "elsewhere", per_class=4)
    listing = tmp_path / "listing" / "labels.csv"
    listing.parent.mkdir()
    rows = [f"../elsewhere/{kind}/{i}.{'png' if i % 2 == 0 else 'jpg'},{kind}" for kind in ("bars", "dots", "plain")
            for i in range(4)]
    listing.write_text("path,label\n" + "\n".join(rows) + "\n")
    runs = tmp_path / "runs"
    assert trident(["classification", "train", *tiny_train_args(listing, runs, "--name", "out")]) == 1
    err = capsys.readouterr().err
    assert "line 2, names" in err and "outside its folder" in err and "--allow-outside-data" in err and images in err
    assert not (runs / "out").exists()  # refused before anything was written
    assert trident(["classification", "train", *tiny_train_args(listing, runs, "--name", "out",
                                                                 "--allow-outside-data")]) == 0


def test_no_validation_split_trains_and_evaluates(class_folder, tmp_path):
    runs = tmp_path / "runs"
    args = tiny_train_args(class_folder, runs, "--name", "noval", "--val-fraction", "0")
    assert trident(["classification", "train", *args]) == 0
    counts = read_json(runs / "noval" / "data.json")["counts"]
    assert counts["val"] == 0 and counts["train"] + counts["test"] == 18
    assert trident(["classification", "evaluate", "--run", str(runs / "noval")]) == 0


def test_grayscale_data_trains_the_papers_lenet5_on_one_channel_and_exports_it(tmp_path):
    from tests.factories import CLASSES, pattern

    rng = np.random.default_rng(3)
    for kind in CLASSES:  # grayscale PNGs (mode L)
        os.makedirs(tmp_path / "gray" / kind)
        for i in range(5):
            Image.fromarray(pattern(kind, 32, rng)[..., 0]).save(tmp_path / "gray" / kind / f"{i}.png")
    runs, out = tmp_path / "runs", tmp_path / "exports"
    args = tiny_train_args(tmp_path / "gray", runs, "--name", "g")
    args[args.index("--image-size") + 1] = "32"
    assert trident(["classification", "train", *args]) == 0
    run = runs / "g"
    import yaml

    assert yaml.safe_load((run / "config.yaml").read_text())["channels"] == 1
    assert read_json(run / "data.json")["defaults"]["channels"]["value"] == 1
    from shared.task_model import load_checkpoint

    model = load_checkpoint(str(run / "checkpoints" / "last.keras"))
    # The paper's 61,706 parameters, less the output layer's 10 classes plus these 3 (85 weights each).
    assert model.backbone.input_channels == 1 and model.backbone.as_drawn and model.count_params() == 61706 - 7 * 85
    assert model.inputs[0].shape[-1] == 3  # RGB in, gray inside
    assert trident(["classification", "export", "--run", str(run), "--output-dir", str(out), "--name", "g"]) == 0
    assert read_json(out / "g" / "1" / "assets.extra" / "trident.json")["max_abs_diff"] <= 1e-4


def test_photographs_fine_tune_the_pretrained_backbone_end_to_end(tmp_path, capsys, monkeypatch):
    """The default on colour images of 40 px: EfficientNet-Lite0 with ImageNet weights, its choice
    explained; resumed, evaluated, and exported in every float format that answers like Keras."""
    monkeypatch.setenv("TRIDENT_CACHE", str(tmp_path / "cache"))
    data = write_class_folders(tmp_path / "photos", per_class=4, size=40)
    runs = tmp_path / "runs"
    args = ["--data", data, "--batch-size", "2", "--runs-dir", str(runs), "--verbose", "0", "--val-fraction", "0.25",
            "--test-fraction", "0.25", "--image-size", "32", "--augment", "none", "--epochs", "2"]
    assert trident(["classification", "train", *args, "--time-budget", "0.000001"]) == 0
    run = runs / "classification-photos-efficientnet_lite0"  # the default name holds the chosen backbone
    assert read_json(run / "state.json")["epoch"] == 1
    assert trident(["classification", "train", *args]) == 0
    assert "Resuming" in capsys.readouterr().out and read_json(run / "state.json")["epoch"] == 2
    chosen = read_json(run / "data.json")["defaults"]
    assert chosen["backbone"]["value"] == "efficientnet_lite0" and "ImageNet" in chosen["backbone"]["reason"]
    assert chosen["backbone_weights"]["value"] == "imagenet" and chosen["lr"]["value"] == 1e-3
    assert "efficientnet_lite0" in (run / "report.md").read_text()
    assert trident(["classification", "evaluate", "--run", str(run)]) == 0
    out = tmp_path / "exports"
    assert trident(["classification", "export", "--run", str(run), "--output-dir", str(out), "--name", "m",
                    "--format", "saved_model,tflite,onnx"]) == 0
    portable_match_saved_model(out / "m" / "1", ["probabilities", "class_ids"], atol=1e-4)
