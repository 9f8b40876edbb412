"""Writing boxes as detection data a labelling tool imports and Trident reads back: COCO JSON, Pascal VOC XML
or YOLO txt (with a dataset YAML naming the classes), each beside a copy of its images in `images/`."""

import json
import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import yaml

from shared.io import write_text

FORMATS = ("coco", "voc", "yolo")


def write_detection_data(folder, fmt, names, items):
    """Copy each item's image into `folder/images/` and write its boxes in `fmt`; returns what `--data` takes to
    read them (the COCO JSON, the VOC folder, or the YOLO dataset YAML).

    `items`: per image a dict of `path` (the source file), `name` (its file name in the copy), `size`
    (`(height, width)` as decoded), `boxes` (`[n, 4]` xyxy pixels) and `labels` (`[n]` class ids of `names`)."""
    images = os.path.join(folder, "images")
    os.makedirs(images, exist_ok=True)
    for item in items:
        shutil.copyfile(item["path"], os.path.join(images, item["name"]))
    return {"coco": _coco, "voc": _voc, "yolo": _yolo}[fmt](folder, names, items)


def _boxes(item):
    return np.asarray(item["boxes"], np.float64).reshape(-1, 4), np.asarray(item["labels"], np.int64).reshape(-1)


def _coco(folder, names, items):
    images, annotations = [], []
    for image_id, item in enumerate(items, start=1):
        height, width = item["size"]
        images.append({"id": image_id, "file_name": f"images/{item['name']}", "width": int(width),
                       "height": int(height)})
        for box, label in zip(*_boxes(item)):
            x1, y1, x2, y2 = (round(float(v), 2) for v in box)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(label) + 1,
                                "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                                "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0})
    path = os.path.join(folder, "annotations.json")
    write_text(path, json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": k + 1, "name": name, "supercategory": "object"} for k, name in enumerate(names)]}, indent=1))
    return path


def _voc(folder, names, items):
    annotations = os.path.join(folder, "annotations")
    os.makedirs(annotations, exist_ok=True)
    for item in items:
        height, width = item["size"]
        root = ET.Element("annotation")
        ET.SubElement(root, "folder").text = "images"
        ET.SubElement(root, "filename").text = item["name"]
        size = ET.SubElement(root, "size")
        for key, value in (("width", width), ("height", height), ("depth", 3)):
            ET.SubElement(size, key).text = str(int(value))
        for box, label in zip(*_boxes(item)):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = names[int(label)]
            ET.SubElement(obj, "difficult").text = "0"
            bndbox = ET.SubElement(obj, "bndbox")
            for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
                ET.SubElement(bndbox, key).text = f"{float(value):.1f}"
        ET.indent(root)
        stem = os.path.splitext(item["name"])[0]
        write_text(os.path.join(annotations, f"{stem}.xml"), ET.tostring(root, encoding="unicode") + "\n")
    return folder


def _yolo(folder, names, items):
    labels = os.path.join(folder, "labels")
    os.makedirs(labels, exist_ok=True)
    for item in items:
        height, width = item["size"]
        lines = [f"{int(label)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} "
                 f"{(y2 - y1) / height:.6f}" for (x1, y1, x2, y2), label in zip(*_boxes(item))]
        stem = os.path.splitext(item["name"])[0]
        write_text(os.path.join(labels, f"{stem}.txt"), "".join(line + "\n" for line in lines))
    path = os.path.join(folder, "dataset.yaml")
    write_text(path, yaml.safe_dump({"path": ".", "train": "images", "names": dict(enumerate(names))},
                                    sort_keys=False))
    return path
