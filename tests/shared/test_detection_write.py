"""Boxes written as COCO, VOC and YOLO read back through Trident's own detection readers as the same boxes, and
the written data is told apart by format."""

import os

import numpy as np
import pytest
from PIL import Image

from shared.data.detection import detection_format, load_detection_data
from shared.data.detection_write import FORMATS, write_detection_data
from tests.factories import write_detection_data as write_source

NAMES = ["cat", "dog", "bird"]


def _items(folder):
    rng = np.random.default_rng(0)
    os.makedirs(folder)
    items = []
    for i, (height, width) in enumerate([(40, 60), (64, 32), (48, 48)]):
        path = os.path.join(folder, f"photo{i}.jpg" if i % 2 else f"photo{i}.png")
        Image.fromarray(rng.integers(0, 255, (height, width, 3), np.uint8)).save(path)
        count = 2 - i  # the last image has no box
        x1, y1 = rng.uniform(0, width / 2, count), rng.uniform(0, height / 2, count)
        boxes = np.stack([x1, y1, x1 + rng.uniform(4, width / 2, count), y1 + rng.uniform(4, height / 2, count)], 1)
        items.append({"path": path, "name": f"{i + 1:04d}_{os.path.basename(path)}", "size": (height, width),
                      "boxes": boxes.round(2), "labels": rng.integers(0, 3, count)})
    return items


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_boxes_read_back_as_the_same_data(tmp_path, fmt):
    items = _items(str(tmp_path / "source"))
    spec = write_detection_data(str(tmp_path / "out"), fmt, NAMES, items)
    assert detection_format(spec) == fmt
    splits, info = load_detection_data(spec, val_fraction=0.0, test_fraction=0.0)
    part = splits["train"]
    assert not info["skipped"]
    if fmt != "voc":  # VOC files list only the classes they hold
        assert part.class_names == NAMES
    read = {os.path.basename(path): i for i, path in enumerate(part.paths)}
    assert sorted(read) == sorted(item["name"] for item in items)
    for item in items:
        i = read[item["name"]]
        assert tuple(part.sizes[i]) == item["size"]
        np.testing.assert_allclose(part.boxes[i], item["boxes"], atol=0.05)
        assert [part.class_names[k] for k in part.labels[i]] == [NAMES[k] for k in item["labels"]]


def test_the_format_of_the_readers_inputs_is_told_apart(tmp_path):
    for fmt in FORMATS:
        assert detection_format(write_source(tmp_path / fmt, fmt, count=2, size=32)) == fmt
    assert detection_format("shapes") is None
