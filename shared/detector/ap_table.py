"""COCO AP in a report: the headline intervals and the per-class table and bars with their intervals."""

import numpy as np

from shared.reports.plots import per_class_figure
from shared.stats.bootstrap import describe, span


def ap_intervals(coco, prefix=""):
    """The headline cards' intervals (`prefix` + "AP@[.50:.95]", `prefix` + "AP50") of a `coco_evaluate` result."""
    found = coco.get("intervals", {})
    return {f"{prefix}AP@[.50:.95]": found.get("AP"), f"{prefix}AP50": found.get("AP50")}


def add_per_class_ap(report, coco, names, labels, title, box=None):
    """A table of each class's AP and AP50 with their intervals (and `box`'s AP beside a mask AP), then the
    per-class AP bars with error bars. `labels`: per image, the objects' class ids (for the counts)."""
    found = coco.get("intervals", {})
    rows = []
    for k, name in enumerate(names):
        row = [name, coco["per_class_ap"][name], span(found.get(f"AP: {name}", (np.nan, np.nan)), 3),
               coco["per_class_ap50"][name], span(found.get(f"AP50: {name}", (np.nan, np.nan)), 3)]
        if box is not None:
            row.append(box["per_class_ap"][name])
        rows.append(row + [int(sum((np.asarray(lab) == k).sum() for lab in labels))])
    kind = "mask " if box is not None else ""
    headers = ["class", f"{kind}AP@[.50:.95]", "95%", f"{kind}AP50", "95%"] + (["box AP"] if box is not None else [])
    report.table(title, headers + ["objects"], rows, note=f"{describe()}.")
    if found:
        report.figure(f"{kind}AP per class".capitalize(), per_class_figure(
            coco["per_class_ap"], {n: found.get(f"AP: {n}", (np.nan, np.nan)) for n in names},
            f"{kind}AP@[.50:.95]", f"{kind}AP with its 95% interval"), "per_class_ap")
