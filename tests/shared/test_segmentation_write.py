"""Class maps written as mask PNGs read back through Trident's segmentation reader as the same masks, encoded as
the user's own masks were: class ids, binary 0/255 masks, RGB colours."""

import os

import numpy as np
import pytest
from PIL import Image

from shared.data.segmentation import load_segmentation_data
from shared.data.segmentation_write import write_mask_data
from tests.factories import write_segmentation_data


def _binary_data(root):
    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(root, sub))
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), np.uint8)).save(os.path.join(root, "images", f"b{i}.png"))
        mask = np.zeros((32, 40), np.uint8)
        mask[rng.integers(0, 16):24, rng.integers(0, 20):30] = 255
        Image.fromarray(mask).save(os.path.join(root, "masks", f"b{i}.png"))
    return str(root)


@pytest.mark.parametrize("kind", ["index", "rgb", "binary"])
def test_written_masks_read_back_as_the_same_data(tmp_path, kind):
    source = (_binary_data(tmp_path / "source") if kind == "binary"
              else write_segmentation_data(tmp_path / "source", count=3, size=32, kind=kind))
    part = load_segmentation_data(source, val_fraction=0.0, test_fraction=0.0)[0]["train"]
    items = [{"path": part.paths[i], "name": f"{i + 1:04d}_{os.path.basename(part.paths[i])}",
              "class_map": part.mask(i)} for i in range(len(part))]
    spec = write_mask_data(str(tmp_path / "out"), part, items)
    again = load_segmentation_data(spec, val_fraction=0.0, test_fraction=0.0)[0]["train"]
    assert again.class_names == part.class_names and len(again) == len(items)
    by_name = {os.path.basename(p): i for i, p in enumerate(again.paths)}
    for item in items:
        np.testing.assert_array_equal(again.mask(by_name[item["name"]]), item["class_map"])
    raw = np.asarray(Image.open(again.mask_paths[0]))
    if kind == "rgb":
        assert raw.ndim == 3  # colours, as the user's masks
    if kind == "binary":
        assert set(np.unique(raw)) <= {0, 255}  # 0/255, as the user's masks
