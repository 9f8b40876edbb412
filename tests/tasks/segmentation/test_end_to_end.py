"""Segmentation through the `trident` command on tiny images: train, evaluate, export at two sizes, predict."""

import pytest
import io
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from shared.data.images import read_image
from shared.data.segmentation import load_segmentation_data
from shared.engine.runs import Run
from shared.io import read_json
from shared.stats.calibration import with_temperature
from shared.task_model import load_run_model
from tasks.cli import main as trident
from tasks.segmentation.task import TASK as SEGMENTATION
from tasks.segmentation.evaluate import score_split
from tasks.segmentation.inference import make_segment
from tests.factories import tiny_train_args, write_class_folders, write_segmentation_data
from tests.helpers import (benchmarked, evaluated_split, odd_batches_answer, odd_format_images, same_answers,
                           portable_match_saved_model)

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_train_evaluate_export_predict(tmp_path, capsys):
    data = write_segmentation_data(tmp_path / "data", count=8, size=48, kind="rgb")
    runs, exports = tmp_path / "runs", tmp_path / "exports"
    args = ["--data", data, "--backbone", "lenet5", "--image-size", "32", "--batch-size", "2", "--epochs", "1",
            "--width", "16", "--runs-dir", str(runs), "--name", "s", "--verbose", "0", "--dice", "0.5"]
    assert trident(["segmentation", "train", *args]) == 0
    run = runs / "s"
    assert (run / "report.html").is_file() and (run / "backbone.weights.h5").is_file()
    assert read_json(run / "data.json")["class_table"][2]["colour"] == [0, 250, 0]

    assert trident(["segmentation", "evaluate", "--run", str(run), "--split", "val"]) == 0
    report = read_json(run / "evaluation" / "set-val" / "report.json")
    assert {"mean_iou", "mean_dice", "pixel_accuracy", "frequency_weighted_iou"} <= set(report["segmentation"])
    assert len(report["confusion"]) == 6
    fitted = read_json(run / "calibration.json")  # on pixels of the val split, after training
    assert fitted["split"] == "val" and fitted["pixels"] > 0 and fitted["temperature"] > 0
    assert {"ece_before", "ece_after", "nll_before", "nll_after"} <= set(report["calibration"])
    # Set a temperature as a larger val split would fit it: predict applies it, and every class map stays.
    Run(str(run)).write_calibration({"temperature": 2.0, "split": "val"}, Run(str(run)).best_or_last())
    model = load_run_model(Run(str(run)))
    image = tf.constant(np.random.default_rng(3).integers(0, 255, (1, 40, 52, 3), np.uint8))
    raw, tempered = make_segment(model, temperature=1.0)(image), make_segment(model)(image)
    np.testing.assert_array_equal(raw["class_map"].numpy(), tempered["class_map"].numpy())
    np.testing.assert_allclose(tempered["probabilities"].numpy().reshape(-1, 6),
                               with_temperature(raw["probabilities"].numpy().reshape(-1, 6), 2.0), atol=1e-5)
    # The label review writes its report and list; suggest pre-labels masks (colours, as this data's masks are)
    # that read back as data, each the model's class map of its image.
    assert trident(["segmentation", "review", "--run", str(run)]) == 0
    reviewed = read_json(run / "review" / "report.json")
    assert reviewed["reviewed"] == sum(read_json(run / "data.json")["counts"].values())
    assert (run / "review" / "suspects.csv").read_text().startswith("rank,path,split,issue")
    images = os.path.join(os.path.dirname(data), "images")
    assert trident(["segmentation", "suggest", "--run", str(run), "--data", images, "--count", "3"]) == 0
    suggested = read_json(run / "suggest" / "report.json")["suggestions"]
    again = load_segmentation_data(str(run / "suggest" / "data" / "dataset.yaml"), val_fraction=0.0,
                                   test_fraction=0.0)[0]["train"]
    assert sorted(os.path.basename(p) for p in again.paths) == sorted(row["name"] for row in suggested)
    assert np.asarray(Image.open(again.mask_paths[0])).ndim == 3
    for i, path in enumerate(again.paths):
        expected = make_segment(model)(read_image(path)[None])["class_map"].numpy()[0]
        np.testing.assert_array_equal(again.mask(i), expected)

    assert trident(["segmentation", "export", "--run", str(run), "--output-dir", str(exports),
                    "--format", "tflite,tflite_int8,onnx"]) == 0
    export = exports / "s" / "1"
    meta = read_json(export / "assets.extra" / "trident.json")
    assert meta["max_abs_diff"] <= 1e-4 and len(meta["compared_sizes"]) >= 2
    assert meta["calibration"]["temperature"] == 2.0  # inside every format (same_answers below: as predict)
    portable_match_saved_model(export, ["probabilities", "class_map"], atol=1e-4)
    benchmarked("segmentation", run, "mean_iou", export)
    serve = tf.saved_model.load(str(export)).signatures["serving_default"]
    for shape in ((1, 37, 53, 3), (2, 64, 40, 3)):
        out = serve(images=tf.constant(np.zeros(shape, np.uint8)))
        assert out["class_map"].shape == shape[:3] and out["probabilities"].shape == (*shape[:3], 6)

    odd_batches_answer(exports / "s")
    loaded = tf.saved_model.load(str(export))
    pngs = [_png(np.zeros(shape, np.uint8)) for shape in ((20, 30, 3), (24, 30, 3))]
    with pytest.raises(tf.errors.InvalidArgumentError, match="the images of one call must have one size"):
        loaded.serve_bytes(tf.constant(pngs))
    assert loaded.serve_bytes(tf.constant(pngs[:1] * 2))["class_map"].shape == (2, 20, 30)
    # A PNG whose header says 20000 x 20000 is refused from the header, never decoded.
    huge = pngs[0][:16] + (20000).to_bytes(4, "big") * 2 + pngs[0][24:]
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than 100,000,000 pixels, the limit for one image"):
        loaded.serve_bytes(tf.constant([huge]))
    assert meta["max_pixels"] == 100_000_000
    # The same odd files (16-bit, grayscale, RGBA, palette, JPEG) give the same class maps in predict on the
    # run and on the export, in serve_bytes, and in evaluate (read as a mask folder of other data).
    odd = tmp_path / "odd"
    (odd / "images").mkdir(parents=True)
    (odd / "masks").mkdir()
    answers = same_answers(SEGMENTATION, run, exports / "s", make_segment, odd_format_images(odd / "images"),
                           _agree)
    half = np.zeros((40, 52), np.uint8)
    half[20:] = 1
    for path in answers:
        Image.fromarray(half).save(odd / "masks" / (os.path.splitext(os.path.basename(path))[0] + ".png"))
    model, dataset = evaluated_split(run, SEGMENTATION, str(odd))
    maps, _, _, _, _ = score_split(model, dataset)
    assert len(maps) == len(answers)
    by_name = {os.path.basename(path): answer["class_map"][0] for path, answer in answers.items()}
    for i, class_map in enumerate(maps):
        np.testing.assert_array_equal(class_map, by_name[os.path.basename(dataset.name(i))], err_msg=dataset.name(i))

    image = os.path.join(tmp_path, "data", "images", "s1.jpg")
    maps = {}
    for name, model in (("run", run), ("export", exports / "s")):
        out = tmp_path / name
        assert trident(["segmentation", "predict", "--model", str(model), image, "--output", str(out)]) == 0
        classes = Image.open(out / "s1_classes.png")
        assert classes.mode == "P" and classes.size == (48, 48)
        assert (out / "s1_overlay.png").is_file()
        assert json.loads((out / "summary.json").read_text())[0]["pixel_share"]
        maps[name] = np.asarray(classes)
    np.testing.assert_array_equal(maps["run"], maps["export"])
    assert trident(["segmentation", "predict", "--model", str(run), image, "--output", str(tmp_path / "limit"),
                    "--max-pixels", "2000"]) == 1
    assert f"Image file {image} is 48 x 48 = 2,304 pixels, over the limit of 2,000 for one image" in \
        capsys.readouterr().err
    assert trident(["segmentation", "predict", "--model", str(run), image, "--output", str(tmp_path / "why"),
                    "--explain"]) == 0
    summary = json.loads((tmp_path / "why" / "summary.json").read_text())[0]
    background = read_json(run / "data.json")["class_names"][0]
    assert set(summary["explanations"]) == set(summary["pixel_share"]) - {background}  # one per class found
    for path in summary["explanations"].values():
        assert Image.open(path).size == (48, 48)


def _png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _agree(a, b, what):
    np.testing.assert_array_equal(a["class_map"], b["class_map"], err_msg=what)
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-4, err_msg=what)


def test_backbone_trained_in_classification_loads_into_segmentation(tmp_path, capsys):
    import keras

    from shared.actions.train import get_args_parser
    from shared.backbones import build_backbone

    runs = tmp_path / "runs"
    folders = write_class_folders(tmp_path / "cls")
    assert trident(["classification", "train", *tiny_train_args(folders, runs, "--name", "c")]) == 0
    weights = str(runs / "c" / "backbone.weights.h5")
    data = write_segmentation_data(tmp_path / "seg", count=6, size=32)
    args = ["--data", data, "--backbone", "lenet5", "--backbone-weights", weights, "--image-size", "32",
            "--batch-size", "2", "--epochs", "1", "--width", "8", "--runs-dir", str(runs), "--verbose", "0"]

    # The segmenter the train script builds starts from the classifier's trained backbone, not a fresh one.
    config = vars(get_args_parser(SEGMENTATION).parse_args(args))
    _, info = SEGMENTATION.read(config["data"], image_size=config["image_size"])
    segmenter = SEGMENTATION.build_model(config, info)
    classifier = keras.models.load_model(runs / "c" / "checkpoints" / "last.keras")
    trained, fresh = classifier.backbone.get_weights(), build_backbone("lenet5").get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(trained, fresh))
    for loaded, expected in zip(segmenter.backbone.get_weights(), trained):
        np.testing.assert_array_equal(loaded, expected)

    assert trident(["segmentation", "train", *args, "--name", "s"]) == 0
    # Weights of another backbone family are refused with the file named, before any training.
    assert trident(["segmentation", "train", *args, "--name", "t", "--backbone", "compact"]) == 1
    assert f"Backbone weights {weights} do not fit" in capsys.readouterr().err
