"""Instance data: every object's class, box and mask, read from the formats such data comes in.

--data: `shapes` (built-in); a COCO JSON whose annotations carry `segmentation` (polygons,
uncompressed or compressed RLE; `iscrowd` regions are kept apart: COCO scoring ignores
detections on them and training leaves them out); a folder with images/ + labels/ holding YOLO
segmentation lines (`class x1 y1 x2 y2 ...`, normalised polygon); a folder with images/ +
instances/ (or masks/) holding one instance-id PNG per image (0 = background, k = object k,
8- or 16-bit, or a colour per object); a folder of one folder per image, each with images/ and
masks/ (one binary PNG per object, the nuclei-challenge layout); such folders with train/ val/
test/; or a dataset YAML (`path`, `train`, `val`, `test`, `names`). Boxes come from the masks.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np
from scipy import ndimage

from shared.data.boxes import FixCounter
from shared.data.dataset_yaml import SPLITS
from shared.data.files import contained, open_text
from shared.data.images import is_image_file, oriented_size
from shared.data.itemset import ItemSet
from shared.data.resolve import random_subsets, read_parts, settle_splits
from shared.errors import fail, malformed
from tasks.instance.masks import Encoded, IdMap, MaskFiles, read_binary, read_id_map, rle_box, to_rle

ONE_CLASS = "object"  # the class of data whose masks say nothing of classes, unless `names` says otherwise
MASK_FOLDERS = ("instances", "masks")


@dataclasses.dataclass
class InstanceSet(ItemSet):
    """Images with objects. Exactly one of `paths` and `images` (`uint8 [N, H, W, 3]`) is set."""

    ITEM_FIELDS = ("boxes", "labels", "sizes", "masks", "crowds", "paths", "images", "image_ids")
    TALLIES = ("skipped", "fixes")
    ARRAY_NAME = "shapes-{}"

    class_names: list
    boxes: list  # per image, float32 [n, 4] xyxy, from the masks
    labels: list  # per image, int32 [n]
    sizes: list  # per image, (height, width)
    masks: list  # per image, the objects' masks (`tasks.instance.masks`: IdMap, MaskFiles or Encoded)
    crowds: list = None  # per image, [(class id, RLE)]: crowd regions scoring ignores
    paths: list = None
    images: np.ndarray = None
    fixes: FixCounter = dataclasses.field(default_factory=FixCounter)
    skipped: list = dataclasses.field(default_factory=list)
    coco_ids: list = None
    image_ids: list = None

    def __post_init__(self):
        if self.crowds is None:
            self.crowds = [[] for _ in self.boxes]

    def max_objects(self):
        return max([len(b) for b in self.boxes] + [1])

    def relabel(self, remap, class_names):
        labels = [np.asarray(remap)[np.asarray(lab, np.int64)] for lab in self.labels]
        crowds = [[(int(remap[k]), rle) for k, rle in crowd] for crowd in self.crowds]
        return dataclasses.replace(self, labels=labels, crowds=crowds, class_names=list(class_names), coco_ids=None)

    def fingerprint(self):
        digest = hashlib.sha256(",".join(self.class_names).encode())
        for boxes, labels in zip(self.boxes, self.labels):
            digest.update(np.asarray(boxes, np.float32).tobytes())
            digest.update(np.asarray(labels, np.int32).tobytes())
        for path in self.paths or []:
            digest.update(f"{os.path.basename(path)}:{os.path.getsize(path)}".encode())
        if self.images is not None:
            digest.update(np.ascontiguousarray(self.images[:50]).tobytes())
        return digest.hexdigest()[:16]


def _empty(names):
    return InstanceSet(list(names), [], [], [], [], crowds=[], paths=[])


def _add(result, path, size, boxes, labels, masks, crowds=()):
    result.paths.append(path)
    result.sizes.append(size)
    result.boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
    result.labels.append(np.asarray(labels, np.int32).reshape(-1))
    result.masks.append(masks)
    result.crowds.append(list(crowds))


def _size(path, where):
    if not os.path.lexists(path):  # present but not a regular file: check() skips it unopened
        fail(f"{where} names image {path}, which does not exist", "Add the image or remove its annotation",
             image=path)
    return oriented_size(path)  # None: undecodable, check() skips it later


def _encoded(rles, labels, size, where, names, fixes):
    """Boxes, labels and an `Encoded` of the RLEs that hold pixels; empty ones counted and left out."""
    boxes, kept, kept_labels = [], [], []
    for rle, label in zip(rles, labels):
        if not 0 <= label < len(names):
            fail(f"{where}: class id {label} is outside 0..{len(names) - 1}", "Fix the label or the class names",
                 label=label)
        if rle is None:
            fixes["empty masks left out"] += 1
            continue
        box, area = rle_box(rle)
        if area <= 0:
            fixes["empty masks left out"] += 1
            continue
        boxes.append(box)
        kept.append(rle)
        kept_labels.append(label)
    return boxes, kept_labels, Encoded(kept, *size)


# --- COCO JSON ---

def read_coco(json_path, images_dir=None, class_names=None):
    """A COCO JSON with `segmentation` on every annotation; category ids mapped to 0..K-1 in id order."""
    if not os.path.lexists(json_path):
        fail(f"COCO file {json_path} does not exist", "Check the --data path", data=json_path)
    try:
        with open_text(json_path, "COCO file") as f:
            coco = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"COCO file {json_path} is not valid JSON ({error})", "Fix or re-export the file", data=json_path)
    with malformed(json_path, "COCO file", "Fix or re-export it"):
        for key in ("images", "annotations", "categories"):
            if not isinstance(coco.get(key), list):
                fail(f"COCO file {json_path} has no `{key}` list", "Use a COCO instance-segmentation JSON",
                     data=json_path)
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        ids = [c["id"] for c in categories]
        names = [str(c["name"]) for c in categories]
        if class_names and list(class_names) != names:
            fail(f"COCO file {json_path} has categories {names}, not {list(class_names)}",
                 "Use the same categories in every split", data=json_path)
        category_index = {cid: i for i, cid in enumerate(ids)}
        by_image = {image["id"]: [] for image in coco["images"]}
        if len(by_image) != len(coco["images"]):
            fail(f"COCO file {json_path} repeats an image id", "Give each image its own id", data=json_path)
        for ann in coco["annotations"]:
            if ann["image_id"] not in by_image:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} names image id {ann['image_id']}, which is "
                     "not in `images`", "Add the image entry or remove the annotation", image_id=ann["image_id"])
            if ann["category_id"] not in category_index:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} has category id {ann['category_id']}, "
                     "which is not in `categories`", f"Use one of {ids}", category_id=ann["category_id"])
            if "segmentation" not in ann:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} has no `segmentation`",
                     "Give every object a polygon or RLE mask (boxes alone train the detection task)",
                     annotation_id=ann.get("id"))
            by_image[ann["image_id"]].append(ann)
        images_dir = images_dir or os.path.dirname(os.path.abspath(json_path))
        result = _empty(names)
        for image in coco["images"]:
            path = contained(os.path.join(images_dir, image["file_name"]), json_path,
                             [images_dir, os.path.dirname(os.path.abspath(json_path))])
            where = f"{json_path} (image id {image['id']})"
            actual = _size(path, where)
            declared = (image.get("height"), image.get("width"))
            if actual and None not in declared and tuple(actual) != tuple(declared):
                fail(f"{where}: image {path} is {actual[1]}x{actual[0]} but the annotation says "
                     f"{declared[1]}x{declared[0]}", "Re-export the annotations for these image files", image=path)
            size = actual or (declared if None not in declared else (1, 1))
            rles, labels, crowds = [], [], []
            for ann in by_image[image["id"]]:
                _count_outside(ann["segmentation"], size, result.fixes)
                rle = to_rle(ann["segmentation"], *size)
                if ann.get("iscrowd", 0):
                    result.fixes["crowd regions kept apart (scoring ignores them)"] += 1
                    if rle is not None:
                        crowds.append((category_index[ann["category_id"]], rle))
                    continue
                rles.append(rle)
                labels.append(category_index[ann["category_id"]])
            boxes, labels, masks = _encoded(rles, labels, size, where, names, result.fixes)
            _add(result, path, size, boxes, labels, masks, crowds)
    result.coco_ids = ids
    result.image_ids = [image["id"] for image in coco["images"]]
    return result


def _count_outside(segmentation, size, fixes):
    """Count polygons with points outside the image (rasterising clips them)."""
    if isinstance(segmentation, list):
        height, width = size
        for polygon in segmentation:
            xy = np.asarray(polygon, np.float64).reshape(-1, 2)
            if len(xy) and ((xy < 0).any() or (xy[:, 0] > width).any() or (xy[:, 1] > height).any()):
                fixes["polygons reaching outside the image, clipped"] += 1


# --- YOLO segmentation ---

def _labels_twin(images_dir):
    return os.sep.join("labels" if part == "images" else part for part in os.path.normpath(images_dir).split(os.sep))


def read_yolo(images_dir, class_names):
    """`.../images/x.jpg` with `.../labels/x.txt` lines `class x1 y1 x2 y2 ...` (a polygon in 0..1)."""
    if not class_names:
        fail(f"YOLO data {images_dir} needs class names", "List them under `names:` in a dataset YAML",
             data=images_dir)
    labels_dir = _labels_twin(images_dir)
    result = _empty(class_names)
    for name in sorted(f for f in os.listdir(images_dir) if is_image_file(f)):
        path = os.path.join(images_dir, name)
        txt = os.path.join(labels_dir, os.path.splitext(name)[0] + ".txt")
        size = _size(path, txt) or (1, 1)
        height, width = size
        rles, labels = [], []
        if os.path.lexists(txt):
            with malformed(txt, "YOLO label file"), open_text(txt, "YOLO label file") as f:
                lines = f.read().splitlines()
            for line_no, line in enumerate(lines, start=1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    cls, values = int(parts[0]), np.asarray([float(v) for v in parts[1:]])
                except ValueError:
                    fail(f"{txt}, line {line_no}: expected `class x1 y1 x2 y2 ...`", "Fix the line",
                         line=line.strip())
                if len(values) == 4:  # a box line: its rectangle
                    cx, cy, w, h = values
                    values = np.asarray([cx - w / 2, cy - h / 2, cx + w / 2, cy - h / 2, cx + w / 2, cy + h / 2,
                                         cx - w / 2, cy + h / 2])
                    result.fixes["box lines read as rectangles"] += 1
                if len(values) < 6 or len(values) % 2:
                    fail(f"{txt}, line {line_no}: a polygon needs at least 3 points (x y pairs), found "
                         f"{len(values)} values", "Write one polygon per line: class x1 y1 x2 y2 x3 y3 ...",
                         line=line.strip())
                polygon = (values.reshape(-1, 2) * [width, height]).reshape(-1)
                _count_outside([polygon.tolist()], size, result.fixes)
                rles.append(to_rle([polygon.tolist()], height, width))
                labels.append(cls)
        boxes, labels, masks = _encoded(rles, labels, size, txt, class_names, result.fixes)
        _add(result, path, size, boxes, labels, masks)
    return result


# --- instance-id PNGs ---

def _mask_folder(folder):
    return next((os.path.join(folder, d) for d in MASK_FOLDERS if os.path.isdir(os.path.join(folder, d))), None)


def id_map_objects(path, values=None):
    """`(boxes [n, 4], ids [n])` of the objects of an instance-id map (ids in increasing order)."""
    values = read_id_map(path) if values is None else values
    ids = np.unique(values)
    ids = ids[ids != 0]
    if not len(ids):
        return np.zeros((0, 4), np.float32), ids
    compact = np.searchsorted(ids, values) + 1
    compact[values == 0] = 0
    slices = ndimage.find_objects(compact)
    boxes = [[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in slices]
    return np.asarray(boxes, np.float32), ids


def read_id_maps(folder, class_names=None):
    """`folder/images/x.*` with `folder/instances/x.png` (or `masks/`): instance-id maps, one class."""
    images_dir, masks_dir = os.path.join(folder, "images"), _mask_folder(folder)
    names = list(class_names or [ONE_CLASS])
    if len(names) != 1:
        fail(f"Instance-id maps in {masks_dir} say nothing of classes, but {len(names)} class names were given",
             "Give one name (or use COCO JSON or YOLO polygons for several classes)", names=names)
    result = _empty(names)
    for name in sorted(f for f in os.listdir(images_dir) if is_image_file(f)):
        path = os.path.join(images_dir, name)
        mask_path = os.path.join(masks_dir, os.path.splitext(name)[0] + ".png")
        size = _size(path, masks_dir) or (1, 1)
        if not os.path.lexists(mask_path):
            fail(f"Image {path} has no instance map {mask_path}",
                 "Add the map (an empty image of zeros if it holds no object) or remove the image", image=path)
        values = read_id_map(mask_path)
        if values.shape != tuple(size):
            fail(f"Instance map {mask_path} is {values.shape[1]}x{values.shape[0]} but its image is "
                 f"{size[1]}x{size[0]}", "Save the map at the image's size", mask=mask_path)
        boxes, ids = id_map_objects(mask_path, values)
        _add(result, path, size, boxes, np.zeros(len(ids), np.int32), IdMap(mask_path, ids))
    return result


# --- one folder per image, one PNG per object ---

def _is_per_object(folder):
    return any(os.path.isdir(os.path.join(folder, d, "images")) and os.path.isdir(os.path.join(folder, d, "masks"))
               for d in os.listdir(folder))


def read_per_object(folder, class_names=None):
    """`folder/<id>/images/<image>` with `folder/<id>/masks/*.png`, one binary PNG per object; one class."""
    names = list(class_names or [ONE_CLASS])
    result = _empty(names)
    for entry in sorted(os.listdir(folder)):
        images_dir, masks_dir = os.path.join(folder, entry, "images"), os.path.join(folder, entry, "masks")
        if not os.path.isdir(images_dir):
            continue
        files = sorted(f for f in os.listdir(images_dir) if is_image_file(f))
        if len(files) != 1:
            fail(f"{images_dir} holds {len(files)} images; this layout has one image per folder",
                 "Keep one image in each images/ folder", folder=images_dir)
        path = os.path.join(images_dir, files[0])
        size = _size(path, images_dir) or (1, 1)
        mask_paths, boxes = [], []
        for mask_name in sorted(os.listdir(masks_dir)) if os.path.isdir(masks_dir) else []:
            mask_path = os.path.join(masks_dir, mask_name)
            if not is_image_file(mask_path):
                continue
            mask = read_binary(mask_path)
            if mask.shape != tuple(size):
                fail(f"Mask {mask_path} is {mask.shape[1]}x{mask.shape[0]} but its image is {size[1]}x{size[0]}",
                     "Save every mask at its image's size", mask=mask_path)
            ys, xs = np.nonzero(mask)
            if not len(xs):
                result.fixes["empty masks left out"] += 1
                continue
            mask_paths.append(mask_path)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        _add(result, path, size, boxes, np.zeros(len(boxes), np.int32), MaskFiles(mask_paths))
    return result


# --- built-in ---

def shapes_instances(size=128):
    from shared.data.shapes import SHAPE_CLASSES, generate

    splits = {}
    for split in SPLITS:
        data = generate(split, size)
        masks, boxes, labels = [], [], []
        for ids, classes in zip(data["instances"], data["labels"]):
            found, found_ids = id_map_objects(None, ids)  # a shape wholly under later ones is gone
            masks.append(IdMap(ids, found_ids))
            boxes.append(found)
            labels.append(np.asarray(classes, np.int32)[found_ids - 1])
        splits[split] = InstanceSet(list(SHAPE_CLASSES), boxes, labels, [(size, size)] * len(boxes), masks,
                                    images=data["images"])
    return splits


# --- resolving --data ---

def _read_any(spec, class_names=None, images_dir=None):
    if spec.lower().endswith(".json"):
        return read_coco(spec, images_dir, class_names)
    if os.path.isdir(os.path.join(spec, "labels")) and os.path.isdir(os.path.join(spec, "images")):
        return read_yolo(os.path.join(spec, "images"), class_names)
    if os.path.isdir(os.path.join(spec, "images")) and _mask_folder(spec):
        return read_id_maps(spec, class_names)
    if os.path.basename(os.path.normpath(spec)) == "images" and os.path.isdir(_labels_twin(spec)):
        return read_yolo(spec, class_names)
    if os.path.isdir(spec) and _is_per_object(spec):
        return read_per_object(spec, class_names)
    fail(f"Cannot tell the instance format of {spec}",
         "Give a COCO .json with segmentations, a folder with images/ + labels/ (YOLO polygons), images/ + "
         "instances/ (instance-id PNGs), one folder per image with images/ + masks/, or a dataset YAML", data=spec)


def _split(whole, val_fraction, test_fraction, seed):
    parts = random_subsets(whole, val_fraction, test_fraction, seed)
    for part in parts.values():
        part.fixes = whole.fixes
    return parts


def load_instance_data(spec, seed=0, val_fraction=0.1, test_fraction=0.2, images_dir=None, image_size=None,
                       unsplit_as_test=False):
    """Resolve `--data` into train/val/test `InstanceSet`s and an info dict."""
    if not spec:
        fail("No data given", "Pass --data shapes, a COCO JSON, a folder of instance data, or a dataset YAML",
             data=spec)
    spec = str(spec)
    if spec == "shapes":
        parts, how = shapes_instances(image_size or 128), "built-in fixed split of shapes"
    else:
        parts, how = read_parts(spec, _read_any, images_dir)
    fixes = FixCounter()
    for part in parts.values():
        fixes.update(part.fixes)
    splits, info = settle_splits(spec, parts, how, _split, seed, val_fraction, test_fraction, unsplit_as_test)
    info["objects"] = {k: int(sum(len(b) for b in v.boxes)) for k, v in splits.items()}
    info["fixes"] = fixes.as_dict()
    return splits, info
