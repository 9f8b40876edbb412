"""The instance readers against hand-made files whose masks are known."""

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from shared.errors import TridentError
from tasks.instance.data import load_instance_data, read_coco, read_id_maps, read_per_object, read_yolo
from tasks.instance.pipeline import id_maps, letterboxed_id_map
from tests.factories import write_instance_data


def _image(path, width=20, height=16):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)


def _box_mask(x1, y1, x2, y2, width=20, height=16):
    mask = np.zeros((height, width), bool)
    mask[y1:y2, x1:x2] = True
    return mask


def test_coco_polygons_rle_and_crowd(tmp_path):
    _image(tmp_path / "a.png")
    second = _box_mask(12, 1, 15, 5)  # written as uncompressed RLE: column-major run lengths
    flat = second.T.reshape(-1).astype(np.int64)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    third = coco_mask.encode(np.asfortranarray(_box_mask(4, 10, 9, 14).astype(np.uint8)))
    crowd = coco_mask.encode(np.asfortranarray(_box_mask(15, 10, 20, 16).astype(np.uint8)))
    annotations = [
        {"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[2, 2, 10, 2, 10, 8, 2, 8]]},
        {"id": 2, "image_id": 7, "category_id": 5, "segmentation": {"size": [16, 20], "counts": counts}},
        {"id": 3, "image_id": 7, "category_id": 3,
         "segmentation": {"size": [16, 20], "counts": third["counts"].decode("ascii")}},
        {"id": 4, "image_id": 7, "category_id": 5, "iscrowd": 1,
         "segmentation": {"size": [16, 20], "counts": crowd["counts"].decode("ascii")}},
        {"id": 5, "image_id": 7, "category_id": 3, "segmentation": [[-4, -4, 30, -4, 30, 1, -4, 1]]},  # clipped
        {"id": 6, "image_id": 7, "category_id": 3, "segmentation": [[1, 1, 2, 1]]},  # no area: left out
    ]
    (tmp_path / "a.json").write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 16}], "annotations": annotations,
        "categories": [{"id": 5, "name": "b"}, {"id": 3, "name": "a"}]}))
    data = read_coco(str(tmp_path / "a.json"))
    assert data.class_names == ["a", "b"] and data.coco_ids == [3, 5] and data.image_ids == [7]
    np.testing.assert_array_equal(data.labels[0], [0, 1, 0, 0])
    masks = data.masks[0].stack()
    np.testing.assert_array_equal(masks[0], _box_mask(2, 2, 10, 8))  # the polygon's pixels
    np.testing.assert_array_equal(masks[1], second)
    np.testing.assert_array_equal(masks[2], _box_mask(4, 10, 9, 14))
    np.testing.assert_array_equal(masks[3], _box_mask(0, 0, 20, 1))  # clipped to the image
    np.testing.assert_allclose(data.boxes[0][:3], [[2, 2, 10, 8], [12, 1, 15, 5], [4, 10, 9, 14]])
    assert [k for k, _ in data.crowds[0]] == [1]
    np.testing.assert_array_equal(coco_mask.decode(data.crowds[0][0][1]).astype(bool), _box_mask(15, 10, 20, 16))
    assert data.fixes["crowd regions kept apart (scoring ignores them)"] == 1
    assert data.fixes["empty masks left out"] == 1
    assert data.fixes["polygons reaching outside the image, clipped"] == 1
    ids = data.masks[0].id_map()
    assert ids[3, 3] == 1 and ids[2, 13] == 2 and ids[11, 5] == 3 and ids[15, 0] == 0


def test_coco_without_segmentation_is_refused_by_name(tmp_path):
    _image(tmp_path / "a.png")
    (tmp_path / "a.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3]}]}))
    with pytest.raises(TridentError, match="annotation 9 has no `segmentation`"):
        read_coco(str(tmp_path / "a.json"))


def test_yolo_polygons(tmp_path):
    _image(tmp_path / "images" / "a.png")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("1 0.1 0.125 0.5 0.125 0.5 0.5 0.1 0.5\n0 0.75 0.5 0.2 0.25\n")
    data = read_yolo(str(tmp_path / "images"), ["a", "b"])
    masks = data.masks[0].stack()
    np.testing.assert_array_equal(masks[0], _box_mask(2, 2, 10, 8))  # (2, 2)-(10, 8) in pixels
    np.testing.assert_array_equal(masks[1], _box_mask(13, 6, 17, 10))  # a box line: its rectangle
    np.testing.assert_array_equal(data.labels[0], [1, 0])
    assert data.fixes["box lines read as rectangles"] == 1
    (tmp_path / "labels" / "a.txt").write_text("0 0.1 0.2 0.3\n")
    with pytest.raises(TridentError, match="line 1: a polygon needs at least 3 points"):
        read_yolo(str(tmp_path / "images"), ["a"])


@pytest.mark.parametrize("bits", [8, 16])
def test_instance_id_pngs(tmp_path, bits):
    _image(tmp_path / "images" / "a.jpg")
    _image(tmp_path / "images" / "b.png")
    ids = np.zeros((16, 20), np.uint16 if bits == 16 else np.uint8)
    big = 700 if bits == 16 else 200
    ids[_box_mask(1, 1, 6, 4)] = big
    ids[_box_mask(10, 8, 19, 15)] = 3
    (tmp_path / "instances").mkdir()
    Image.fromarray(ids).save(tmp_path / "instances" / "a.png")
    Image.fromarray(np.zeros_like(ids)).save(tmp_path / "instances" / "b.png")
    data = read_id_maps(str(tmp_path))
    assert data.class_names == ["object"] and [len(b) for b in data.boxes] == [2, 0]
    masks = data.masks[0].stack()
    np.testing.assert_array_equal(masks[0], _box_mask(10, 8, 19, 15))  # ids in increasing order
    np.testing.assert_array_equal(masks[1], _box_mask(1, 1, 6, 4))
    np.testing.assert_allclose(data.boxes[0], [[10, 8, 19, 15], [1, 1, 6, 4]])
    assert data.masks[0].id_map()[2, 2] == 2 and data.masks[0].id_map()[9, 12] == 1


def test_instance_map_of_another_size_is_refused(tmp_path):
    _image(tmp_path / "images" / "a.png")
    (tmp_path / "instances").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "instances" / "a.png")
    with pytest.raises(TridentError, match="is 8x8 but its image is 20x16"):
        read_id_maps(str(tmp_path))


def test_one_png_per_object_folders(tmp_path):
    for name, boxes in (("x1", [(1, 1, 6, 4), (10, 8, 19, 15)]), ("x2", [])):
        _image(tmp_path / name / "images" / f"{name}.png")
        (tmp_path / name / "masks").mkdir()
        for k, box in enumerate(boxes):
            Image.fromarray(_box_mask(*box).astype(np.uint8) * 255).save(tmp_path / name / "masks" / f"m{k}.png")
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(tmp_path / "x2" / "masks" / "empty.png")
    data = read_per_object(str(tmp_path))
    assert [len(b) for b in data.boxes] == [2, 0] and data.fixes["empty masks left out"] == 1
    masks = data.masks[0].stack()
    np.testing.assert_array_equal(masks[1], _box_mask(10, 8, 19, 15))
    np.testing.assert_allclose(data.boxes[0], [[1, 1, 6, 4], [10, 8, 19, 15]])


def test_formats_resolve_and_split(tmp_path):
    root = write_instance_data(tmp_path / "d", "idmap", count=10, size=32)
    splits, info = load_instance_data(root, seed=0)
    assert sum(info["counts"].values()) == 10 and info["objects"]["train"] > 0
    coco = write_instance_data(tmp_path / "c", "coco", count=10, size=32)
    splits_coco, _ = load_instance_data(coco, seed=0)
    for name in ("train", "val", "test"):  # the same objects whichever file holds them
        for a, b in zip(splits[name].masks, splits_coco[name].masks):
            np.testing.assert_array_equal(a.stack(), b.stack())
    with pytest.raises(TridentError, match="Cannot tell the instance format"):
        load_instance_data(str(tmp_path / "d" / "images"))


def test_letterboxed_id_maps_keep_objects_and_drop_those_past_max_boxes():
    ids = np.zeros((40, 80), np.int32)
    ids[0:20, 0:40] = 1
    ids[20:40, 40:80] = 2
    small = letterboxed_id_map(ids, 32, 4)  # 80 wide -> 8 cells; 40 high -> 4 cells, then padding
    assert small.shape == (8, 8)
    assert (small[:2, :4] == 1).all() and (small[2:4, 4:8] == 2).all() and (small[4:] == 0).all()

    class One:
        masks = [type("M", (), {"id_map": staticmethod(lambda: ids)})()]

        def __len__(self):
            return 1

    assert id_maps(One(), 32, 4, max_boxes=1).max() == 1
