"""Data writers for the tests: tiny image folders, detection and segmentation sets in every format."""

import os

import numpy as np
from PIL import Image

CLASSES = ("bars", "dots", "plain")


def pattern(kind, size, rng):
    """A 3-channel uint8 image whose class is visible: stripes, dots or a flat colour."""
    image = np.full((size, size, 3), rng.integers(20, 60), np.uint8)
    if kind == "bars":
        image[:, ::4] = 230
    elif kind == "dots":
        image[::4, ::4] = 230
    else:
        image[:] = rng.integers(120, 200)
    return image


def write_class_folders(root, per_class=6, size=24, seed=0, formats=("png", "jpg")):
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        os.makedirs(os.path.join(root, kind), exist_ok=True)
        for i in range(per_class):
            fmt = formats[i % len(formats)]
            Image.fromarray(pattern(kind, size, rng)).save(os.path.join(root, kind, f"{i}.{fmt}"))
    return str(root)


def tiny_train_args(data, runs_dir, *extra):
    return ["--data", str(data), "--backbone", "lenet5", "--image-size", "16", "--batch-size", "2",
            "--epochs", "1", "--runs-dir", str(runs_dir), "--verbose", "0", "--val-fraction", "0.2",
            "--test-fraction", "0.2", *extra]


def write_detection_data(root, fmt="voc", count=8, size=64, seed=0, empty=1):
    """Write `count` shapes images with boxes as a VOC folder, COCO JSON or YOLO folder.

    The last `empty` images have no objects. Returns the path to give as --data.
    """
    import json

    from shared.data.shapes import SHAPE_CLASSES, make_image

    rng = np.random.default_rng(seed)
    root = str(root)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    items = []
    for i in range(count):
        image, boxes, labels, *_ = make_image(rng, size, max_objects=2)
        if i >= count - empty:
            boxes, labels = boxes[:0], labels[:0]
        name = f"img{i}.jpg" if i % 2 else f"img{i}.png"
        Image.fromarray(image).save(os.path.join(root, "images", name))
        items.append((name, boxes, labels))
    if fmt == "voc":
        os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
        for name, boxes, labels in items:
            objects = "".join(
                f"<object><name>{SHAPE_CLASSES[lab]}</name><bndbox><xmin>{b[0]:.2f}</xmin><ymin>{b[1]:.2f}</ymin>"
                f"<xmax>{b[2]:.2f}</xmax><ymax>{b[3]:.2f}</ymax></bndbox></object>" for b, lab in zip(boxes, labels))
            xml = (f"<annotation><filename>{name}</filename><size><width>{size}</width><height>{size}</height>"
                   f"<depth>3</depth></size>{objects}</annotation>")
            with open(os.path.join(root, "annotations", os.path.splitext(name)[0] + ".xml"), "w") as f:
                f.write(xml)
        return root
    if fmt == "coco":
        coco = {"images": [], "annotations": [],
                "categories": [{"id": 10 + k, "name": n} for k, n in enumerate(SHAPE_CLASSES)]}
        for i, (name, boxes, labels) in enumerate(items):
            coco["images"].append({"id": 100 + i, "file_name": name, "width": size, "height": size})
            for b, lab in zip(boxes, labels):
                coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": 100 + i,
                                            "category_id": 10 + int(lab), "iscrowd": 0,
                                            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
        path = os.path.join(root, "images", "annotations.json")
        with open(path, "w") as f:
            json.dump(coco, f)
        return path
    os.makedirs(os.path.join(root, "labels"), exist_ok=True)
    for name, boxes, labels in items:
        with open(os.path.join(root, "labels", os.path.splitext(name)[0] + ".txt"), "w") as f:
            for b, lab in zip(boxes, labels):
                cx, cy = (b[0] + b[2]) / 2 / size, (b[1] + b[3]) / 2 / size
                w, h = (b[2] - b[0]) / size, (b[3] - b[1]) / size
                f.write(f"{lab} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    with open(os.path.join(root, "data.yaml"), "w") as f:
        f.write(f"path: .\ntrain: images\nval: images\nnames: {list(SHAPE_CLASSES)}\n")
    return os.path.join(root, "data.yaml")


def write_segmentation_data(root, count=6, size=48, kind="index", seed=0):
    """Write shapes images with masks as `root/images/*.png` + `root/masks/*.png`.

    kind: "index" (class ids as pixel values), "palette" (P-mode PNG) or "rgb" (colour masks,
    with a dataset YAML `root/set.yaml` holding the colour table). Returns the --data path.
    """
    from shared.data.shapes import SHAPE_CLASSES, make_image

    rng = np.random.default_rng(seed)
    root = str(root)
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    colours = [(0, 0, 0), (250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250)]
    for i in range(count):
        image, _, _, mask, _ = make_image(rng, size, max_objects=2)
        Image.fromarray(image).save(os.path.join(root, "images", f"s{i}.jpg" if i % 2 else f"s{i}.png"))
        if kind == "rgb":
            Image.fromarray(np.asarray(colours, np.uint8)[mask]).save(os.path.join(root, "masks", f"s{i}.png"))
        elif kind == "palette":
            pal = Image.fromarray(mask, mode="P")
            pal.putpalette([v for c in colours for v in c] + [0] * (768 - 3 * len(colours)))
            pal.save(os.path.join(root, "masks", f"s{i}.png"))
        else:
            Image.fromarray(mask).save(os.path.join(root, "masks", f"s{i}.png"))
    names = ["background"] + list(SHAPE_CLASSES)
    with open(os.path.join(root, "set.yaml"), "w") as f:
        f.write(f"train: .\nnames: {names}\n")
        if kind == "rgb":
            f.write("colors:\n" + "".join(f"  {k}: {list(c)}\n" for k, c in enumerate(colours)))
    return os.path.join(root, "set.yaml") if kind == "rgb" else root


def write_instance_data(root, fmt="idmap", count=8, size=64, seed=0, empty=1):
    """Write `count` shapes images with each shape's own mask: `idmap` (images/ + instances/, 16-bit
    instance-id PNGs) or `coco` (a COCO JSON with compressed RLE masks, category ids from 10). The last
    `empty` images have no objects. Returns the path to give as --data."""
    import json

    from pycocotools import mask as coco_mask

    from shared.data.shapes import SHAPE_CLASSES, make_image

    rng = np.random.default_rng(seed)
    root = str(root)
    for sub in ("images", "instances"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": 10 + k, "name": n}
                                                             for k, n in enumerate(SHAPE_CLASSES)]}
    for i in range(count):
        image, _, labels, _, ids = make_image(rng, size, max_objects=3)
        if i >= count - empty:
            ids = np.zeros_like(ids)
        name = f"img{i}.jpg" if i % 2 else f"img{i}.png"
        Image.fromarray(image).save(os.path.join(root, "images", name), quality=95)
        Image.fromarray(ids.astype(np.uint16) * 300).save(os.path.join(root, "instances", f"img{i}.png"))
        coco["images"].append({"id": 100 + i, "file_name": name, "width": size, "height": size})
        for k in np.unique(ids[ids > 0]):
            rle = coco_mask.encode(np.asfortranarray((ids == k).astype(np.uint8)))
            x, y, w, h = coco_mask.toBbox(rle).tolist()
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": 100 + i,
                                        "category_id": 10 + int(labels[k - 1]), "iscrowd": 0, "bbox": [x, y, w, h],
                                        "segmentation": {"size": [size, size],
                                                         "counts": rle["counts"].decode("ascii")}})
    if fmt == "coco":
        path = os.path.join(root, "images", "annotations.json")
        with open(path, "w") as f:
            json.dump(coco, f)
        return path
    return root
