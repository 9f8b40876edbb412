"""Instance segmentation through the `trident` command on tiny images: inspect, train, evaluate, export
(every format), benchmark, predict; the export's masks equal `predict`'s pixel for pixel."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from shared.actions.predict import load_predictor
from shared.data.images import read_image
from shared.detector.compare import detection_difference
from shared.io import read_json
from tasks.cli import main as trident
from tasks.instance.data import load_instance_data
from tasks.instance.inference import make_segment
from tasks.instance.task import TASK as INSTANCE
from tests.factories import write_instance_data
from tests.helpers import benchmarked, odd_batches_answer, odd_format_images, portable_match_saved_model, same_answers

pytestmark = pytest.mark.large


def _agree(reference, other, what):
    """The same detections (paired by class, score and box: near-tied scores of this barely trained model may
    come in another order), each pair with the same mask pixel for pixel."""

    def exact(i, j):
        return 0.0 if np.array_equal(np.asarray(other["masks"][0][i]), np.asarray(reference["masks"][0][j])) \
            else float("inf")

    assert detection_difference(other, reference, None, exact) <= 1e-3, what


def test_inspect_train_evaluate_export_benchmark_predict(tmp_path):
    data = write_instance_data(tmp_path / "data", "coco", count=10, size=64)
    runs, exports = tmp_path / "runs", tmp_path / "exports"
    assert trident(["instance", "inspect", "--data", data, "--output", str(tmp_path / "inspection")]) == 0
    inspection = read_json(tmp_path / "inspection" / "report.json")
    assert inspection["instances"]["max_per_image"] >= 1

    args = ["--data", data, "--backbone", "lenet5", "--image-size", "64", "--batch-size", "2", "--epochs", "1",
            "--width", "16", "--coefficients", "8", "--runs-dir", str(runs), "--name", "i", "--verbose", "0"]
    assert trident(["instance", "train", *args]) == 0
    run = runs / "i"
    assert (run / "checkpoints" / "last.keras").is_file() and (run / "report.html").is_file()

    assert trident(["instance", "evaluate", "--run", str(run)]) == 0
    folder = run / "evaluation" / "annotations-test"
    report = read_json(folder / "report.json")
    assert set(report["coco_segm"]) >= {"AP", "AP50", "AP75", "AP_small"} and "AP" in report["coco_bbox"]
    assert len(report["counts"]["truth"]) == read_json(run / "data.json")["counts"]["test"]
    assert all((folder / "report_figures" / f"{name}.png").is_file() for name in ("examples", "counts", "pr_curves"))
    assert 0.0 <= report["pointing_game"]["mean"] <= 1.0
    truth = read_json(folder / "ground_truth.json")
    assert all("segmentation" in a for a in truth["annotations"])
    assert {image["id"] for image in truth["images"]} <= set(range(100, 110))  # the COCO file's own ids
    # The label review judges every recorded image's objects by their boxes against the run's detections.
    assert trident(["instance", "review", "--run", str(run)]) == 0
    reviewed = read_json(run / "review" / "report.json")
    assert reviewed["reviewed"] == sum(read_json(run / "data.json")["counts"].values())
    assert (run / "review" / "suspects.csv").read_text().startswith("rank,path,split,issue")
    # suggest pre-labels its picks with the masks at predict's threshold, as a COCO JSON that reads back as data.
    assert trident(["instance", "suggest", "--run", str(run), "--data", os.path.dirname(data), "--count", "3"]) == 0
    suggested = read_json(run / "suggest" / "report.json")["suggestions"]
    again = load_instance_data(str(run / "suggest" / "data" / "annotations.json"), val_fraction=0.0,
                               test_fraction=0.0)[0]["train"]
    assert [os.path.basename(p) for p in again.paths] == [row["name"] for row in suggested]
    for i, row in enumerate(suggested):
        assert list(again.labels[i]) == row["labels"] and min(row["scores"] or [1.0]) > 0.05
        assert len(again.masks[i].stack()) == len(row["labels"]) and all(m.any() for m in again.masks[i].stack())

    assert trident(["instance", "export", "--run", str(run), "--output-dir", str(exports), "--confidence", "0.0",
                    "--format", "tflite,tflite_int8,onnx"]) == 0
    export = exports / "i" / "1"
    manifest = read_json(export / "assets.extra" / "trident.json")
    assert manifest["max_abs_diff"] <= 1e-3 and manifest["tflite"]["file"] == "model.tflite"
    # At confidence 0 this barely trained model keeps 300 boxes of near-tied scores, which the runtimes' NMS
    # may order otherwise; the export's own check paired them (tflite and onnx passed it).
    portable_match_saved_model(export, [], atol=1e-3)
    served = tf.saved_model.load(str(export)).signatures["serving_default"](
        images=tf.constant(np.zeros((1, 50, 90, 3), np.uint8)))
    assert served["masks"].shape[2:] == (50, 90)  # at the input's own size
    odd_batches_answer(exports / "i")

    (tmp_path / "odd").mkdir()
    odd = odd_format_images(tmp_path / "odd", (48, 70))
    same_answers(INSTANCE, run, exports / "i", lambda model: make_segment(model, score_threshold=0.0), odd, _agree)

    out = tmp_path / "predicted"
    image = tmp_path / "odd" / "photo.png"
    Image.fromarray(read_image(odd[0])).save(image)
    assert trident(["instance", "predict", "--model", str(exports / "i"), str(image), "--output", str(out)]) == 0
    answer = json.loads((out / "instances.json").read_text())[0]
    ids = np.asarray(Image.open(out / "photo_instances.png"))
    assert ids.shape == (48, 70) and ids.max() <= len(answer["instances"])
    on_export = load_predictor(str(exports / "i"), INSTANCE, make_segment).answer(read_image(str(image))[None])
    assert len(answer["instances"]) == int(on_export["num_detections"][0])

    rows = benchmarked("instance", run, "mask AP", export, tolerance=1e-3)
    assert rows["Keras"]["mask AP"] == pytest.approx(rows["SavedModel"]["mask AP"], abs=1e-6)
