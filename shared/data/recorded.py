"""The run owns its data: which file is in which split, with its content hash.

Training records every split's files (paths relative to the data folder, SHA-1 of the
content) in the run's `splits.json`. `evaluate` and `export` on the run's own data check
the splits they re-derive against that record and refuse, naming the files, when the data
changed since training (a folder that gained files moves images between splits).
"""

import concurrent.futures
import hashlib
import os

from shared.errors import fail
from shared.io import read_json, write_json


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def check_splits(path, splits, root):
    """Fail, naming files, when `splits` differ from the record at `path` (no record: no check)."""
    if not os.path.isfile(path):
        return
    recorded = read_json(path)["splits"]
    current = split_files({k: v for k, v in splits.items() if k in recorded}, root)
    changes = []
    for name, files in recorded.items():
        before, now = dict(map(tuple, files)), dict(map(tuple, current.get(name, [])))
        changes += [f"{name}: {f} added" for f in sorted(set(now) - set(before))]
        changes += [f"{name}: {f} gone" for f in sorted(set(before) - set(now))]
        changes += [f"{name}: {f} changed content" for f in sorted(set(now) & set(before)) if now[f] != before[f]]
    if changes:
        shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
        fail(f"The data changed since this run was trained ({len(changes)} difference(s) from {path}: {shown})",
             "Restore the data as it was, pass --data to score other data as a whole, or train again with --restart",
             changes=len(changes))
