"""Inspect a data set before training on it: what is there, and what is wrong with it.

`inspect_files` looks at every image file of every split (header, true format, content
hash) and finds what users' data really holds: files whose content does not match their
extension, undecodable or truncated files, exact duplicates within a split, across splits
(test images leaking into training) and with conflicting labels, paths outside the data
folder, classes with very few examples. Task modules add their own sections (boxes,
masks). Findings are `problems` (errors: `inspect` exits non-zero) or `warnings`.
"""

import collections
import concurrent.futures
import hashlib
import os

import numpy as np
from PIL import Image

from shared.data.images import ORIENTATION_TAG
from shared.data.profile import GRAY_MODES
from shared.paths import inside

FORMAT_EXTENSIONS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "BMP": (".bmp",), "GIF": (".gif",)}
BIT_DEPTH = {"1": 1, "L": 8, "P": 8, "RGB": 8, "RGBA": 8, "CMYK": 8, "LA": 8, "I;16": 16, "I;16B": 16,
             "I;16L": 16, "I": 32, "F": 32}
# A class with fewer training examples than this is flagged (a CSV typo makes a class of one).
FEW_EXAMPLES = 5


def _look(path):
    """Header facts and a content hash of one file (the readers have fully decoded it already)."""
    entry = {"path": path}
    try:
        with open(path, "rb") as f:
            content = f.read()
        entry["sha1"] = hashlib.sha1(content).hexdigest()
        entry["bytes"] = len(content)
        with Image.open(path) as image:
            entry.update(format=image.format, mode=image.mode, width=image.width, height=image.height)
            if image.format == "JPEG" and image.getexif().get(ORIENTATION_TAG, 1) != 1:
                entry["orientation"] = image.getexif().get(ORIENTATION_TAG)
    except Exception as error:  # PIL raises many types for broken files
        entry["error"] = f"{type(error).__name__}: {error}"
    return entry


def _rel(path, root):
    return os.path.relpath(path, root) if root else path


def inspect_files(splits, root=None, labels_of=None, skipped=()):
    """Look at every image file of `splits` (`{name: set with .paths}`).

    Args:
        root: str, the data folder paths are expected to stay in (None: not checked).
        labels_of: callable `(set, index) -> hashable label` for conflicting-label duplicates
            (classification), or None.
        skipped: `(path, reason)` pairs the readers left out as undecodable.

    Returns:
        dict with `files` (one entry per file), `sections` (name -> rows) and the
        `problems` and `warnings` lists (strings).
    """
    problems, warnings = [], []
    items = [(split, i, part.paths[i]) for split, part in splits.items() if getattr(part, "paths", None)
             for i in range(len(part))]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        looked = list(pool.map(_look, [path for _, _, path in items]))
    mismatched, outside = [], []
    for (split, i, path), entry in zip(items, looked):
        entry["split"] = split
        if labels_of is not None:
            entry["label"] = labels_of(splits[split], i)
        ext = os.path.splitext(path)[1].lower()
        if entry.get("format") in FORMAT_EXTENSIONS and ext not in FORMAT_EXTENSIONS[entry["format"]]:
            mismatched.append([_rel(path, root), ext, entry["format"]])
        if root and not inside(path, root):
            outside.append(path)
    broken = [[_rel(e["path"], root), e["error"]] for e in looked if "error" in e]
    broken += [[_rel(path, root), reason] for path, reason in skipped if path not in {e["path"] for e in looked}]
    if broken:
        problems.append(f"{len(broken)} file(s) cannot be decoded (first: {broken[0][0]}); training leaves them out")
    if mismatched:
        warnings.append(f"{len(mismatched)} file(s) hold a different format than their extension says "
                        f"(first: {mismatched[0][0]} is {mismatched[0][2]}); they are read by content")
    turned = [[_rel(e["path"], root), e["orientation"]] for e in looked if "orientation" in e]
    if turned:
        warnings.append(f"{len(turned)} photo(s) carry an EXIF orientation (first: {turned[0][0]}); every action turns "
                        f"them upright as a photo viewer does, and their boxes or masks must be drawn that way")
    if outside:
        problems.append(f"{len(outside)} path(s) lead outside the data folder {root} (first: {outside[0]})")
    duplicates = _duplicates(looked, root, problems, warnings)
    return {"files": looked, "problems": problems, "warnings": warnings,
            "sections": {"undecodable": broken, "format_mismatch": mismatched, "outside": outside,
                         "exif_turned": turned, **duplicates}}


def _duplicates(looked, root, problems, warnings):
    groups = collections.defaultdict(list)
    for entry in looked:
        if "sha1" in entry:
            groups[entry["sha1"]].append(entry)
    within, across, conflicting = [], [], []
    for entries in groups.values():
        if len(entries) < 2:
            continue
        names = [f"{e['split']}:{_rel(e['path'], root)}" for e in entries]
        splits = {e["split"] for e in entries}
        labels = {e.get("label") for e in entries}
        if len(labels) > 1:
            conflicting.append([", ".join(names), ", ".join(sorted(map(str, labels)))])
        if len(splits) > 1:
            across.append([", ".join(names)])
        else:
            within.append([", ".join(names)])
    if across:
        problems.append(f"{len(across)} image(s) appear in more than one split (test or val images leak into "
                        f"training; first: {across[0][0]})")
    if conflicting:
        problems.append(f"{len(conflicting)} identical image(s) carry different labels (first: {conflicting[0][0]})")
    if within:
        warnings.append(f"{len(within)} group(s) of identical images within a split (first: {within[0][0]})")
    return {"duplicates_within": within, "duplicates_across": across, "conflicting_labels": conflicting}


def image_stats(files):
    """Sizes, aspect ratios, modes and bit depths of the decodable files."""
    ok = [e for e in files if "width" in e]
    if not ok:
        return {}
    widths, heights = np.array([e["width"] for e in ok]), np.array([e["height"] for e in ok])
    modes = collections.Counter(e["mode"] for e in ok)
    return {
        "images": len(ok),
        "distinct_sizes": len({(e["width"], e["height"]) for e in ok}),
        "width": {"min": int(widths.min()), "median": float(np.median(widths)), "max": int(widths.max())},
        "height": {"min": int(heights.min()), "median": float(np.median(heights)), "max": int(heights.max())},
        "aspect_median": float(np.median(widths / heights)),
        "modes": dict(modes),
        "grayscale": int(sum(n for m, n in modes.items() if m in GRAY_MODES)),
        "bit_depths": dict(collections.Counter(BIT_DEPTH.get(e["mode"], 8) for e in ok)),
        "formats": dict(collections.Counter(e["format"] for e in ok)),
    }


def class_counts(splits, class_names, per_image_labels):
    """Rows `[class, count per split...]` and the classes with too few training examples."""
    counts = {split: collections.Counter() for split in splits}
    for split, part in splits.items():
        for i in range(len(part)):
            counts[split].update(per_image_labels(part, i))
    rows = [[name] + [counts[s][k] for s in splits] for k, name in enumerate(class_names)]
    few = [name for k, name in enumerate(class_names) if counts.get("train", collections.Counter())[k] < FEW_EXAMPLES]
    return rows, few
