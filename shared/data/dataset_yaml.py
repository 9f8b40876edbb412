"""Dataset YAML files and seeded splits, shared by every task's readers.

A dataset YAML names its splits (`train`, `val`, `test`), relative to the YAML's folder
or to its `path:`, and optionally `names` (a list, or a mapping id -> name).
"""

import os

import numpy as np
import yaml

from shared.data.files import open_text
from shared.errors import fail, malformed
from shared.io import parse_yaml

SPLITS = ("train", "val", "test")
WHOLE_AS_TEST = "all of it as the test split (the data names no splits of its own)"


def load_dataset_yaml(path):
    """`(spec, {split: absolute target}, class names or None)` from a dataset YAML."""
    try:
        with malformed(path, "Dataset YAML"), open_text(path, "Dataset YAML") as f:
            spec = parse_yaml(f) or {}
    except yaml.YAMLError as error:
        fail(f"Dataset YAML {path} is not valid YAML ({error})", "Fix the YAML syntax", data=path)
    if not isinstance(spec, dict) or not spec.get("train"):
        fail(f"Dataset YAML {path} needs at least a `train` entry", "Add `train: FOLDER` (relative to the YAML)",
             data=path)
    base = os.path.join(os.path.dirname(os.path.abspath(path)), str(spec.get("path", "")))
    targets = {split: spec[split] if os.path.isabs(str(spec[split])) else os.path.join(base, str(spec[split]))
               for split in SPLITS if spec.get(split)}
    for split, target in targets.items():
        if not os.path.exists(target):
            fail(f"Dataset YAML {path}: `{split}` names {target}, which does not exist",
                 "Fix the path (relative to the YAML's folder, or to its `path:`)", data=path)
    names = spec.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names)):
        fail(f"Dataset YAML {path}: `names` is {names!r}", "Give `names` as a list of class names, or a mapping "
             "id -> name", data=path)
    return spec, targets, [str(n) for n in names] if names is not None else None


def random_split(count, val_fraction, test_fraction, seed):
    """Seeded split of `range(count)` into sorted train/val/test index lists."""
    order = np.random.default_rng(seed).permutation(count)
    n_test = int(round(count * test_fraction))
    n_val = int(round(count * val_fraction))
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    return {name: sorted(int(i) for i in index) for name, index in parts.items()}


def whole_as_test(whole):
    """`{train, val, test}` with every item of `whole` in test: data scored, not trained on."""
    return {"train": whole.subset([]), "val": whole.subset([]), "test": whole}
