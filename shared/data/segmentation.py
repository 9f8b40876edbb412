"""Segmentation readers: images/ + masks/ folders (index, palette or RGB colour masks), COCO
polygons/RLE, and the built-in `shapes`.

A class table (id, name, colour) travels with the data: from a dataset YAML (`names`,
`colors` for RGB masks, `mask_values` mapping raw mask values to class ids, `ignore`),
or inferred from index masks. Masks become `uint8 [H, W]` class ids with 255 = ignore;
any other value outside the table, an RGB colour not in it, a missing mask or a mask
whose size differs from its image stops with an error naming the file.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import os

import numpy as np
from PIL import Image

from shared.data.dataset_yaml import SPLITS, load_dataset_yaml
from shared.data.files import MAX_IMAGE_BYTES, check_file, open_text
from shared.data.images import is_image_file, oriented_size
from shared.data.itemset import ItemSet
from shared.data.resolve import settle_splits
from shared.errors import TridentError, fail, malformed

IGNORE = 255
DEFAULT_COLOURS = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                   (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128), (170, 110, 40)]


@dataclasses.dataclass
class SegmentationSet(ItemSet):
    """Images with class-id masks, from files (`paths` + `mask_paths` or `mask_arrays`) or arrays."""

    # One entry per image (not a dataclass field).
    ITEM_FIELDS = ("paths", "mask_paths", "mask_arrays", "images", "masks")
    ARRAY_NAME = "shapes-{}"

    class_names: list
    colours: list
    paths: list = None
    mask_paths: list = None
    mask_arrays: list = None
    images: np.ndarray = None
    masks: np.ndarray = None
    value_map: dict = None  # raw index value -> class id (None: identity)
    colour_map: dict = None  # (r, g, b) -> class id, for RGB colour masks
    ignore_value: int = IGNORE
    skipped: list = dataclasses.field(default_factory=list)

    def mask(self, index):
        """Class ids `uint8 [H, W]` (255 = ignore), checked against the class table."""
        if self.masks is not None:
            return self.masks[index]
        if self.mask_arrays is not None:
            return self.mask_arrays[index]
        return convert_mask(self.mask_paths[index], len(self.class_names), self.value_map, self.colour_map,
                            self.ignore_value)

    def relabel(self, remap, class_names):
        """This set with class `i` renamed to `remap[i]` of `class_names` (masks and tables mapped)."""
        remap = [int(j) for j in remap]
        lut = np.arange(256, dtype=np.uint8)
        lut[:len(remap)] = remap
        colours = _colours(len(class_names))
        for i, j in enumerate(remap):
            colours[j] = self.colours[i]
        changes = {"class_names": list(class_names), "colours": colours}
        if self.masks is not None:
            changes["masks"] = lut[self.masks]
        if self.mask_arrays is not None:
            changes["mask_arrays"] = [lut[m] for m in self.mask_arrays]
        if self.colour_map:
            changes["colour_map"] = {c: remap[i] if 0 <= i < len(remap) else i for c, i in self.colour_map.items()}
        elif self.mask_paths is not None:
            base = self.value_map or {i: i for i in range(len(remap))}
            changes["value_map"] = {v: remap[i] if 0 <= i < len(remap) else i for v, i in base.items()}
        return dataclasses.replace(self, **changes)

    def check(self):
        """Read every image and every mask once: undecodable images go to `skipped` (as every set's
        `check`); a mask the wrong size or with values outside the class table fails, naming the file."""
        if self.paths is None:
            return self
        unreadable = self.unreadable()  # a full check: a truncated file must not stop an epoch later

        def one(i):
            path = self.paths[i]
            if path in unreadable:
                return ("skip", path, unreadable[path])
            size = oriented_size(path)
            if size is None:
                return ("skip", path, "the image header cannot be read")
            mask = self.mask(i)
            if mask.shape != size:
                where = self.mask_paths[i] if self.mask_paths else path
                return ("fail", f"Mask {where} is {mask.shape[1]}x{mask.shape[0]} but its image {path} is "
                                f"{size[1]}x{size[0]}", "Give every image a mask of the same size")
            return None

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(_capture(one), range(len(self))))
        for outcome in outcomes:
            if isinstance(outcome, TridentError):
                raise outcome
            if outcome and outcome[0] == "fail":
                fail(outcome[1], outcome[2])
        bad = [i for i, outcome in enumerate(outcomes) if outcome and outcome[0] == "skip"]
        if bad:
            self.skipped = [[outcomes[i][1], outcomes[i][2]] for i in bad]
            self.keep([i for i in range(len(self)) if i not in set(bad)])
        return self

    def fingerprint(self):
        digest = hashlib.sha256(",".join(self.class_names).encode())
        for path in (self.paths or []) + (self.mask_paths or []):
            digest.update(f"{os.path.basename(path)}:{os.path.getsize(path)}".encode())
        if self.masks is not None:
            digest.update(np.ascontiguousarray(self.masks[:50]).tobytes())
        return digest.hexdigest()[:16]


def _capture(function):
    def wrapped(*args):
        try:
            return function(*args)
        except TridentError as error:
            return error
    return wrapped


def convert_mask(path, num_classes, value_map=None, colour_map=None, ignore_value=IGNORE):
    """Read a mask file into class ids, or fail naming the file and the bad value."""
    if not os.path.lexists(path):
        fail(f"Mask {path} does not exist", "Give every image a mask with the same file stem in masks/", mask=path)
    raw = _read_mask_pixels(path, as_rgb=bool(colour_map))
    if raw.ndim == 3:
        if colour_map:
            return _map_colours(raw, colour_map, path)
        if (raw[..., 0] == raw[..., 1]).all() and (raw[..., 1] == raw[..., 2]).all():
            raw = raw[..., 0]
        else:
            fail(f"Mask {path} is an RGB colour mask but the data has no colour table",
                 "List each class's colour under `colors:` in a dataset YAML (id: [r, g, b])", mask=path)
    raw = raw.astype(np.int64)
    if value_map:
        lut = np.full(max(int(raw.max()) + 1, 256), -1, np.int64)
        for value, class_id in value_map.items():
            lut[int(value)] = class_id
        if 0 <= ignore_value < len(lut) and ignore_value not in value_map:
            lut[ignore_value] = IGNORE
        ids = lut[raw]
    else:
        ids = raw.copy()
        ids[raw == ignore_value] = IGNORE
    bad = (ids != IGNORE) & ((ids < 0) | (ids >= num_classes))
    if bad.any():
        value = int(raw[bad][0])
        fail(f"Mask {path} holds value {value}, which is not in the class table (ids 0..{num_classes - 1}, "
             f"{ignore_value} = ignore)", "Fix the mask, or map the value under `mask_values:` in a dataset YAML",
             value=value)
    return ids.astype(np.uint8)


def _read_mask_pixels(path, as_rgb=False):
    """A mask file's raw pixels: `[H, W]` values, or `[H, W, 3]` for RGB colour masks.

    A palette PNG gives its indices (the Pascal VOC convention), or its colours when the
    data's masks are colour masks (`as_rgb`).
    """
    check_file(path, "Mask", MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as image:
            if image.mode in ("RGB", "RGBA", "CMYK") or (as_rgb and image.mode == "P"):
                return np.asarray(image.convert("RGB"))
            return np.asarray(image.convert("L") if image.mode == "LA" else image)  # alpha is not a class
    except Exception as error:  # PIL raises many types for corrupt data
        fail(f"Mask {path} cannot be decoded ({type(error).__name__}: {error})",
             "Replace the mask with a readable PNG of class ids, or remove the image and its mask", mask=path)


def _colour_keys(rgb):
    """`(r << 16) | (g << 8) | b` per pixel: one integer per colour, cheap to compare and count."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _map_colours(rgb, colour_map, path):
    keys = _colour_keys(rgb)
    table = np.array(sorted(((r << 16) | (g << 8) | b, class_id) for (r, g, b), class_id in colour_map.items()),
                     np.int64).reshape(-1, 2)
    where = np.clip(np.searchsorted(table[:, 0], keys), 0, len(table) - 1)
    known = table[where, 0] == keys
    if not known.all():
        y, x = np.argwhere(~known)[0]
        fail(f"Mask {path} has colour {tuple(int(c) for c in rgb[y, x])} at x={x}, y={y}, which is not in the "
             "colour table", "Add the colour under `colors:` in the dataset YAML or fix the mask",
             colour=tuple(int(c) for c in rgb[y, x]))
    return table[where, 1].astype(np.uint8)


IMAGE_DIRS = ("images", "image", "imgs", "JPEGImages")
MASK_DIRS = ("masks", "mask", "labels", "label", "annotations", "SegmentationClass")
# More distinct values than this in index masks, or colours in colour masks, are not classes:
# the masks were saved lossily (JPEG) or are photos.
MAX_INFERRED_CLASSES = 32


def _pair_dirs(folder):
    """`(images dir, masks dir)` of a segmentation folder, or None when it has no such pair."""
    images = next((os.path.join(folder, d) for d in IMAGE_DIRS if os.path.isdir(os.path.join(folder, d))), None)
    masks = next((os.path.join(folder, d) for d in MASK_DIRS if os.path.isdir(os.path.join(folder, d))), None)
    return (images, masks) if images and masks else None


def mask_folders(folder):
    """The folders holding images + masks: `folder` itself, or each sub-folder that does (tiles)."""
    if _pair_dirs(folder):
        return [folder]
    if not os.path.isdir(folder):
        fail(f"Segmentation data {folder} does not exist", "Check the --data path", data=folder)
    subs = sorted(os.path.join(folder, d) for d in os.listdir(folder) if not d.startswith("."))
    found = [sub for sub in subs if os.path.isdir(sub) and _pair_dirs(sub)]
    if not found:
        fail(f"Segmentation folder {folder} has no images/ and masks/ sub-folders (nor sub-folders that do)",
             "Put images in images/ and masks with the same file stems in masks/", data=folder)
    return found


def read_mask_folder(folder, table):
    """`folder/images/<stem>.<ext>` with `folder/masks/<stem>.png` (any image extension).

    Also `image/` + `label/` and the other names in `IMAGE_DIRS` and `MASK_DIRS`, and a
    folder of such folders (tiles of one survey), read as one set.
    """
    paths, mask_paths = [], []
    for sub in mask_folders(folder):
        images_dir, masks_dir = _pair_dirs(sub)
        masks = {os.path.splitext(f)[0]: os.path.join(masks_dir, f) for f in os.listdir(masks_dir)
                 if is_image_file(f)}
        for name in sorted(f for f in os.listdir(images_dir) if is_image_file(f)):
            stem = os.path.splitext(name)[0]
            if stem not in masks:
                fail(f"Image {os.path.join(images_dir, name)} has no mask in {masks_dir}",
                     f"Add {stem}.png to {os.path.basename(masks_dir)}/ or remove the image", image=name)
            paths.append(os.path.join(images_dir, name))
            mask_paths.append(masks[stem])
    if not paths:
        fail(f"Segmentation folder {folder} holds no images", "Add images and masks", data=folder)
    if table is None:
        table = _infer_table(mask_paths)
    return SegmentationSet(paths=paths, mask_paths=mask_paths, **table)


def _infer_table(mask_paths, sample=200):
    """A class table from the masks themselves, when no dataset YAML gives one.

    Index masks: one class per value 0..max (255 = ignore), except masks holding only 0
    and 255, which are two classes (binary masks saved for viewing). Colour masks: one
    class per colour, in colour order. Too many values or colours stop with an error: such
    masks were saved lossily (JPEG) and their labels cannot be recovered by guessing.
    """
    values, colours, lossy = set(), set(), []
    for as_rgb in (False, True):
        for path in mask_paths[:sample]:
            if not as_rgb and os.path.splitext(path)[1].lower() in (".jpg", ".jpeg"):
                lossy.append(path)
            raw = _read_mask_pixels(path, as_rgb=as_rgb)
            if as_rgb and raw.ndim == 2:
                fail(f"Masks mix colour masks and index masks ({path} holds class values, other masks colours)",
                     "Save every mask the same way, or give a dataset YAML with `names:` and `colors:`", mask=path)
            if raw.ndim == 3 and (as_rgb or not ((raw[..., 0] == raw[..., 1]).all()
                                                 and (raw[..., 1] == raw[..., 2]).all())):
                colours |= {((k >> 16) & 255, (k >> 8) & 255, k & 255) for k in np.unique(_colour_keys(raw)).tolist()}
            else:
                values |= set(np.unique(raw if raw.ndim == 2 else raw[..., 0]).tolist())
            if len(colours) > MAX_INFERRED_CLASSES or len(values) > MAX_INFERRED_CLASSES:
                break
        if not colours or as_rgb:
            break
        colours = set()  # colour masks: read every mask again by colour, palette ones included
    where = f"masks such as {path}"
    if lossy and (len(values) > MAX_INFERRED_CLASSES or len(colours) > MAX_INFERRED_CLASSES or len(values) > 2):
        fail(f"Masks are JPEG files ({len(lossy)} of them, e.g. {lossy[0]}), whose compression blurs class "
             "values into neighbours", "Save the masks as PNG, or give a dataset YAML with `names:` and "
             "`mask_values:` (or `colors:`) so each value is mapped explicitly", mask=lossy[0])
    if colours:
        if len(colours) > MAX_INFERRED_CLASSES:
            fail(f"Colour masks hold more than {MAX_INFERRED_CLASSES} colours ({where}); they look lossy or are "
                 "not masks", "Give a dataset YAML with `names:` and `colors:` (id: [r, g, b])", mask=path)
        ordered = sorted(colours)
        return {"class_names": ["#%02x%02x%02x" % c for c in ordered], "colours": ordered,
                "colour_map": {c: i for i, c in enumerate(ordered)}}
    if len(values) > MAX_INFERRED_CLASSES:
        fail(f"Masks hold more than {MAX_INFERRED_CLASSES} different values ({where}); class ids are small "
             "integers, so these look like photos or lossy masks",
             "Give a dataset YAML with `names:` and `mask_values:` mapping each raw value to a class", mask=path)
    if values == {0, IGNORE} or values == {IGNORE}:
        return {"class_names": ["class_0", "class_1"], "colours": _colours(2), "value_map": {0: 0, IGNORE: 1},
                "ignore_value": -1}
    values.discard(IGNORE)
    count = int(max(values)) + 1 if values else 1
    return {"class_names": [f"class_{i}" for i in range(count)], "colours": _colours(count)}


def _colours(count):
    return [DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)] for i in range(count)]


def table_from_yaml(spec):
    """Class table arguments from a dataset YAML mapping (`names`, `colors`, `mask_values`, `ignore`)."""
    names = spec.get("names")
    if names is None:
        return None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    colours = spec.get("colors") or {}
    if isinstance(colours, list):
        colours = dict(enumerate(colours))
    if not isinstance(colours, dict) or not all(isinstance(c, (list, tuple)) and len(c) == 3 for c in colours.values()):
        raise ValueError(f"`colors` must give each class id an [r, g, b] triple, not {spec.get('colors')!r}")
    table = {"class_names": [str(n) for n in names],
             "colours": [tuple(colours.get(i, DEFAULT_COLOURS[i % len(DEFAULT_COLOURS)])) for i in range(len(names))],
             "ignore_value": int(spec.get("ignore", IGNORE))}
    if spec.get("colors"):
        table["colour_map"] = {tuple(int(c) for c in colours[i]): i for i in colours}
    if spec.get("mask_values"):
        table["value_map"] = {int(k): int(v) for k, v in spec["mask_values"].items()}
    return table


def read_coco_segmentation(json_path, images_dir=None):
    """COCO JSON with polygon or RLE segmentations painted into class-id masks (0 = background).

    Category k (in id order) becomes class k + 1; crowd regions become 255 (ignore).
    Later annotations paint over earlier ones where they overlap.
    """
    from pycocotools import mask as mask_utils

    from shared.data.detection import read_coco

    boxes_view = read_coco(json_path, images_dir)  # checks ids, sizes, missing images
    with open_text(json_path, "COCO file") as f:
        coco = json.load(f)
    category_index = {c["id"]: i + 1 for i, c in enumerate(sorted(coco["categories"], key=lambda c: c["id"]))}
    by_image = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    masks = []
    for image, (height, width) in zip(coco["images"], boxes_view.sizes):
        mask = np.zeros((height, width), np.uint8)
        for ann in by_image.get(image["id"], []):
            segmentation = ann.get("segmentation")
            if not segmentation:
                continue
            if isinstance(segmentation, list):
                rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
            elif isinstance(segmentation.get("counts"), list):
                rle = mask_utils.frPyObjects(segmentation, height, width)
            else:
                rle = segmentation
            painted = mask_utils.decode(rle).astype(bool)
            mask[painted] = IGNORE if ann.get("iscrowd", 0) else category_index[ann["category_id"]]
        masks.append(mask)
    names = ["background"] + boxes_view.class_names
    return SegmentationSet(class_names=names, colours=_colours(len(names)), paths=boxes_view.paths, mask_arrays=masks)


def shapes_segmentation(size=128):
    from shared.data.shapes import SHAPE_CLASSES, generate

    names = ["background"] + list(SHAPE_CLASSES)
    splits = {}
    for split in SPLITS:
        data = generate(split, size)
        splits[split] = SegmentationSet(class_names=names, colours=_colours(len(names)), images=data["images"],
                                        masks=data["masks"])
    return splits


def _read_any(spec, table, images_dir=None):
    if isinstance(spec, str) and spec.lower().endswith(".json"):
        return read_coco_segmentation(spec, images_dir)
    return read_mask_folder(spec, table)


def load_segmentation_data(spec, seed=0, val_fraction=0.1, test_fraction=0.2, images_dir=None, image_size=None,
                           unsplit_as_test=False):
    """Resolve `--data` for segmentation into train/val/test `SegmentationSet`s and an info dict.

    `unsplit_as_test`: data without splits of its own becomes one test split (see
    `load_classification_data`).
    """
    if not spec:
        fail("No data given", "Pass --data shapes, an images/ + masks/ folder, a COCO JSON or a dataset YAML",
             data=spec)
    spec = str(spec)
    if spec == "shapes":
        splits, how = shapes_segmentation(image_size or 128), "built-in fixed split of shapes"
    elif os.path.isfile(spec) and spec.lower().endswith((".yaml", ".yml")):
        described, targets, _ = load_dataset_yaml(spec)
        with malformed(spec, "Dataset YAML", "Give `colors` as id: [r, g, b] and `mask_values` as value: id"):
            table = table_from_yaml(described)
        splits = {s: _read_any(target, table, images_dir) for s, target in targets.items()}
        how = "splits named in the dataset YAML"
    elif os.path.isdir(os.path.join(spec, "train")):
        table = None
        splits = {}
        for s in SPLITS:
            if os.path.isdir(os.path.join(spec, s)):
                splits[s] = read_mask_folder(os.path.join(spec, s), table)
                table = {"class_names": splits[s].class_names, "colours": splits[s].colours}
        how = "the data's own train/val/test"
    elif os.path.exists(spec):
        splits, how = {"all": _read_any(spec, None, images_dir)}, "from one set"
    else:
        fail(f"Data {spec} is neither a built-in data set (shapes) nor an existing file or folder",
             "Check the --data path", data=spec)
    splits, info = settle_splits(spec, splits, how, seed=seed, val_fraction=val_fraction,
                                 test_fraction=test_fraction, unsplit_as_test=unsplit_as_test)
    first = splits["train"]
    info["class_table"] = [{"id": i, "name": n, "colour": list(c)}
                           for i, (n, c) in enumerate(zip(first.class_names, first.colours))]
    return splits, info
