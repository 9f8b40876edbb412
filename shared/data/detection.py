"""Detection readers: COCO JSON, Pascal VOC XML folders, YOLO txt + dataset YAML, `shapes`.

All produce `DetectionSet`s in one vocabulary: per image, boxes `[n, 4]` xyxy in the
image's own pixels and class ids `[n]`. Images without objects are valid and kept.
Problems that can be fixed (boxes outside the image, degenerate or NaN boxes) are fixed
and counted in `fixes`; the rest (unknown classes, missing images, sizes that disagree
with the annotation, duplicate ids) stop with an error naming the file.
"""

import dataclasses
import hashlib
import json
import os
import xml.etree.ElementTree as ET

import numpy as np

from shared.data.boxes import FixCounter, sanitize_boxes
from shared.data.dataset_yaml import SPLITS, load_dataset_yaml, random_split
from shared.data.files import check_file, contained, open_text
from shared.data.images import is_image_file, oriented_size
from shared.data.itemset import ItemSet
from shared.data.resolve import read_parts, settle_splits
from shared.errors import fail, malformed


@dataclasses.dataclass
class DetectionSet(ItemSet):
    """Images with boxes. Exactly one of `paths` and `images` (`uint8 [N, H, W, 3]`) is set."""

    # One entry per image (not a dataclass field).
    ITEM_FIELDS = ("boxes", "labels", "sizes", "paths", "images", "image_ids")
    TALLIES = ("skipped", "fixes")  # counted once for the data read, not per subset
    ARRAY_NAME = "shapes-{}"

    class_names: list
    boxes: list
    labels: list
    sizes: list  # (height, width) per image
    paths: list = None
    images: np.ndarray = None
    fixes: FixCounter = dataclasses.field(default_factory=FixCounter)
    skipped: list = dataclasses.field(default_factory=list)
    coco_ids: list = None  # a COCO source's own category ids, for writing results back
    image_ids: list = None  # a COCO source's own image ids, one per image, for the same reason

    def relabel(self, remap, class_names):
        """This set with class `i` renamed to `remap[i]` of `class_names`; source category ids dropped."""
        labels = [np.asarray(remap)[np.asarray(lab, np.int64)] for lab in self.labels]
        return dataclasses.replace(self, labels=labels, class_names=list(class_names), coco_ids=None)

    def max_objects(self):
        return max([len(b) for b in self.boxes] + [1])

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


def _image_size(path, where):
    """`(height, width)` as decoded (EXIF orientation applied); None if the header is unreadable (or the file
    is not a regular one)."""
    if not os.path.lexists(path):
        fail(f"{where} names image {path}, which does not exist", "Add the image or remove its annotation",
             image=path)
    return oriented_size(path)  # None: undecodable, check() skips and counts it later


def _check_size(path, actual, declared, where):
    if actual is not None and declared is not None and tuple(actual) != tuple(declared):
        rotated = tuple(actual) == tuple(declared)[::-1]
        fail(f"{where}: image {path} is {actual[1]}x{actual[0]} but the annotation says {declared[1]}x{declared[0]}"
             + (" (the photo's EXIF orientation turns it; the annotation tool read it unturned)" if rotated else ""),
             "Re-export the annotations for these image files (boxes would land in the wrong place)"
             + ("; or save the photo upright without the EXIF orientation, then annotate it" if rotated else ""),
             image=path)


# --- COCO JSON ---

def read_coco(json_path, images_dir=None, class_names=None):
    """Read a COCO detection JSON (`images`, `annotations`, `categories`).

    Category ids are mapped to 0..K-1 in id order; the result's `coco_ids` and
    `image_ids` keep the file's own category and image ids for writing results back.
    `iscrowd` regions are left out of training and counted.
    """
    if not os.path.lexists(json_path):
        fail(f"COCO file {json_path} does not exist", "Check the --data path", data=json_path)
    try:
        with open_text(json_path, "COCO file") as f:
            coco = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"COCO file {json_path} is not valid JSON ({error})", "Fix or re-export the file", data=json_path)
    if not isinstance(coco, dict):
        fail(f"COCO file {json_path} holds a JSON {type(coco).__name__}, not an object with `images`, "
             "`annotations` and `categories`", "Use a COCO detection JSON", data=json_path)
    with malformed(json_path, "COCO file"):
        for key in ("images", "annotations", "categories"):
            if not isinstance(coco.get(key), list):
                fail(f"COCO file {json_path} has no `{key}` list", "Use a COCO detection JSON", data=json_path)
        images_dir = images_dir or os.path.dirname(os.path.abspath(json_path))
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        ids = [c["id"] for c in categories]
        if len(set(ids)) != len(ids):
            fail(f"COCO file {json_path} repeats a category id", "Give each category its own id", data=json_path)
        names = [c["name"] for c in categories]
        if class_names and list(class_names) != names:
            fail(f"COCO file {json_path} has categories {names}, not {list(class_names)}",
                 "Use the same categories in every split", data=json_path)
        category_index = {cid: i for i, cid in enumerate(ids)}
        image_index = {}
        for position, image in enumerate(coco["images"]):
            if image["id"] in image_index:
                fail(f"COCO file {json_path}: image id {image['id']} appears twice", "Give each image its own id",
                     image_id=image["id"])
            image_index[image["id"]] = position
        per_image = [([], []) for _ in coco["images"]]
        seen_annotations, fixes = set(), FixCounter()
        for ann in coco["annotations"]:
            if ann.get("id") in seen_annotations:
                fail(f"COCO file {json_path}: annotation id {ann['id']} appears twice",
                     "Give each annotation its own id",
                     annotation_id=ann["id"])
            seen_annotations.add(ann.get("id"))
            if ann["image_id"] not in image_index:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} names image id {ann['image_id']}, "
                     "which is not in `images`", "Add the image entry or remove the annotation",
                     image_id=ann["image_id"])
            if ann["category_id"] not in category_index:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} has category id {ann['category_id']}, "
                     "which is not in `categories`", f"Use one of {ids}", category_id=ann["category_id"])
            if ann.get("iscrowd", 0):
                fixes["crowd regions left out"] += 1
                continue
            bbox = ann["bbox"]
            if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
                fail(f"COCO file {json_path}: annotation {ann.get('id')} has bbox {bbox!r}",
                     "Give every bbox as [x, y, width, height] in pixels", data=json_path)
            x, y, w, h = (float(v) for v in bbox)
            boxes, labels = per_image[image_index[ann["image_id"]]]
            boxes.append([x, y, x + w, y + h])
            labels.append(category_index[ann["category_id"]])
        result = DetectionSet(names, [], [], [], paths=[], fixes=fixes)
        for image, (boxes, labels) in zip(coco["images"], per_image):
            path = contained(os.path.join(images_dir, image["file_name"]), json_path,
                             [images_dir, os.path.dirname(os.path.abspath(json_path))])
            where = f"{json_path} (image id {image['id']})"
            actual = _image_size(path, where)
            declared = (image.get("height"), image.get("width"))
            _check_size(path, actual, declared if None not in declared else None, where)
            height, width = actual or (declared if None not in declared else (1, 1))
            clean = sanitize_boxes(boxes, labels, width, height, len(names), where, result.fixes)
            result.paths.append(path)
            result.boxes.append(clean[0])
            result.labels.append(clean[1])
            result.sizes.append((height, width))
    result.coco_ids = ids
    result.image_ids = [image["id"] for image in coco["images"]]
    return result


# --- Pascal VOC XML ---

VOC_IMAGES, VOC_ANNOTATIONS = ("images", "JPEGImages"), ("annotations", "Annotations")


def _voc_dirs(folder):
    """`(images dir, annotations dir)` of a VOC folder (either naming), or None."""
    ann = next((os.path.join(folder, d) for d in VOC_ANNOTATIONS if os.path.isdir(os.path.join(folder, d))), None)
    if ann is None:
        return None
    images = next((os.path.join(folder, d) for d in VOC_IMAGES if os.path.isdir(os.path.join(folder, d))), None)
    return images, ann


def voc_image_sets(folder):
    """`{split: [stem, ...]}` from Pascal VOC's `ImageSets/Main/{train,val,test}.txt`, or {}."""
    main = os.path.join(folder, "ImageSets", "Main")
    lists = {}
    for split, names in (("train", ("train.txt", "trainval.txt")), ("val", ("val.txt",)), ("test", ("test.txt",))):
        for name in names:
            path = os.path.join(main, name)
            if os.path.lexists(path):
                with open_text(path, "VOC image list") as f:
                    lists[split] = [line.split()[0] for line in f if line.strip()]
                break
    if "train" in lists and lists.get("val") and set(lists["val"]) <= set(lists["train"]):
        lists.pop("val")  # trainval.txt stood in for train.txt: it holds val too
    return lists if "train" in lists else {}


def read_voc(folder, class_names=None):
    """Read `folder/images/*` with `folder/annotations/<stem>.xml` (Pascal VOC).

    Also the original VOC naming (`JPEGImages/`, `Annotations/`).
    """
    images_dir, ann_dir = _voc_dirs(folder) or (None, None)
    if images_dir is None:
        fail(f"VOC folder {folder} has annotations but no images/ (or JPEGImages/)", "Put the images in images/",
             data=folder)
    files = sorted(f for f in os.listdir(images_dir) if is_image_file(f))
    parsed, found = [], set()
    for name in files:
        xml_path = os.path.join(ann_dir, os.path.splitext(name)[0] + ".xml")
        objects, declared = [], None
        if os.path.lexists(xml_path):
            try:
                root = ET.parse(check_file(xml_path, "VOC file")).getroot()
            except ET.ParseError as error:
                fail(f"VOC file {xml_path} is not valid XML ({error})", "Fix or re-export it", file=xml_path)
            with malformed(xml_path, "VOC file", "Write numbers in <size> and <bndbox>, then re-run"):
                declared, objects = _voc_objects(root, xml_path)
                found.update(name for name, _ in objects)
        parsed.append((os.path.join(images_dir, name), xml_path, declared, objects))
    names = list(class_names) if class_names else sorted(found)
    index = {n: i for i, n in enumerate(names)}
    result = DetectionSet(names, [], [], [], paths=[])
    for path, xml_path, declared, objects in parsed:
        for name, _ in objects:
            if name not in index:
                fail(f"VOC file {xml_path}: class `{name}` is not in the class list {names}",
                     "Add it to `names` in the dataset YAML or fix the label", label=name)
        actual = _image_size(path, xml_path)
        _check_size(path, actual, declared, xml_path)
        height, width = actual or declared or (1, 1)
        clean = sanitize_boxes([c for _, c in objects], [index[n] for n, _ in objects], width, height,
                               len(names), xml_path, result.fixes)
        result.paths.append(path)
        result.boxes.append(clean[0])
        result.labels.append(clean[1])
        result.sizes.append((height, width))
    return result


def _voc_objects(root, xml_path):
    """`(declared (height, width) or None, [(class name, [xmin, ymin, xmax, ymax])])` of a VOC XML root."""
    declared, objects = None, []
    size = root.find("size")
    if size is not None and size.findtext("width") and size.findtext("height"):
        declared = (int(float(size.findtext("height"))), int(float(size.findtext("width"))))
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        if box is None:
            fail(f"VOC file {xml_path}: an object has no <bndbox>", "Add the box or remove the object", file=xml_path)
        coords = [float(box.findtext(k, "nan")) for k in ("xmin", "ymin", "xmax", "ymax")]
        objects.append((obj.findtext("name", "").strip(), coords))
    return declared, objects


# --- YOLO txt ---

def read_yolo(images_dir, class_names):
    """Read YOLO labels: `.../images/x.jpg` with `.../labels/x.txt` lines `class cx cy w h` (0..1)."""
    if not class_names:
        fail(f"YOLO data {images_dir} needs class names", "List them under `names:` in the dataset YAML",
             data=images_dir)
    if not os.path.isdir(images_dir):
        fail(f"YOLO image folder {images_dir} does not exist", "Check the dataset YAML's paths", data=images_dir)
    labels_dir = _labels_twin(images_dir)
    result = DetectionSet(list(class_names), [], [], [], paths=[])
    for name in sorted(f for f in os.listdir(images_dir) if is_image_file(f)):
        path = os.path.join(images_dir, name)
        txt = os.path.join(labels_dir, os.path.splitext(name)[0] + ".txt")
        size = _image_size(path, txt)
        if size is None:
            result.paths.append(path)
            result.boxes.append(np.zeros((0, 4), np.float32))
            result.labels.append(np.zeros((0,), np.int32))
            result.sizes.append((1, 1))
            continue
        height, width = size
        boxes, labels = [], []
        if os.path.lexists(txt):
            with malformed(txt, "YOLO label file"), open_text(txt, "YOLO label file") as f:
                lines = f.read().splitlines()
            for line_no, line in enumerate(lines, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 5:
                    fail(f"{txt}, line {line_no}: expected 5 values `class cx cy w h`, found {len(parts)}",
                         "Write one box per line; polygon (segment) labels and extra columns are not read as boxes",
                         line=line.strip())
                try:
                    cls, cx, cy, w, h = int(parts[0]), *map(float, parts[1:5])
                except (ValueError, TypeError):
                    fail(f"{txt}, line {line_no}: expected `class cx cy w h`", "Fix the line", line=line.strip())
                labels.append(cls)
                boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
        clean = sanitize_boxes(boxes, labels, width, height, len(class_names), txt, result.fixes)
        result.paths.append(path)
        result.boxes.append(clean[0])
        result.labels.append(clean[1])
        result.sizes.append((height, width))
    return result


def _labels_twin(images_dir):
    """`.../images/...` -> `.../labels/...`: where YOLO keeps the labels of an image folder."""
    return os.sep.join("labels" if part == "images" else part for part in os.path.normpath(images_dir).split(os.sep))


def _yolo_images(spec):
    """The image folder of YOLO data named by `spec`, or None when `spec` is not YOLO data.

    Accepts `spec/images` beside `spec/labels`, an `images` folder itself, and the
    Ultralytics layout `images/train` whose labels are in `labels/train`.
    """
    parts = os.path.normpath(spec).split(os.sep)
    if os.path.isdir(os.path.join(spec, "labels")):
        return os.path.join(spec, "images")
    if parts[-1] == "images" or ("images" in parts and os.path.isdir(_labels_twin(spec))):
        return spec
    return None


# --- built-in ---

def shapes_detection(size=128):
    from shared.data.shapes import SHAPE_CLASSES, generate

    splits = {}
    for split in SPLITS:
        data = generate(split, size)
        splits[split] = DetectionSet(list(SHAPE_CLASSES), data["boxes"], data["labels"],
                                     [(size, size)] * len(data["boxes"]), images=data["images"])
    return splits


# --- resolving --data ---

def _read_detection_any(spec, class_names=None, images_dir=None):
    if spec.lower().endswith(".json"):
        return read_coco(spec, images_dir, class_names)
    if _voc_dirs(spec):
        return read_voc(spec, class_names)
    if images := _yolo_images(spec):
        return read_yolo(images, class_names)
    fail(f"Cannot tell the detection format of {spec}",
         "Give a COCO .json, a folder with images/ + annotations/ (VOC) or images/ + labels/ (YOLO), "
         "or a dataset YAML", data=spec)


def detection_format(spec):
    """`"coco"`, `"voc"` or `"yolo"`: the format of detection data `spec` (of its train part, for a dataset YAML
    or a folder with train/), or None (the built-in `shapes`, or a path that is no longer there)."""
    spec = str(spec)
    if not os.path.isdir(spec) and spec.lower().endswith((".yaml", ".yml")) and os.path.isfile(spec):
        spec = load_dataset_yaml(spec)[1]["train"]
    elif os.path.isdir(os.path.join(spec, "train")):
        spec = os.path.join(spec, "train")
    if spec.lower().endswith(".json"):
        return "coco"
    if os.path.isdir(spec) and _voc_dirs(spec):
        return "voc"
    if os.path.isdir(spec) and _yolo_images(spec):
        return "yolo"
    return None


def voc_splits(folder, lists):
    """Read a VOC folder once and split it by its `ImageSets/Main` lists (`{split: [stem, ...]}`)."""
    whole = read_voc(folder)
    index = {os.path.splitext(os.path.basename(p))[0]: i for i, p in enumerate(whole.paths)}
    splits = {}
    for split, stems in lists.items():
        missing = [stem for stem in stems if stem not in index]
        if missing:
            fail(f"VOC image list {split}.txt in {folder} names {len(missing)} image(s) not in its image folder "
                 f"(first: {missing[0]})", "Add the images or remove them from the ImageSets list", image=missing[0])
        splits[split] = whole.subset([index[stem] for stem in stems])
    splits["train"].fixes = whole.fixes  # counted once for the whole folder (subsets start at zero)
    return splits


def split_detection(data, val_fraction, test_fraction, seed):
    result = {}
    for name, index in random_split(len(data), val_fraction, test_fraction, seed).items():
        result[name] = data.subset(index)
        result[name].fixes = data.fixes
    return result


def load_detection_data(spec, seed=0, val_fraction=0.1, test_fraction=0.2, images_dir=None, image_size=None,
                        unsplit_as_test=False):
    """Resolve `--data` for detection into train/val/test `DetectionSet`s and an info dict.

    `unsplit_as_test`: data without splits of its own becomes one test split (see
    `load_classification_data`).
    """
    if not spec:
        fail("No data given", "Pass --data shapes, a COCO JSON, a VOC or YOLO folder, or a dataset YAML", data=spec)
    spec = str(spec)
    if spec == "shapes":
        splits, how = shapes_detection(image_size or 128), "built-in fixed split of shapes"
    elif _voc_dirs(spec) and (lists := voc_image_sets(spec)):
        splits, how = voc_splits(spec, lists), "the data's own ImageSets/Main lists"
    else:
        splits, how = read_parts(spec, _read_detection_any, images_dir)
    fixes = FixCounter()
    for part in splits.values():
        fixes.update(part.fixes)
    splits, info = settle_splits(spec, splits, how, split_detection, seed, val_fraction, test_fraction,
                                 unsplit_as_test)
    info["objects"] = {k: int(sum(len(b) for b in v.boxes)) for k, v in splits.items()}
    info["fixes"] = fixes.as_dict()
    return splits, info
