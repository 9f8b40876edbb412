"""The one policy every task's reader ends with: check the files, split, and describe what was read.

A task's reader turns `--data` into named parts (`train`, `val`, `test`, or `all` for data
with no splits of its own) of its `ItemSet`s; `settle_splits` does the rest the same way for
every task.
"""

import os

from shared.data.dataset_yaml import SPLITS, WHOLE_AS_TEST, load_dataset_yaml, random_split, whole_as_test
from shared.errors import fail


def random_subsets(whole, val_fraction, test_fraction, seed):
    """`{train, val, test}` subsets of `whole`, a seeded random split."""
    return {name: whole.subset(index) for name, index in
            random_split(len(whole), val_fraction, test_fraction, seed).items()}


def read_parts(spec, read_any, images_dir=None, builtins="shapes"):
    """`(parts, how)` of `--data` given as a dataset YAML, a folder with train/ (val/, test/) sub-folders,
    or one set of the task's own format, each read by `read_any(target, class names or None, images_dir)`;
    later parts must have the first one's classes (`read_any` checks them). `builtins` names the task's
    built-in data in the error for a path that does not exist."""
    if not os.path.isdir(spec) and spec.lower().endswith((".yaml", ".yml")):
        _, targets, names = load_dataset_yaml(spec)
        parts = {}
        for split, target in targets.items():
            parts[split] = read_any(target, names, images_dir)
            names = names or parts[split].class_names
        return parts, "splits named in the dataset YAML"
    if os.path.isdir(os.path.join(spec, "train")):
        parts, names = {}, None
        for split in SPLITS:
            if os.path.isdir(os.path.join(spec, split)):
                parts[split] = read_any(os.path.join(spec, split), names, images_dir)
                names = parts[split].class_names
        return parts, "the data's own train/val/test"
    if os.path.exists(spec):
        return {"all": read_any(spec, None, images_dir)}, "from one set"
    fail(f"Data {spec} is neither a built-in data set ({builtins}) nor an existing file or folder",
         "Check the --data path", data=spec)


def settle_splits(spec, parts, how, split=random_subsets, seed=0, val_fraction=0.1, test_fraction=0.2,
                  unsplit_as_test=False, method="random"):
    """`(splits, info)` from the parts a reader read from `spec`.

    Every part's files are checked (undecodable ones skipped and listed); data with no splits of its
    own is split by `split(whole, val_fraction, test_fraction, seed)` (or, with `unsplit_as_test`, all
    of it becomes the test split, as `evaluate --data` scores data the model was not trained on); a
    missing val split comes off train; a missing test split is empty. `how` says where the splits
    came from; `method` names the seeded split in it.
    """
    skipped = []
    for part in parts.values():
        skipped += part.check().skipped
    splits = dict(parts)
    if "all" in splits or "train" not in splits:
        whole = splits.pop("all") if "all" in splits else splits[next(iter(splits))]
        if len(whole) == 0:
            fail(f"Data {spec} holds no readable images", "Add images", data=spec)
        if unsplit_as_test:
            splits, how = whole_as_test(whole), WHOLE_AS_TEST
        else:
            splits = split(whole, val_fraction, test_fraction, seed)
            how = f"seeded {method} split (seed {seed}, val {val_fraction}, test {test_fraction})"
    if "val" not in splits:
        carved = split(splits["train"], val_fraction, 0.0, seed)
        splits["train"], splits["val"] = carved["train"], carved["val"]
        how += f"; val split off train (seed {seed}, fraction {val_fraction})"
    splits.setdefault("test", splits["val"].subset([]))
    if len(splits["train"]) == 0 and not unsplit_as_test:
        fail(f"Data {spec} has no training images", "Add images to the train split", data=spec)
    info = {"data": spec, "split": how, "class_names": splits["train"].class_names,
            "counts": {name: len(part) for name, part in splits.items()},
            "skipped": [list(item) for item in skipped],
            "fingerprint": {name: part.fingerprint() for name, part in splits.items()}}
    return splits, info
