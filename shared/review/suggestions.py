"""What every task's `suggest` shares: the unlabelled pool, the choice (uncertain and diverse), and the output
folder written whole (pre-labels under `data/`, the report beside them) or not at all."""

import os

import numpy as np

from shared.data.imageset import ImageSet
from shared.errors import fail
from shared.io import atomic_path, write_text
from shared.review.embed import embed
from shared.review.select import diverse_uncertain

MARKER = ".trident-suggest"


def check_output(folder):
    """Refuse to replace a folder `suggest` did not write (a re-run replaces its own suggestions whole)."""
    if os.path.exists(folder) and (not os.path.isdir(folder) or (
            os.listdir(folder) and not os.path.isfile(os.path.join(folder, MARKER)))):
        fail(f"--output {folder} exists and was not written by `suggest`", "Give a new folder (or an earlier "
             "suggest output, which is replaced)", output=folder)


def unlabelled_pool(paths):
    """The readable images of `paths` as an `ImageSet` (the unreadable ones in its `skipped`, with why)."""
    return ImageSet(labels=np.zeros(len(paths), np.int32), class_names=[], paths=list(paths)).check()


def choose(pool, uncertainty, count):
    """Indices into `pool` of `count` images: uncertain ones, thinned by their ImageNet features
    (`shared.review.select.diverse_uncertain`)."""
    return diverse_uncertain(uncertainty, embed(pool), count)


def copy_name(rank, path):
    """The name a suggested image is copied under: its rank first, so the list keeps its order in a file browser."""
    return f"{rank:04d}_{os.path.basename(path)}"


def write_suggestions(output, write_prelabels, make_report):
    """Write `output` whole: the marker, `write_prelabels(data folder)` into `output/data`, then `make_report()`'s
    report beside it; on any failure nothing is left (an earlier suggest output stays). Returns the report's
    HTML path."""
    with atomic_path(output) as tmp:
        os.makedirs(tmp)
        write_text(os.path.join(tmp, MARKER), "suggestions written by `trident suggest`; a re-run replaces them\n")
        os.makedirs(os.path.join(tmp, "data"))
        write_prelabels(os.path.join(tmp, "data"))
        written = make_report().write(tmp)
    return os.path.join(output, os.path.basename(written["html"]))


def suggestions_report(run, rows, pool, offered, how, columns, cells, drawn):
    """The report every task's `suggest` writes: headline, how the images were chosen (`how`), the table of `rows`
    (rank, image, then `columns` filled by `cells(row)`), the first 48 drawn by `drawn(row, image) ->
    (picture, caption)`, and the unreadable images left out."""
    from shared.reports import FileLink, Report
    from shared.reports.plots import image_grid

    report = Report(f"Images to label next: {os.path.basename(run.path)}",
                    subtitle=f"{len(rows)} of {offered} unlabelled images, pre-labelled by the run's model")
    report.headline({"suggested": len(rows), "offered": offered, "unreadable": len(pool.skipped),
                     "mean uncertainty of the suggested": float(np.mean([r["uncertainty"] for r in rows]))
                     if rows else 0.0})
    report.record("suggestions", rows)
    report.text("How they were chosen", how)
    if rows:
        report.table("Suggestions, in order", ["rank", "image", *columns],
                     [[rank, FileLink(r["path"]), *cells(r)] for rank, r in enumerate(rows, start=1)])
        index = {path: i for i, path in enumerate(pool.paths)}
        pictures = [drawn(r, pool.image(index[r["path"]])) for r in rows[:48]]
        report.figure("The suggestions with their pre-labels", image_grid(
            [p for p, _ in pictures], [f"#{k} {caption}" for k, (_, caption) in enumerate(pictures, start=1)],
            columns=4, cell=220), "suggestions")
    if pool.skipped:
        report.table("Unreadable images, left out", ["file", "reason"], [[p, why] for p, why in pool.skipped])
    return report


CHOICE = ("Among them, each next pick is the one farthest, in an ImageNet network's features, from those already "
          "picked, weighted by its uncertainty, so near-copies do not fill the list. ")
