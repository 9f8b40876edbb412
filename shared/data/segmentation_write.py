"""Writing class maps as segmentation data a labelling tool imports and Trident reads back: `images/` with a mask
PNG of the same stem in `masks/`, encoded as the user's own masks are (class ids, the raw values a dataset YAML
maps, or colours), and a dataset YAML carrying the class table."""

import os
import shutil

import numpy as np
import yaml
from PIL import Image

from shared.io import atomic_path, write_text


def write_mask_data(folder, table, items):
    """Copy each item's image into `folder/images/`, write its class map into `folder/masks/<stem>.png` in the
    encoding of `table` (a `SegmentationSet` of the user's data: its `colour_map`, `value_map`, class names and
    colours), and `folder/dataset.yaml`; returns the YAML (what `--data` takes to read them back).

    `items`: per image a dict of `path` (the source file), `name` (its file name in the copy) and `class_map`
    (`[H, W]` class ids at the image's own size)."""
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for item in items:
        shutil.copyfile(item["path"], os.path.join(folder, "images", item["name"]))
        stem = os.path.splitext(item["name"])[0]
        with atomic_path(os.path.join(folder, "masks", f"{stem}.png"), suffix=".png") as tmp:
            _mask_image(np.asarray(item["class_map"]), table).save(tmp)
    spec = {"train": ".", "names": list(table.class_names)}
    if table.colour_map:
        spec["colors"] = {int(k): [int(v) for v in colour] for colour, k in table.colour_map.items()}
    if table.value_map:
        spec["mask_values"] = {int(value): int(k) for value, k in table.value_map.items()}
        spec["ignore"] = int(table.ignore_value)
    path = os.path.join(folder, "dataset.yaml")
    write_text(path, yaml.safe_dump(spec, sort_keys=False))
    return path


def _mask_image(class_map, table):
    """An RGB image of the classes' colours (colour masks), else a palette PNG of the raw values (the class ids,
    or the values the data's `mask_values` maps to them), its palette the class colours for viewing."""
    class_map = class_map.astype(np.int64)
    if table.colour_map:
        lut = np.zeros((len(table.class_names), 3), np.uint8)
        for colour, k in table.colour_map.items():
            lut[k] = colour
        return Image.fromarray(lut[class_map])
    raw = np.arange(256, dtype=np.uint8)
    if table.value_map:
        for value, k in sorted(table.value_map.items(), reverse=True):  # the smallest value of a class wins
            raw[k] = value
    image = Image.fromarray(raw[class_map])  # an "L" image, made "P" by its palette
    palette = np.zeros((256, 3), np.uint8)
    for k, colour in enumerate(table.colours):
        palette[raw[k]] = colour
    image.putpalette(palette.ravel().tolist())
    return image
