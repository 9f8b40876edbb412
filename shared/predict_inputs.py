"""Inputs for `predict`: image files and folders, and the model a path names."""

import os
import sys

from shared.data.images import is_image_file, read_image
from shared.errors import TridentError, fail


def expand_images(items):
    """Image files from a list of files and folders (folders searched recursively, sorted)."""
    paths = []
    for item in items:
        if os.path.isdir(item):
            for folder, _, files in sorted(os.walk(item)):
                paths += [os.path.join(folder, f) for f in sorted(files) if is_image_file(f)]
        elif os.path.isfile(item):
            paths.append(item)
        else:
            fail(f"Image {item} does not exist", "Check the path", image=item)
    if not paths:
        fail("No images to predict on", "Pass image files or folders holding JPEG/PNG/BMP/GIF images", images=items)
    return paths


def model_kind(path):
    """`"run"` for a run folder, `"saved_model"` for an export (or a folder of versions)."""
    if os.path.isfile(os.path.join(path, "config.yaml")):
        return "run"
    if os.path.isfile(os.path.join(path, "saved_model.pb")) or (
            os.path.isdir(path) and any(d.isdigit() for d in os.listdir(path))):
        return "saved_model"
    fail(f"{path} is neither a run folder nor an exported SavedModel",
         "Pass runs/<name> from `train` or saved_models/<name>[/<version>] from `export`", model=path)


def for_each_image(paths, handle):
    """Call `handle(path, uint8 image)` for every readable image and collect its results.

    An unreadable file is reported and skipped so the others still get predictions;
    at the end, a `TridentError` lists the files that failed.
    """
    results, failed = [], []
    for path in paths:
        try:
            image = read_image(path)
        except TridentError as error:
            print(f"{path}: skipped: {error}", file=sys.stderr)
            failed.append(path)
            continue
        results.append(handle(path, image))
    return results, failed


def report_failures(failed, total):
    if failed:
        fail(f"{len(failed)} of {total} image(s) could not be read: {', '.join(failed[:5])}",
             "Replace or remove those files", failed=len(failed))
