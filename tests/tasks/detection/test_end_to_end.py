"""Detection through the `trident` command on tiny images: train, evaluate, export, reload, predict."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from shared.data.detection import load_detection_data
from shared.detector.score_calibration import rescaled
from shared.detector.threshold import answer_threshold
from shared.engine.runs import Run
from shared.io import read_json
from shared.task_model import load_run_model
from tasks.cli import main as trident
from tasks.detection.task import TASK as DETECTION
from shared.data.images import read_image
from shared.actions.predict import load_predictor
from tasks.detection.evaluate import EVAL_SCORE_THRESHOLD, predict_split
from tasks.detection.inference import detect_with, make_detect
from tests.factories import write_detection_data
from tests.helpers import (benchmarked as _benchmarked, evaluated_split, odd_batches_answer, odd_format_images,
                           portable_match_saved_model, same_answers)

pytestmark = pytest.mark.large  # trains, exports or spawns processes: left out by `-m "not large"`


def test_train_evaluate_export_predict(tmp_path):
    data = write_detection_data(tmp_path / "data", "coco", count=8, size=64)
    runs, exports = tmp_path / "runs", tmp_path / "exports"
    args = ["--data", data, "--backbone", "lenet5", "--image-size", "64", "--batch-size", "2", "--epochs", "1",
            "--width", "16", "--runs-dir", str(runs), "--name", "d", "--verbose", "0"]
    assert trident(["detection", "train", *args]) == 0
    run = runs / "d"
    assert (run / "checkpoints" / "last.keras").is_file() and (run / "report.html").is_file()
    # The logged losses add up (an unknown-length dataset once made Keras double val_loss).
    log = next(csv.DictReader(open(run / "log.csv")))
    for prefix in ("", "val_"):
        parts = 7.5 * float(log[f"{prefix}box_loss"]) + float(log[f"{prefix}cls_loss"])
        assert float(log[f"{prefix}loss"]) == pytest.approx(parts, rel=0.15)

    assert trident(["detection", "evaluate", "--run", str(run)]) == 0
    folder = run / "evaluation" / "annotations-test"
    report = read_json(folder / "report.json")
    assert 0.0 <= report["pointing_game"]["mean"] <= 1.0  # heat of each true box inside it
    assert (folder / "report_figures" / "pyramid.png").is_file()
    assert set(report["coco"]) >= {"AP", "AP50", "AP75", "AP_small", "AR100"}
    # The threshold of best F1 on the val split, fitted after training, is predict's default and said so.
    fitted = read_json(run / "calibration.json")
    assert fitted["split"] == "val" and 0.05 <= fitted["score_threshold"] <= 1.0
    assert report["calibration"]["score_threshold"] == fitted["score_threshold"]
    model = load_predictor(str(run), DETECTION, make_detect).model
    assert answer_threshold(model) == fitted["score_threshold"] and answer_threshold(model, 0.6) == 0.6
    assert "AP@[.50:.95]" in report["intervals"] or report["metrics"]["AP@[.50:.95]"] == 0
    assert len(read_json(folder / "ground_truth.json")["images"]) == read_json(run / "data.json")["counts"]["test"]
    truth = read_json(folder / "ground_truth.json")
    assert {image["id"] for image in truth["images"]} <= set(range(100, 108))  # the COCO file's own image ids
    for result in read_json(folder / "detections.json"):
        assert result["category_id"] in range(10, 15)  # and its own category ids
        assert result["image_id"] in {image["id"] for image in truth["images"]}

    assert {"score_scale", "score_shift", "ece_before", "ece_after"} <= set(fitted)
    # The label review runs the detector over every recorded image and writes its report and list.
    assert trident(["detection", "review", "--run", str(run)]) == 0
    reviewed = read_json(run / "review" / "report.json")
    assert reviewed["reviewed"] == sum(read_json(run / "data.json")["counts"].values())
    with open(run / "review" / "suspects.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(reviewed["suspects"]) and all(row["split"] in ("train", "val", "test") for row in rows)
    assert all(os.path.isfile(row["path"]) for row in rows)  # whole paths, a click away
    # suggest pre-labels the images it picks in the run's data format (COCO here), which reads back as data.
    assert trident(["detection", "suggest", "--run", str(run), "--data", os.path.dirname(data), "--count", "3"]) == 0
    suggested = read_json(run / "suggest" / "report.json")
    assert suggested["format"] == "coco" and len(suggested["suggestions"]) == 3
    prelabelled = load_detection_data(str(run / "suggest" / suggested["data"]), val_fraction=0.0,
                                      test_fraction=0.0)[0]["train"]
    assert [os.path.basename(p) for p in prelabelled.paths] == [row["name"] for row in suggested["suggestions"]]
    for boxes, labels, row in zip(prelabelled.boxes, prelabelled.labels, suggested["suggestions"]):
        np.testing.assert_allclose(boxes, np.reshape(row["boxes"], (-1, 4)), atol=0.02)
        assert list(labels) == row["labels"] and min(row["scores"] or [1.0]) >= answer_threshold(model)
    # Rescaled scores as a larger val split would fit them: predict's scores are sigmoid(0.5 logit + 0.3) of the
    # network's own, in the same order, and the export (compared with predict below) carries the same map.
    Run(str(run)).write_calibration({**fitted, "score_scale": 0.5, "score_shift": 0.3}, Run(str(run)).best_or_last())
    model = load_run_model(Run(str(run)))
    image = tf.constant(np.random.default_rng(3).integers(0, 255, (1, 40, 52, 3), np.uint8))
    own = detect_with(model, model.decoder(score_threshold=0.0, score_scale=1.0, score_shift=0.0))(image)
    rescaled_scores = make_detect(model, score_threshold=0.0)(image)
    np.testing.assert_allclose(rescaled_scores["scores"].numpy(), np.where(
        own["classes"].numpy() >= 0, rescaled(own["scores"].numpy(), 0.5, 0.3), 0.0), atol=1e-5)
    np.testing.assert_array_equal(rescaled_scores["classes"].numpy(), own["classes"].numpy())
    assert trident(["detection", "export", "--run", str(run), "--output-dir", str(exports), "--confidence", "0.0",
                    "--format", "tflite,tflite_int8,onnx"]) == 0
    export = exports / "d" / "1"
    # At confidence 0 this barely trained detector keeps 100 boxes of near-tied scores, where on random noise
    # the runtimes' NMS may keep other boxes of a tie; the export's own check ran on held-out images.
    portable_match_saved_model(export, [], atol=1e-3)
    _benchmarked("detection", run, "AP", export, tolerance=1e-3)
    stages = read_json(run / "benchmark" / "benchmark.json")["stages_ms"]
    assert list(stages) == ["letterbox", "backbone", "neck and head", "decode boxes", "top-k, NMS, gathers"]
    assert all(np.isfinite(list(stages.values()))) and stages["backbone"] > 0
    assert "Where one image's time goes" in (run / "benchmark" / "benchmark.md").read_text()
    meta = read_json(export / "assets.extra" / "trident.json")
    assert meta["max_abs_diff"] <= 1e-3 and meta["compared_images"] >= 1
    assert meta["decoder"]["score_scale"] == 0.5 and meta["calibration"]["score_shift"] == 0.3
    served = tf.saved_model.load(str(export)).signatures["serving_default"](
        images=tf.constant(np.zeros((1, 50, 90, 3), np.uint8)))
    boxes = served["boxes"].numpy()[0][: int(served["num_detections"][0])]
    assert ((boxes[:, [0, 2]] <= 90) & (boxes[:, [1, 3]] <= 50)).all()  # in the input's own pixels

    odd_batches_answer(exports / "d")
    (tmp_path / "odd").mkdir()
    odd = odd_format_images(tmp_path / "odd", (48, 70))
    same_answers(DETECTION, run, exports / "d", lambda model: make_detect(model, score_threshold=0.0), odd, _agree)
    # evaluate reads the same files (through a COCO file) and detects as predict does at its settings.
    model, dataset = evaluated_split(run, DETECTION, _coco_over(odd, read_json(run / "data.json")),
                                     str(tmp_path / "odd"))
    on_run = load_predictor(str(run), DETECTION, lambda m: make_detect(
        m, score_threshold=EVAL_SCORE_THRESHOLD, multi_label=True))
    for i, (boxes, scores, classes) in enumerate(predict_split(model, dataset)):
        n = len(scores)
        expected = on_run.answer(read_image(str(tmp_path / "odd" / os.path.basename(dataset.name(i))))[None])
        _agree({"num_detections": [n], "boxes": boxes[None], "scores": scores[None], "classes": classes[None]},
               expected, dataset.name(i))

    image = os.path.join(os.path.dirname(data), "img1.jpg")
    outputs = {}
    for name, model in (("run", run), ("export", exports / "d")):
        out = tmp_path / name
        assert trident(["detection", "predict", "--model", str(model), image, "--output", str(out),
                        "--confidence", "0.0", *(["--explain"] if name == "run" else [])]) == 0
        assert (out / "img1.png").is_file()
        outputs[name] = json.loads((out / "detections.json").read_text())[0]["detections"]
    assert [d["class"] for d in outputs["run"]] == [d["class"] for d in outputs["export"]]
    explained = [d["explanation"] for d in outputs["run"] if "explanation" in d]
    assert len(explained) == min(5, len(outputs["run"])) and all(os.path.isfile(p) for p in explained)
    np.testing.assert_allclose([d["box"] for d in outputs["run"]], [d["box"] for d in outputs["export"]], atol=0.02)


def _coco_over(paths, data_record):
    """A COCO file listing `paths` (48 x 70 images), one box each, in the run's first class."""
    name = data_record["class_names"][0]
    coco = {"categories": [{"id": 1, "name": name}], "images": [], "annotations": []}
    for i, path in enumerate(paths):
        coco["images"].append({"id": i, "file_name": os.path.basename(path), "width": 70, "height": 48})
        coco["annotations"].append({"id": i, "image_id": i, "category_id": 1, "bbox": [5, 5, 30, 20],
                                    "area": 600, "iscrowd": 0})
    target = os.path.join(os.path.dirname(paths[0]), "..", "odd.json")
    with open(target, "w") as f:
        json.dump(coco, f)
    return target


def _agree(a, b, what):
    n = int(a["num_detections"][0])
    assert int(b["num_detections"][0]) == n, what
    np.testing.assert_array_equal(a["classes"][0, :n], b["classes"][0, :n], err_msg=what)
    np.testing.assert_allclose(a["boxes"][0, :n], b["boxes"][0, :n], atol=0.02, err_msg=what)
    np.testing.assert_allclose(a["scores"][0, :n], b["scores"][0, :n], atol=1e-4, err_msg=what)


def test_detection_needs_a_multiple_of_32(tmp_path, capsys):
    data = write_detection_data(tmp_path / "data", "voc", count=4, size=64)
    assert trident(["detection", "train", "--data", data, "--image-size", "50", "--runs-dir", str(tmp_path)]) == 1
    assert "multiple of 32" in capsys.readouterr().err
