"""A corpus of malformed annotation files, one generated case per way a file can be wrong.

Each must end in a `TridentError` that names the file (no other exception type), and
`trident <task> inspect` must end with the project's error, not a traceback.
"""

import json
import os

import pytest

from shared.data.classification import load_classification_data
from shared.data.detection import load_detection_data
from shared.data.segmentation import load_segmentation_data
from shared.errors import TridentError
from tasks.cli import main as trident
from tests.factories import write_class_folders, write_detection_data, write_segmentation_data


def refused_by_the_command(task, data, culprit, tmp_path, capsys):
    """`trident TASK inspect` on the data exits 1, reporting the reader's message (naming the file) as a problem."""
    capsys.readouterr()
    assert trident([task, "inspect", "--data", data, "--output", str(tmp_path / "report")]) == 1
    printed = capsys.readouterr()
    said = printed.out + printed.err
    assert "problem:" in said and os.path.basename(culprit) in said and "Traceback" not in said


def _coco(root, change):
    path = write_detection_data(root, "coco", count=4, size=64, empty=0)
    coco = json.load(open(path))
    change(coco)
    with open(path, "w") as f:
        json.dump(coco, f)
    return path, path


def _replaced(root, fmt, text):
    """Detection data whose annotation file (COCO JSON, or YOLO's dataset YAML) now holds `text`."""
    path = write_detection_data(root, fmt, count=4, size=64, empty=0)
    with open(path, "w") as f:
        f.write(text)
    return path, path


def _first(coco, key):
    return coco[key][0]


def _voc(root, old, new):
    folder = write_detection_data(root, "voc", count=4, size=64, empty=0)
    xml = os.path.join(folder, "annotations", "img0.xml")
    text = open(xml).read()
    assert old in text
    with open(xml, "w") as f:
        f.write(text.replace(old, new, 1))
    return folder, xml


def _yolo(root, line):
    path = write_detection_data(root, "yolo", count=4, size=64, empty=0)
    label = os.path.join(os.path.dirname(path), "labels", "img0.txt")
    with open(label, "w") as f:
        f.write(line + "\n")
    return path, label


DETECTION = {
    "coco: not JSON": lambda r: _replaced(r, "coco", "{not json"),
    "coco: a list, not an object": lambda r: _replaced(r, "coco", "[1, 2]"),
    "coco: no images key": lambda r: _coco(r, lambda c: c.pop("images")),
    "coco: annotation without bbox": lambda r: _coco(r, lambda c: _first(c, "annotations").pop("bbox")),
    "coco: bbox of 3 numbers": lambda r: _coco(r, lambda c: _first(c, "annotations").update(bbox=[1, 2, 3])),
    "coco: bbox a string": lambda r: _coco(r, lambda c: _first(c, "annotations").update(bbox="1 2 3 4")),
    "coco: bbox with a string number": lambda r: _coco(r, lambda c: _first(c, "annotations").update(
        bbox=[1, "x", 3, 4])),
    "coco: unknown category": lambda r: _coco(r, lambda c: _first(c, "annotations").update(category_id=999)),
    "coco: unknown image id": lambda r: _coco(r, lambda c: _first(c, "annotations").update(image_id=999)),
    "coco: image without file_name": lambda r: _coco(r, lambda c: _first(c, "images").pop("file_name")),
    "coco: width a string": lambda r: _coco(r, lambda c: _first(c, "images").update(width="wide")),
    "coco: category without name": lambda r: _coco(r, lambda c: _first(c, "categories").pop("name")),
    "coco: annotations not a list": lambda r: _coco(r, lambda c: c.update(annotations={"a": 1})),
    "voc: coordinate not a number": lambda r: _voc(r, "<xmin>", "<xmin>left"),
    "voc: missing ymax": lambda r: _voc(r, "<ymax>", "<ymin_>"),
    "voc: broken XML": lambda r: _voc(r, "</annotation>", ""),
    "voc: size not a number": lambda r: _voc(r, "<width>64", "<width>sixty"),
    "voc: object without name": lambda r: _voc(r, "<name>", "<label>"),
    "yolo: extra columns": lambda r: _yolo(r, "0 0.5 0.5 0.2 0.2 0.9 7"),
    "yolo: too few columns": lambda r: _yolo(r, "0 0.5 0.5"),
    "yolo: class not a number": lambda r: _yolo(r, "cat 0.5 0.5 0.2 0.2"),
    "yolo: class beyond names": lambda r: _yolo(r, "9 0.5 0.5 0.2 0.2"),
    "yolo: coordinate not a number": lambda r: _yolo(r, "0 0.5 half 0.2 0.2"),
    "yolo: negative class": lambda r: _yolo(r, "-1 0.5 0.5 0.2 0.2"),
    "yolo yaml: not YAML": lambda r: _replaced(r, "yolo", "names: [a, b\ntrain: ["),
    "yolo yaml: names a number": lambda r: _replaced(r, "yolo", "path: .\ntrain: images\nnames: 3\n"),
    "yolo yaml: train folder missing": lambda r: _replaced(r, "yolo", "path: .\ntrain: nowhere\nnames: [a]\n"),
}


def _csv(root, text):
    folder = write_class_folders(root / "imgs", per_class=3)
    path = root / "labels.csv"
    first = sorted(os.listdir(os.path.join(folder, "bars")))[0]
    path.write_text(text.format(image=f"imgs/bars/{first}"))
    return str(path), str(path)


CLASSIFICATION = {
    "csv: no header": lambda r: _csv(r, "{image},bars\n"),
    "csv: no label column": lambda r: _csv(r, "path\n{image}\n"),
    "csv: empty label": lambda r: _csv(r, "path,label\n{image},\n{image},dots\n"),
    "csv: short line": lambda r: _csv(r, "path,label\n{image}\n{image},dots\n"),
    "csv: image missing": lambda r: _csv(r, "path,label\nimgs/nope.png,bars\n{image},dots\n"),
    "csv: too many columns": lambda r: _csv(r, "path,label\n{image},bars,extra\n{image},dots\n"),
    "csv: unknown split": lambda r: _csv(r, "path,label,split\n{image},bars,training\n{image},dots,test\n"),
    "csv: not text": lambda r: _binary_csv(r),
}


def _binary_csv(root):
    path = root / "labels.csv"
    root.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * 4)
    return str(path), str(path)


def _seg_yaml(root, text):
    folder = write_segmentation_data(root, count=4, size=32)
    path = os.path.join(folder, "set.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path, path


def _seg_mask(root, write):
    folder = write_segmentation_data(root, count=4, size=32)
    mask = os.path.join(folder, "masks", "s0.png")
    write(mask)
    return folder, mask


SEGMENTATION = {
    "yaml: names a number": lambda r: _seg_yaml(r, "train: .\nnames: 4\n"),
    "yaml: colours not triples": lambda r: _seg_yaml(r, "train: .\nnames: [a, b]\ncolors:\n  0: [1, 2]\n  1: red\n"),
    "yaml: mask value not a number": lambda r: _seg_yaml(r, "train: .\nnames: [a, b]\nmask_values: [0, x]\n"),
    "yaml: not YAML": lambda r: _seg_yaml(r, "train: [\n"),
    "mask: not an image": lambda r: _seg_mask(r, lambda p: open(p, "wb").write(b"not a png")),
    "mask: wrong size": lambda r: _seg_mask(r, lambda p: __import__("PIL.Image").Image.new("L", (7, 9)).save(p)),
}


READERS = {
    "detection": lambda data: load_detection_data(data, 0, 0.25, 0.25, image_size=64),
    "classification": lambda data: load_classification_data(data, 0, 0.25, 0.25),
    "segmentation": lambda data: load_segmentation_data(data, 0, 0.25, 0.25, image_size=32),
}
CASES = {(task, case): make for task, cases in (("detection", DETECTION), ("classification", CLASSIFICATION),
                                                ("segmentation", SEGMENTATION)) for case, make in cases.items()}


@pytest.mark.parametrize("task,case", sorted(CASES), ids=[f"{t}: {c}" for t, c in sorted(CASES)])
def test_malformed_data_is_refused_naming_the_file(tmp_path, task, case, capsys):
    data, culprit = CASES[task, case](tmp_path / "data")
    with pytest.raises(TridentError) as error:
        READERS[task](data)
    assert os.path.basename(culprit) in str(error.value), str(error.value)
    refused_by_the_command(task, data, culprit, tmp_path, capsys)
