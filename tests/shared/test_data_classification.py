import os

import numpy as np
import pytest
from PIL import Image

from shared.data.builtin import digits
from shared.data.classification import load_classification_data, read_class_folders, read_csv
from shared.data.images import read_image
from shared.errors import TridentError


def test_every_image_mode_becomes_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (10, 12, 3), np.uint8)
    cases = {
        "gray.png": Image.fromarray(rgb[..., 0]),
        "rgba.png": Image.fromarray(np.dstack([rgb, np.full((10, 12), 9, np.uint8)])),
        "palette.png": Image.fromarray(rgb).convert("P"),
        "image.bmp": Image.fromarray(rgb),
        "image.jpg": Image.fromarray(rgb),
    }
    for name, image in cases.items():
        image.save(tmp_path / name)
        decoded = read_image(str(tmp_path / name))
        assert decoded.shape == (10, 12, 3) and decoded.dtype == np.uint8, name
    np.testing.assert_array_equal(read_image(str(tmp_path / "rgba.png")), rgb)
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (10, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert read_image(str(tmp_path / "anim.gif")).mean() < 50  # the first frame


def test_class_folders_sorted_names_and_non_images_ignored(class_folder):
    (open(os.path.join(class_folder, "bars", "notes.txt"), "w")).write("not an image")
    data = read_class_folders(class_folder)
    assert data.class_names == ["bars", "dots", "plain"]
    assert len(data) == 18 and np.bincount(data.labels).tolist() == [6, 6, 6]


def test_corrupt_image_is_skipped_and_counted(class_folder):
    broken = os.path.join(class_folder, "dots", "broken.png")
    with open(broken, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really a png")
    splits, info = load_classification_data(class_folder, seed=0, val_fraction=0.2, test_fraction=0.2)
    assert [row[0] for row in info["skipped"]] == [broken]
    assert sum(info["counts"].values()) == 18
    assert all(broken not in (part.paths or []) for part in splits.values())


def test_a_file_only_pil_can_read_is_skipped_too(class_folder):
    tiff = os.path.join(class_folder, "bars", "really_a_tiff.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tiff, format="TIFF")
    _, info = load_classification_data(class_folder, seed=0, val_fraction=0.2, test_fraction=0.2)
    assert info["skipped"] == [[tiff, "Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, BMP, WebP required."]]


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(TridentError, match="nowhere is neither a built-in data set nor an existing"):
        load_classification_data(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TridentError, match="no class sub-folders"):
        read_class_folders(str(tmp_path / "empty"))
    (tmp_path / "root" / "cat").mkdir(parents=True)
    with pytest.raises(TridentError, match=r"cat holds no images"):
        read_class_folders(str(tmp_path / "root"))


def test_seeded_split_is_stratified_and_repeatable(class_folder):
    first, info = load_classification_data(class_folder, seed=3, val_fraction=1 / 6, test_fraction=1 / 3)
    again, _ = load_classification_data(class_folder, seed=3, val_fraction=1 / 6, test_fraction=1 / 3)
    other, _ = load_classification_data(class_folder, seed=4, val_fraction=1 / 6, test_fraction=1 / 3)
    assert info["counts"] == {"train": 9, "val": 3, "test": 6}
    assert np.bincount(first["test"].labels).tolist() == [2, 2, 2]
    assert first["test"].paths == again["test"].paths
    assert first["test"].paths != other["test"].paths
    assert "seed 3" in info["split"]


def test_train_val_test_subfolders_are_used_as_given(tmp_path):
    from tests.factories import write_class_folders

    for split in ("train", "val", "test"):
        write_class_folders(tmp_path / split, per_class=2)
    splits, info = load_classification_data(str(tmp_path))
    assert info["counts"] == {"train": 6, "val": 6, "test": 6}
    assert info["split"] == "the data's own train/val/test"


def test_csv_reader(tmp_path, class_folder):
    csv = tmp_path / "list.csv"
    csv.write_text("path,label,split\n" + "".join(
        f"data/{c}/{i}.{'png' if i % 2 == 0 else 'jpg'},{c},{'train' if i < 4 else 'test'}\n"
        for c in ("bars", "dots") for i in range(6)))
    parts = read_csv(str(csv))
    assert set(parts) == {"train", "test"} and len(parts["train"]) == 8
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\ndata/bars/0.png,bars\ndata/missing.png,bars\n")
    with pytest.raises(TridentError, match="line 3"):
        read_csv(str(bad))


def test_dataset_yaml_with_names(tmp_path, class_folder):
    yaml_file = tmp_path / "set.yaml"
    yaml_file.write_text("train: data\nnames: [plain, dots, bars]\n")
    splits, info = load_classification_data(str(yaml_file), seed=0)
    assert info["class_names"] == ["plain", "dots", "bars"]
    assert len(splits["train"]) + len(splits["val"]) + len(splits["test"]) == 18


def test_digits_split_is_fixed_and_stratified():
    first, second = digits(), digits()
    assert {k: len(v) for k, v in first.items()} == {"train": 1257, "val": 180, "test": 360}
    np.testing.assert_array_equal(first["test"].labels, second["test"].labels)
    assert first["train"].images.shape[1:] == (8, 8, 3) and first["train"].images.max() == 255
    assert np.bincount(first["test"].labels).min() >= 35
    test = first["test"]  # each digit's region: its ink at half intensity or more, split with its image
    np.testing.assert_array_equal(test.regions, test.images[..., 0] >= 128)
    assert 0.25 < test.regions.mean() < 0.45


def test_unknown_data_spec():
    with pytest.raises(TridentError, match="neither a built-in"):
        load_classification_data("mnist-please")


def test_data_without_splits_can_be_scored_whole(tmp_path, class_folder):
    splits, info = load_classification_data(class_folder, unsplit_as_test=True)
    assert info["counts"] == {"train": 0, "val": 0, "test": 18}
    assert "no splits of its own" in info["split"]
    from tests.factories import write_class_folders

    for split in ("train", "test"):
        write_class_folders(tmp_path / "split" / split, per_class=2)
    _, info = load_classification_data(str(tmp_path / "split"), unsplit_as_test=True)
    assert info["counts"]["test"] == 6 and info["counts"]["train"] + info["counts"]["val"] == 6  # its own splits
