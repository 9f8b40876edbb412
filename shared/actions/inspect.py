"""The `inspect` action every task shares: read the data as training would, report on it.

    trident classification inspect --data photos/
    trident detection inspect --data annotations.json --images imgs/ --max-boxes 100
    trident segmentation inspect --data set.yaml --output report/

Writes report.{json,md,html} (default: runs/inspect/<task>-<data>) and exits with status 1
when it finds problems. The task (`shared.task.Task`) supplies how its data is read, the
labels of one item (for counts and conflicting duplicates) and its own sections (boxes,
masks). Training runs the same inspection and keeps the report in its run folder.
"""

import argparse
import os

import numpy as np

from shared.config import fraction
from shared.data.files import outside_allowed
from shared.data.inspection import class_counts, image_stats, inspect_files
from shared.data.recorded import data_root
from shared.errors import TridentError
from shared.reports.plots import plt  # pyplot on the file-only backend
from shared.reports.report import Report
from shared.engine.runs import slug


def _figures(report, stats, files):

    ok = [e for e in files if "width" in e]
    if not ok:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].scatter([e["width"] for e in ok], [e["height"] for e in ok], s=8, alpha=0.5)
    axes[0].set_xlabel("width (px)")
    axes[0].set_ylabel("height (px)")
    axes[0].set_title(f"{stats['distinct_sizes']} distinct sizes")
    axes[1].hist([e["width"] / e["height"] for e in ok], bins=30, color="#4c72b0")
    axes[1].set_xlabel("aspect ratio (width / height)")
    axes[1].set_title("aspect ratios")
    report.figure("Image sizes", fig, "sizes")


def _count_figure(report, rows, split_names):

    if not rows:
        return
    fig, ax = plt.subplots(figsize=(min(14, 3 + 0.5 * len(rows)), 3.6))
    x = np.arange(len(rows))
    width = 0.8 / max(1, len(split_names))
    for j, split in enumerate(split_names):
        ax.bar(x + j * width, [row[j + 1] for row in rows], width, label=split)
    ax.set_xticks(x + 0.4 - width / 2, [row[0] for row in rows], rotation=45 if len(rows) > 8 else 0, ha="right")
    ax.set_ylabel("count")
    ax.legend()
    report.figure("Examples per class and split", fig, "classes")


def get_args_parser(task):
    """The flags of every task's `inspect` (the data and how `train` would split it), then the task's own."""
    parser = argparse.ArgumentParser(f"trident {task.name} inspect", description=task.description(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="built-in name, a folder, a CSV, a COCO JSON or a dataset YAML")
    if task.coco_images:
        parser.add_argument("--images", help="image folder for a COCO JSON given as --data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=fraction, default=0.1)
    parser.add_argument("--test-fraction", type=fraction, default=0.2)
    parser.add_argument("--output", help="folder for the report (default: runs/inspect/<task>-<data>)")
    parser.add_argument("--allow-outside-data", action="store_true",
                        help="read images a CSV or COCO JSON names outside its own folder (as train's flag)")
    task.add_arguments(parser, "inspect")
    return parser


def main(task, argv=None):
    options = vars(get_args_parser(task).parse_args(argv))
    labels, extra = task.inspect_sections(options)
    with outside_allowed(options["allow_outside_data"]):
        paths, findings = inspect_data(
            task, options["data"], lambda data: task.read(data, options["seed"], options["val_fraction"],
                                                          options["test_fraction"], options.get("images")),
            labels, extra, output=options["output"])
    return print_findings(paths, findings)


def build_report(task, spec, splits, info, per_item_labels, extra=None):
    """Inspect loaded `splits` and return `(report, findings)`.

    Args:
        per_item_labels: callable `(set, index) -> list of class ids` of one item.
        extra: callable `(report, splits, info, findings)` adding the task's own sections.
    """
    root = data_root(spec)
    single = lambda part, i: tuple(sorted(set(per_item_labels(part, i))))  # noqa: E731
    findings = inspect_files(splits, root, single if task.single_label else None,
                             [tuple(s) for s in info.get("skipped", [])])
    names = info["class_names"]
    report = Report(f"Data set: {spec}", f"{task.name}; {info['split']}")
    split_names = [s for s in splits if len(splits[s])]
    rows, few = class_counts({s: splits[s] for s in split_names}, names, per_item_labels)
    if len(names) < 2 and not task.one_class_ok:
        findings["problems"].append(f"only one class ({names[0] if names else 'none'}): nothing to tell apart")
    if few:
        findings["warnings"].append(f"{len(few)} class(es) with fewer than 5 training examples: {', '.join(few[:10])}"
                                    " (a typo in a label makes a class of one)")
    stats = image_stats(findings["files"])
    if stats:
        median = max(stats["width"]["median"], stats["height"]["median"])
        large = [os.path.relpath(e["path"], root) if root else e["path"] for e in findings["files"]
                 if "width" in e and max(e["width"], e["height"]) > 4 * median]
        if large:
            findings["warnings"].append(f"{len(large)} image(s) more than 4 times larger than the median "
                                        f"({median:.0f} px; first: {large[0]}); they are shrunk to the training size")
    cards = {"images": sum(len(splits[s]) for s in split_names), "classes": len(names),
             "problems": len(findings["problems"]), "warnings": len(findings["warnings"])}
    cards.update({f"{s} images": len(splits[s]) for s in split_names})
    report.headline(cards)
    findings_rows = [["problem", p] for p in findings["problems"]] + [["warning", w] for w in findings["warnings"]]
    report.table("Findings", ["kind", "finding"], findings_rows or [["-", "nothing wrong found"]],
                 note="Problems make `inspect` exit with status 1; warnings do not.")
    report.table(task.counts_title, ["class"] + split_names, rows)
    _count_figure(report, rows, split_names)
    if stats:
        report.table("Images", ["measure", "value"], [
            ["decodable images", stats["images"]], ["distinct sizes", stats["distinct_sizes"]],
            ["width min / median / max", "{min} / {median:.0f} / {max}".format(**stats["width"])],
            ["height min / median / max", "{min} / {median:.0f} / {max}".format(**stats["height"])],
            ["median aspect (w/h)", stats["aspect_median"]], ["modes", _counts(stats["modes"])],
            ["bit depths", _counts(stats["bit_depths"])], ["formats", _counts(stats["formats"])]])
        _figures(report, stats, findings["files"])
    for key, title, headers in (("undecodable", "Files that cannot be decoded", ["file", "reason"]),
                                ("format_mismatch", "Content does not match the extension",
                                 ["file", "extension", "content"]),
                                ("duplicates_across", "Identical images in more than one split", ["files"]),
                                ("conflicting_labels", "Identical images with different labels", ["files", "labels"]),
                                ("duplicates_within", "Identical images within a split", ["files"]),
                                ("exif_turned", "Photos turned upright by their EXIF orientation",
                                 ["file", "EXIF orientation"])):
        rows_ = findings["sections"][key]
        if rows_:
            report.table(title, headers, rows_[:50], note=f"{len(rows_)} in all" if len(rows_) > 50 else None)
    if extra is not None:
        extra(report, splits, info, findings)
    report.record("findings", {"problems": findings["problems"], "warnings": findings["warnings"],
                               **{k: v for k, v in findings["sections"].items()}})
    report.record("images", stats)
    report.record("counts", {"per_class": {row[0]: dict(zip(split_names, row[1:])) for row in rows},
                             "per_split": {s: len(splits[s]) for s in splits}})
    return report, findings


def _counts(counter):
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))


def inspect_data(task, spec, load, per_item_labels, extra=None, output=None):
    """Load `spec` as training would, write the dataset report; returns `(paths, findings)`.

    A data set the readers refuse is reported too (the error is the finding).
    """
    output = output or os.path.join("runs", "inspect", f"{task.name}-{slug(spec)}")
    try:
        splits, info = load(spec)
    except TridentError as error:
        report = Report(f"Data set: {spec}", f"{task.name}; the readers refused it")
        report.headline({"problems": 1})
        report.table("Findings", ["kind", "finding"], [["problem", str(error)]])
        report.record("findings", {"problems": [str(error)], "warnings": []})
        return report.write(output), {"problems": [str(error)], "warnings": []}
    report, findings = build_report(task, spec, splits, info, per_item_labels, extra)
    return report.write(output), findings


def print_findings(paths, findings):
    """Print the findings and the report's path; return the exit status (1 on problems)."""
    for problem in findings["problems"]:
        print(f"problem: {problem}")
    for warning in findings["warnings"]:
        print(f"warning: {warning}")
    if not findings["problems"] and not findings["warnings"]:
        print("nothing wrong found")
    print(f"Report: {paths['html']}")
    return 1 if findings["problems"] else 0
