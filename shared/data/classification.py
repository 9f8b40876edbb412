"""Classification readers: class sub-folders, a `path,label` CSV, built-ins, dataset YAML.

`load_classification_data(spec)` turns any `--data` value into `{"train", "val", "test"}`
`ImageSet`s sharing one class list. Without explicit splits it makes a seeded stratified
split and says so in the returned `info`, which the run folder records.
"""

import csv
import os

import numpy as np

from shared.data.builtin import BUILTIN
from shared.data.dataset_yaml import SPLITS, load_dataset_yaml
from shared.data.files import contained, open_text, regular_entries
from shared.data.images import is_image_file
from shared.data.imageset import ImageSet
from shared.data.resolve import settle_splits
from shared.errors import fail, malformed


def read_class_folders(root, class_names=None):
    """Read `root/<class>/<image>`; files that are not images are ignored.

    Args:
        root: str, folder with one sub-folder per class.
        class_names: list of str, fixes class order (and rejects unknown folders);
            default: sorted folder names.
    """
    if not os.path.isdir(root):
        fail(f"Data folder {root} does not exist", "Check the --data path", data=root)
    folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
    if not folders:
        fail(f"Data folder {root} has no class sub-folders",
             "Put each class's images in its own sub-folder, e.g. root/cat/1.jpg", data=root)
    names = list(class_names) if class_names else folders
    unknown = sorted(set(folders) - set(names))
    if unknown:
        fail(f"Folder {root} has class folders not in the class list: {', '.join(unknown)}",
             "Add them to `names` in the dataset YAML or remove the folders", data=root)
    paths, labels, skipped = [], [], []
    for label, name in enumerate(names):
        folder = os.path.join(root, name)
        files, odd = regular_entries(folder, is_image_file) if os.path.isdir(folder) else ([], [])
        if not files and name in folders:
            fail(f"Class folder {folder} holds no images" + (f" ({len(odd)} entries are not regular files)"
                                                             if odd else ""),
                 "Add JPEG/PNG/BMP/GIF images to it or remove the folder", data=root)
        paths += [os.path.join(folder, f) for f in files]
        labels += [label] * len(files)
        skipped += odd
    return ImageSet(labels=np.array(labels), class_names=names, paths=paths, skipped=skipped)


def read_csv(path, class_names=None):
    """Read a CSV with a header `path,label` (and optionally `split`).

    Relative image paths are taken from the CSV's folder; labels are class names (or
    integers indexing `class_names`). Returns `{split: ImageSet}`, or `{"all": ImageSet}`.
    """
    if not os.path.lexists(path):
        fail(f"CSV file {path} does not exist", "Check the --data path", data=path)
    base = os.path.dirname(os.path.abspath(path))
    with malformed(path, "CSV file", "Save it as UTF-8 text with a `path,label` header"), \
            open_text(path, "CSV file", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"path", "label"} <= set(rows[0]):
        fail(f"CSV file {path} needs a header row with columns `path,label` and at least one row",
             "Write `path,label` as the first line, then one image per line", data=path)
    for line, row in enumerate(rows, start=2):
        if None in row or not (row["label"] or "").strip() or not (row["path"] or "").strip():
            fail(f"{path}, line {line}: expected the header's {len(rows[0]) - (None in rows[0])} columns with a "
                 "path and a label", "Fix the line (quote values holding commas) or remove it",
                 line=",".join(str(v) for v in row.values()))
    names = list(class_names) if class_names else sorted({row["label"] for row in rows})
    index = {name: i for i, name in enumerate(names)}
    groups = {}
    for line, row in enumerate(rows, start=2):
        label = row["label"]
        if label not in index:
            fail(f"{path}, line {line}: label `{label}` is not in the class list",
                 f"Use one of: {', '.join(names)}", label=label)
        image = contained(row["path"] if os.path.isabs(row["path"]) else os.path.join(base, row["path"]),
                          f"{path}, line {line},", [base])
        if not os.path.lexists(image):  # present but not a regular file: skipped unopened by `check`
            fail(f"{path}, line {line}: image {image} does not exist", "Fix the path or remove the line",
                 path=row["path"])
        split = (row.get("split") or "all").strip().lower()
        if split not in SPLITS + ("all",):
            fail(f"{path}, line {line}: unknown split `{split}`", "Use train, val or test", split=split)
        groups.setdefault(split, ([], []))
        groups[split][0].append(image)
        groups[split][1].append(index[label])
    return {s: ImageSet(labels=np.array(lab), class_names=names, paths=p) for s, (p, lab) in groups.items()}


def stratified_split(imageset, val_fraction, test_fraction, seed):
    """Split one `ImageSet` into train/val/test, stratified when every class allows it."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(imageset))

    def split(idx, fraction):
        if fraction <= 0 or len(idx) < 2:
            return idx, idx[:0]
        n_out = max(1, int(round(len(idx) * fraction)))
        counts = np.bincount(imageset.labels[idx])
        classes = int((counts > 0).sum())
        can_stratify = counts[counts > 0].min() >= 2 and min(n_out, len(idx) - n_out) >= classes
        stratify = imageset.labels[idx] if can_stratify else None
        return train_test_split(idx, test_size=n_out, stratify=stratify, random_state=seed)

    rest, test = split(index, test_fraction)
    train, val = split(rest, val_fraction / max(1e-9, 1.0 - test_fraction))
    return {"train": imageset.subset(np.sort(train)), "val": imageset.subset(np.sort(val)),
            "test": imageset.subset(np.sort(test))}


def _read_any(spec, class_names=None):
    """A folder or CSV named inside a dataset YAML, or given as --data: `{split: ImageSet}`."""
    if os.path.isdir(spec):
        present = [s for s in SPLITS if os.path.isdir(os.path.join(spec, s))]
        if "train" in present:
            names = class_names or sorted(
                d for d in os.listdir(os.path.join(spec, "train")) if os.path.isdir(os.path.join(spec, "train", d))
            )
            return {s: read_class_folders(os.path.join(spec, s), names) for s in present}
        return {"all": read_class_folders(spec, class_names)}
    if spec.lower().endswith(".csv"):
        return read_csv(spec, class_names)
    fail(f"Cannot read classification data from {spec}",
         "Give a folder of class sub-folders, a CSV of path,label, a dataset YAML, or `digits`", data=spec)


def _read_yaml(path):
    _, targets, names = load_dataset_yaml(path)
    splits = {}
    for split, target in targets.items():
        parts = _read_any(target, names)
        splits[split] = parts.get("all") or parts.get(split) or parts["train"]
        names = names or splits[split].class_names
    return splits


def load_classification_data(spec, seed=0, val_fraction=0.1, test_fraction=0.2, unsplit_as_test=False):
    """Resolve `--data` into train/val/test `ImageSet`s.

    Args:
        unsplit_as_test: bool; when the data names no splits of its own, return all of
            it as the test split (train and val empty) instead of a seeded split, as
            `evaluate --data` does for data the model was not trained on.

    Returns:
        (splits, info): `splits` maps train/val/test to `ImageSet`; `info` records the
        source, how the split was made, counts, skipped files and a fingerprint.
    """
    if not spec:
        fail("No data given", "Pass --data digits, a folder, a CSV or a dataset YAML", data=spec)
    spec = str(spec)
    if spec in BUILTIN:
        splits, how = BUILTIN[spec](), f"built-in fixed split of {spec}"
    elif os.path.isfile(spec) and spec.lower().endswith((".yaml", ".yml")):
        splits, how = _read_yaml(spec), "splits named in the dataset YAML"
    elif os.path.exists(spec):
        splits, how = _read_any(spec), "the data's own train/val/test"
    else:
        fail(f"Data {spec} is neither a built-in data set nor an existing file or folder",
             f"Use one of {', '.join(BUILTIN)} or a path that exists", data=spec)
    return settle_splits(spec, splits, how, stratified_split, seed, val_fraction, test_fraction, unsplit_as_test,
                         method="stratified")
