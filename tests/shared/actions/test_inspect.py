"""`inspect` and the readers of users' layouts: findings, exit status, binary/colour/JPEG masks, VOC lists."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from shared.data.detection import load_detection_data
from shared.data.segmentation import load_segmentation_data
from shared.errors import TridentError
from tasks.cli import main as trident
from tests.factories import write_class_folders, write_detection_data, write_segmentation_data


def findings_of(output):
    with open(os.path.join(output, "report.json")) as f:
        return json.load(f)["findings"]


def test_inspect_finds_leakage_conflicts_and_lying_extensions(tmp_path, capsys):
    for split in ("train", "test"):
        write_class_folders(tmp_path / "data" / split, per_class=6, seed=0 if split == "train" else 1)
    train, test = tmp_path / "data" / "train", tmp_path / "data" / "test"
    shutil.copy(train / "bars" / "0.png", test / "bars" / "leaked.png")  # the same image in train and test
    shutil.copy(train / "dots" / "2.png", train / "plain" / "copy.png")  # the same image, another label
    Image.open(train / "plain" / "0.png").save(train / "plain" / "lying.jpg", format="PNG")
    output = tmp_path / "report"
    status = trident(["classification", "inspect", "--data", str(tmp_path / "data"), "--output", str(output)])
    assert status == 1
    found = findings_of(output)
    assert any("leaked.png" in row[0] and "train:" in row[0] for row in found["duplicates_across"])
    assert any("copy.png" in row[0] for row in found["conflicting_labels"])
    assert found["format_mismatch"] == [[os.path.join("train", "plain", "lying.jpg"), ".jpg", "PNG"]]
    assert os.path.isfile(output / "report.html") and "problem:" in capsys.readouterr().out


def test_inspect_of_clean_data_exits_zero_and_reports_counts(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=6)
    output = tmp_path / "report"
    assert trident(["classification", "inspect", "--data", data, "--output", str(output)]) == 0
    with open(output / "report.json") as f:
        report = json.load(f)
    assert report["findings"]["problems"] == []
    assert sum(report["counts"]["per_split"].values()) == 18
    assert report["images"]["width"]["median"] == 24


def test_inspect_reports_data_the_readers_refuse(tmp_path, capsys):
    root = write_segmentation_data(tmp_path / "seg", count=4)
    for name in os.listdir(os.path.join(root, "masks")):  # masks saved as JPEG: values blur
        mask = Image.open(os.path.join(root, "masks", name))
        os.remove(os.path.join(root, "masks", name))
        noisy = np.asarray(mask).astype(np.int32) * 40 + np.random.default_rng(0).integers(0, 3, mask.size[::-1])
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(
            os.path.join(root, "masks", name.replace(".png", ".jpg")), quality=70)
    output = tmp_path / "report"
    assert trident(["segmentation", "inspect", "--data", root, "--output", str(output)]) == 1
    assert "JPEG" in findings_of(output)["problems"][0]


def test_inspect_detection_counts_boxes(tmp_path):
    data = write_detection_data(tmp_path / "voc", "voc", count=8)
    output = tmp_path / "report"
    assert trident(["detection", "inspect", "--data", data, "--output", str(output), "--max-boxes", "1"]) == 0
    with open(output / "report.json") as f:
        report = json.load(f)
    assert report["boxes"]["max_per_image"] >= 1
    assert any("more than 1 objects" in w for w in report["findings"]["warnings"]) == bool(report["boxes"]["crowded"])


def test_binary_masks_saved_as_0_and_255_are_two_classes(tmp_path):
    root = tmp_path / "membranes"
    for sub in ("image", "label"):
        os.makedirs(root / sub)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (32, 32), np.uint8)).save(root / "image" / f"{i}.png")
        Image.fromarray(np.where(rng.random((32, 32)) > 0.5, 255, 0).astype(np.uint8)).save(root / "label" / f"{i}.png")
    splits, info = load_segmentation_data(str(root), val_fraction=0.0, test_fraction=0.0)
    assert len(info["class_names"]) == 2
    assert set(np.unique(splits["train"].mask(0)).tolist()) == {0, 1}  # 255 is a class here, not "ignore"


def test_colour_masks_without_a_yaml_get_one_class_per_colour_palette_ones_too(tmp_path):
    rgb = write_segmentation_data(tmp_path / "tile1", count=3, kind="rgb")
    write_segmentation_data(tmp_path / "tile2", count=3, kind="palette", seed=1)
    os.remove(rgb)  # no colour table: the colours themselves are the classes
    splits, info = load_segmentation_data(str(tmp_path), val_fraction=0.0, test_fraction=0.0)
    assert len(splits["train"]) == 6  # both tiles, read as one set
    assert info["class_names"][0] == "#000000" and all(n.startswith("#") for n in info["class_names"])
    for i in range(6):
        assert splits["train"].mask(i).max() < len(info["class_names"])


def test_voc_layout_with_image_set_lists(tmp_path):
    data = write_detection_data(tmp_path / "VOC", "voc", count=8)
    os.rename(os.path.join(data, "images"), os.path.join(data, "JPEGImages"))
    os.rename(os.path.join(data, "annotations"), os.path.join(data, "Annotations"))
    os.makedirs(os.path.join(data, "ImageSets", "Main"))
    stems = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(data, "JPEGImages")))
    for split, part in (("train", stems[:5]), ("val", stems[5:6]), ("test", stems[6:])):
        with open(os.path.join(data, "ImageSets", "Main", f"{split}.txt"), "w") as f:
            f.write("\n".join(part) + "\n")
    splits, info = load_detection_data(data)
    assert info["counts"] == {"train": 5, "val": 1, "test": 2} and "ImageSets" in info["split"]
    with open(os.path.join(data, "ImageSets", "Main", "test.txt"), "a") as f:
        f.write("missing_image\n")
    with pytest.raises(TridentError, match="test.txt in .* names 1 image.* not in its image folder .*missing_image"):
        load_detection_data(data)


def test_training_records_the_defaults_it_chose_and_its_inspection(tmp_path):
    data = write_class_folders(tmp_path / "data", per_class=6)
    runs = tmp_path / "runs"
    args = ["classification", "train", "--data", data, "--backbone", "lenet5", "--epochs", "1", "--runs-dir",
            str(runs), "--name", "r", "--verbose", "0", "--val-fraction", "0.2"]
    assert trident(args) == 0
    with open(runs / "r" / "data.json") as f:
        chosen = json.load(f)["defaults"]
    assert chosen["image_size"]["value"] == 32 and "24 px" in chosen["image_size"]["reason"]
    assert chosen["batch_size"]["value"] == 4 and "epochs" not in chosen  # --epochs was given
    assert os.path.isfile(runs / "r" / "inspection" / "report.html")
    with open(runs / "r" / "report.json") as f:
        assert json.load(f)["defaults"] == chosen
    from shared.config import load_yaml

    assert load_yaml(str(runs / "r" / "config.yaml"))["image_size"] == 32
    # One class only is refused before any training.
    for name in ("dots", "plain"):
        shutil.rmtree(os.path.join(data, name))
    assert trident(args[:-6] + ["--name", "one", "--verbose", "0"]) == 1


def trained_run(tmp_path):
    """`(data folder, runs folder, recorded splits)` of a one-epoch classifier run named `r`."""
    data = write_class_folders(tmp_path / "data", per_class=6)
    runs = tmp_path / "runs"
    assert trident(["classification", "train", "--data", data, "--backbone", "lenet5", "--image-size", "16",
                    "--epochs", "1", "--runs-dir", str(runs), "--name", "r", "--verbose", "0"]) == 0
    with open(runs / "r" / "splits.json") as f:
        return data, runs, json.load(f)["splits"]


def test_evaluate_and_export_refuse_data_that_changed_since_training(tmp_path, capsys):
    data, runs, recorded = trained_run(tmp_path)
    assert sum(len(files) for files in recorded.values()) == 18
    test_file = recorded["test"][0][0]
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(os.path.join(data, test_file))  # same name, new content
    capsys.readouterr()
    assert trident(["classification", "evaluate", "--run", str(runs / "r")]) == 1
    err = capsys.readouterr().err
    assert "The data changed since this run was trained (1 difference" in err and f"{test_file} changed content" in err
    assert trident(["classification", "export", "--run", str(runs / "r"), "--output-dir", str(tmp_path / "m")]) == 1
    assert not list((tmp_path / "m").rglob("saved_model.pb"))


def test_evaluate_reads_the_recorded_splits_when_files_were_added(tmp_path, capsys):
    data, runs, recorded = trained_run(tmp_path)
    # New files would re-shuffle a re-derived seeded split; the recorded test split stays as it was.
    for i in range(5):
        Image.fromarray(np.full((24, 24, 3), 40 * i, np.uint8)).save(os.path.join(data, "dots", f"new{i}.png"))
    from shared.data.classification import load_classification_data
    from shared.data.recorded import run_splits
    from shared.engine.runs import open_run

    run = open_run(str(runs / "r"))
    capsys.readouterr()
    config = run.config()
    splits, info = run_splits(run, config, lambda val, test: load_classification_data(data, config["seed"], val,
                                                                                       test))
    assert "5 file(s) added to the data since training" in capsys.readouterr().out
    for name in ("train", "val", "test"):
        assert [os.path.relpath(p, data) for p in splits[name].paths] == [f for f, _ in recorded[name]]
    assert info["added_since_training"] == 5
    reshuffled, _ = load_classification_data(data, config["seed"], config["val_fraction"], config["test_fraction"])
    assert set(reshuffled["test"].paths) != set(splits["test"].paths)  # what reading the record avoids
    assert trident(["classification", "evaluate", "--run", str(runs / "r")]) == 0
    with open(runs / "r" / "evaluation" / "data-test" / "report.json") as f:
        assert json.load(f)["metrics"]["images"] == len(recorded["test"])


def test_a_colour_in_few_masks_is_flagged_and_a_yaml_can_ignore_it(tmp_path):
    root = write_segmentation_data(tmp_path / "tiles", count=8, kind="rgb")
    mask_path = os.path.join(str(tmp_path / "tiles"), "masks", "s0.png")
    mask = np.asarray(Image.open(mask_path)).copy()
    mask[:2, :2] = (7, 7, 7)  # a few unannotated pixels in one mask
    Image.fromarray(mask).save(mask_path)
    os.remove(root)
    output = tmp_path / "report"
    assert trident(["segmentation", "inspect", "--data", str(tmp_path / "tiles"), "--output", str(output)]) == 0
    assert any("#070707 appears in only 1 of 8 masks" in w for w in findings_of(output)["warnings"])
    with open(tmp_path / "set.yaml", "w") as f:
        f.write("train: tiles\nnames: [background, circle, square, triangle, star, cross]\ncolors:\n"
                "  0: [0, 0, 0]\n  1: [250, 0, 0]\n  2: [0, 250, 0]\n  3: [0, 0, 250]\n  4: [250, 250, 0]\n"
                "  5: [0, 250, 250]\n  255: [7, 7, 7]\n")
    splits, _ = load_segmentation_data(str(tmp_path / "set.yaml"), val_fraction=0.0, test_fraction=0.0)
    masks = [splits["train"].mask(i) for i in range(len(splits["train"]))]
    assert any((m[:2, :2] == 255).all() for m in masks)
