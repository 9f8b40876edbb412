"""The run owns its data: which file is in which split, with its content hash.

Training records every split's files (paths relative to the data folder, SHA-1 of the
content) in the run's `splits.json`. `evaluate` and `export` on the run's own data read
the splits from that record (`run_splits`): every file of the data is pooled and each split
is rebuilt from the recorded paths, so a folder that gained files keeps its test split
(the new files are in no split, and that is said). A recorded file that is gone or whose
content changed is refused, naming the files.
"""

import concurrent.futures
import dataclasses
import os

import numpy as np

from shared.data.files import outside_allowed
from shared.errors import fail, malformed
from shared.io import RECORD_FIX, file_digest, read_record, write_json


def _sha1(path):
    return file_digest(path, "sha1")


def _rel(path, root):
    return os.path.relpath(path, root) if root else path


def split_files(splits, root, hashes=None):
    """`{split: [[relative path, sha1], ...]}` for the file-backed splits (in-memory ones are left out)."""
    hashes = dict(hashes or {})
    missing = [p for part in splits.values() for p in (getattr(part, "paths", None) or []) if p not in hashes]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        hashes.update(zip(missing, pool.map(_sha1, missing)))
    return {name: [[_rel(p, root), hashes[p]] for p in part.paths]
            for name, part in splits.items() if getattr(part, "paths", None) is not None}


def record_splits(path, splits, root, hashes=None):
    """Write `splits.json`: the data folder and each split's files with their hashes."""
    write_json(path, {"root": root, "splits": split_files(splits, root, hashes)})


def _pool(sets):
    """One set holding every item of `sets` (all of one type, sharing one class table)."""
    first = sets[0]
    fields = {}
    for field in type(first).ITEM_FIELDS:
        values = [getattr(part, field) for part in sets]
        if any(value is None for value in values):
            fields[field] = None
        elif isinstance(values[0], np.ndarray):
            fields[field] = np.concatenate(values)
        else:
            fields[field] = [item for value in values for item in value]
    return dataclasses.replace(first, **fields)


def data_root(spec):
    """The folder a data spec's paths are relative to and should stay in (None for built-in data)."""
    spec = str(spec)
    if os.path.isdir(spec):
        return os.path.abspath(spec)
    if os.path.isfile(spec):
        return os.path.dirname(os.path.abspath(spec))
    return None


def run_splits(run, config, load, other=False):
    """The splits `evaluate` and `export` use: the run's own ones, read from its record.

    Args:
        run: the `Run`; its `splits.json` names each split's files (without one, or for
            built-in data, `load` re-derives the seeded split).
        config: the run's settings (`shared.settings.run_config`): its data and fractions.
        load: function `(val_fraction, test_fraction) -> (splits, info)` reading the data.
        other: True when the data is not the run's own: it is read as it is, no record applies.
    """
    fractions = (config["val_fraction"], config["test_fraction"])
    path, root = run.file("splits.json"), data_root(config["data"])

    def read(*fractions):  # as the run was allowed to read its data
        with outside_allowed(config.get("allow_outside_data")):
            return load(*fractions)

    if other or not os.path.isfile(path):
        return read(*fractions)
    with malformed(path, "Split record", RECORD_FIX):
        recorded = {str(name): [(str(file), str(sha)) for file, sha in files]
                    for name, files in read_record(path, "split record")["splits"].items()}
    if not recorded:  # built-in data: nothing on disk to record, the split is deterministic
        return read(*fractions)
    splits, info = read(0.0, 0.0)
    parts = [part for part in splits.values() if len(part) and getattr(part, "paths", None) is not None]
    if not parts:
        fail(f"The run's data {root} has no image files left, but {path} records {sum(map(len, recorded.values()))}",
             "Restore the data as it was, or train again with --restart")
    pool = _pool(parts)
    where = {_rel(p, root): i for i, p in enumerate(pool.paths)}
    now = dict(sum(split_files({"all": pool}, root).values(), []))
    changes = []
    for name, files in recorded.items():
        changes += [f"{name}: {f} gone" for f, _ in files if f not in now]
        changes += [f"{name}: {f} changed content" for f, sha in files if f in now and now[f] != sha]
    if changes:
        shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
        fail(f"The data changed since this run was trained ({len(changes)} difference(s) from {path}: {shown})",
             "Restore the data as it was, pass --data to score other data as a whole, or train again with --restart",
             changes=len(changes))
    added = sorted(set(now) - {f for files in recorded.values() for f, _ in files})
    if added:
        print(f"{len(added)} file(s) added to the data since training are in no split of this run and are left "
              f"out (e.g. {added[0]}); train again with --restart to use them")
    rebuilt = {name: pool.subset([where[f] for f, _ in recorded.get(name, [])]) for name in ("train", "val", "test")}
    return rebuilt, dict(info, split=f"as recorded in {path}", added_since_training=len(added))
