import os

import numpy as np
import pytest
from PIL import Image

from shared.data.segmentation import SegmentationSet, load_segmentation_data, read_coco_segmentation
from shared.data.segmentation_pipeline import segmentation_dataset
from shared.errors import TridentError
from tests.factories import write_segmentation_data


@pytest.mark.parametrize("kind", ["index", "palette", "rgb"])
def test_every_mask_kind_reads_to_the_same_class_ids(tmp_path, kind):
    reference = write_segmentation_data(tmp_path / "ref", kind="index")
    data = write_segmentation_data(tmp_path / kind, kind=kind)
    def masks_by_name(spec):
        splits, info = load_segmentation_data(spec, seed=0)
        return {part.name(i): part.mask(i) for part in splits.values() for i in range(len(part))}, info

    expected, _ = masks_by_name(reference)
    masks, info = masks_by_name(data)
    assert sorted(masks) == sorted(expected)
    for name, mask in masks.items():
        np.testing.assert_array_equal(mask, expected[name])
    if kind == "rgb":
        assert info["class_table"][1] == {"id": 1, "name": "circle", "colour": [250, 0, 0]}


def test_mask_values_map_raw_values_so_255_can_be_a_class(tmp_path):
    root = write_segmentation_data(tmp_path, count=3)
    for name in os.listdir(tmp_path / "masks"):
        mask = np.asarray(Image.open(tmp_path / "masks" / name))
        Image.fromarray(np.where(mask > 0, 255, 0).astype(np.uint8)).save(tmp_path / "masks" / name)
    (tmp_path / "b.yaml").write_text("train: .\nnames: [membrane, cell]\nmask_values: {0: 0, 255: 1}\nignore: 128\n")
    splits, _ = load_segmentation_data(str(tmp_path / "b.yaml"), seed=0, val_fraction=0.0)
    assert set(np.unique(splits["train"].mask(0))) <= {0, 1}
    assert root


def test_bad_masks_name_the_file(tmp_path):
    root = write_segmentation_data(tmp_path / "a", count=3)
    Image.fromarray(np.full((48, 48), 9, np.uint8)).save(os.path.join(root, "masks", "s0.png"))
    with pytest.raises(TridentError, match=r"s0.png holds value 9, which is not in the class table"):
        load_segmentation_data(os.path.join(root, "set.yaml"))
    root = write_segmentation_data(tmp_path / "b", count=3)
    Image.fromarray(np.zeros((40, 48), np.uint8)).save(os.path.join(root, "masks", "s1.png"))
    with pytest.raises(TridentError, match=r"s1.png is 48x40 but its image .* is 48x48"):
        load_segmentation_data(root)
    root = write_segmentation_data(tmp_path / "c", count=3)
    os.remove(os.path.join(root, "masks", "s2.png"))
    with pytest.raises(TridentError, match="s2.png has no mask"):
        load_segmentation_data(root)
    rgb = write_segmentation_data(tmp_path / "d", count=3, kind="rgb")
    Image.fromarray(np.full((48, 48, 3), (9, 99, 199), np.uint8)).save(tmp_path / "d" / "masks" / "s0.png")
    with pytest.raises(TridentError, match=r"colour \(9, 99, 199\) .* not in the colour table"):
        load_segmentation_data(rgb)
    plain = write_segmentation_data(tmp_path / "e", count=3)
    Image.fromarray(np.full((48, 48, 3), (9, 99, 199), np.uint8)).save(os.path.join(plain, "masks", "s0.png"))
    with pytest.raises(TridentError, match=r"Masks mix colour masks and index masks \(.*s1.png holds class values"):
        load_segmentation_data(plain)


def test_coco_polygons_and_rle_become_masks(tmp_path):
    import json

    from pycocotools import mask as mask_utils

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "a.png")
    square = np.zeros((20, 30), np.uint8, order="F")
    square[10:15, 20:25] = 1
    rle = mask_utils.encode(np.asfortranarray(square))
    rle["counts"] = rle["counts"].decode()
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
            "categories": [{"id": 5, "name": "tri"}, {"id": 7, "name": "sq"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 5, "bbox": [2, 2, 8, 8], "iscrowd": 0,
                 "segmentation": [[2, 2, 10, 2, 10, 10, 2, 10]]},
                {"id": 2, "image_id": 1, "category_id": 7, "bbox": [20, 10, 5, 5], "iscrowd": 1, "segmentation": rle}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    data = read_coco_segmentation(str(tmp_path / "c.json"))
    mask = data.mask(0)
    assert data.class_names == ["background", "tri", "sq"]
    assert mask[5, 5] == 1 and mask[0, 0] == 0
    assert (mask[10:15, 20:25] == 255).all()  # the crowd region is ignored


def test_pipeline_keeps_image_and_mask_aligned_under_augmentation(tmp_path):
    root = write_segmentation_data(tmp_path, count=4, size=48)
    splits, _ = load_segmentation_data(root, seed=0, val_fraction=0.0, test_fraction=0.0)
    plain = next(iter(segmentation_dataset(splits["train"], 32, 4)))
    assert plain[0].shape == (4, 32, 32, 3) and plain[1].shape == (4, 32, 32, 1) and plain[1].dtype.name == "int32"

    # Images whose content is their mask: class 1 is white, class 0 black, in random blobs.
    rng = np.random.default_rng(0)
    masks = (rng.random((8, 6, 6)) > 0.5).astype(np.uint8).repeat(8, 1).repeat(8, 2)
    images = np.repeat(masks[..., None] * 255, 3, axis=-1).astype(np.uint8)
    data = SegmentationSet(class_names=["black", "white"], colours=[(0, 0, 0), (255, 255, 255)], images=images,
                           masks=masks)
    for _ in range(3):
        x, y = next(iter(segmentation_dataset(data, 48, 8, training=True, augment=["flip", "crop"])))
        x, y = x.numpy()[..., 0], y.numpy()[..., 0]
        assert set(np.unique(y)) <= {0, 1, 255}  # nearest neighbour: ids never blend; 255 beyond the image
        inside = y != 255
        agree = ((x[inside] > 127) == (y[inside] == 1)).mean()
        assert agree > 0.97, agree  # only pixels on blob edges may differ
        if (~inside).any():  # what a zoom-out shows beyond the image: gray
            assert (np.abs(x[~inside] - 114) < 60).mean() > 0.9


def test_truncated_image_is_skipped_and_a_corrupt_mask_is_named(tmp_path):
    root = write_segmentation_data(tmp_path / "a", count=4)
    path = os.path.join(root, "images", "s0.png")
    content = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(content[: len(content) // 2])  # the header still opens; the pixels are cut off
    splits, info = load_segmentation_data(root, seed=0, val_fraction=0.0, test_fraction=0.0)
    assert [row[0] for row in info["skipped"]] == [path]
    assert len(splits["train"]) == 3
    next(iter(segmentation_dataset(splits["train"], 32, 3)))  # what is left decodes: no stop mid-epoch

    root = write_segmentation_data(tmp_path / "b", count=3)
    with open(os.path.join(root, "masks", "s1.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(TridentError, match=r"Mask .*s1.png cannot be decoded"):
        load_segmentation_data(root)


def test_data_without_splits_can_be_scored_whole(tmp_path):
    splits, info = load_segmentation_data(write_segmentation_data(tmp_path, count=5), unsplit_as_test=True)
    assert info["counts"] == {"train": 0, "val": 0, "test": 5}
    assert splits["test"].mask(4).shape == (48, 48)
