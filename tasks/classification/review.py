"""Classification's label review: images whose given class the out-of-sample evidence confidently contradicts."""

import os
import time

import numpy as np

from shared.actions.review import recorded_splits
from shared.reports import FileLink, Report
from shared.reports.plots import image_grid
from shared.review.embed import EMBED_SIZE, embed, embedding_model
from shared.review.label_issues import by_pair, label_issues, out_of_fold_probabilities

PARTS = ("train", "val", "test")


def review(task, run, options):
    """`(report, suspects)`: every labelled image of the run's recorded splits, its out-of-fold probabilities
    on ImageNet features (`shared.review`), cleanlab's suspects ranked, each with the class the evidence
    prefers."""
    started = time.perf_counter()
    splits = recorded_splits(task, run)
    parts = [(name, splits[name]) for name in PARTS if len(splits.get(name, ()))]
    names = list(parts[0][1].class_names)
    model = embedding_model()
    features = np.concatenate([embed(part, model=model) for _, part in parts])
    labels = np.concatenate([part.labels for _, part in parts]).astype(np.int64)
    where = [(name, part, i) for name, part in parts for i in range(len(part))]
    embedded = time.perf_counter() - started
    probabilities, folds = out_of_fold_probabilities(features, labels, len(names), options["folds"],
                                                     options["seed"])
    ranked, quality = label_issues(labels, probabilities)
    suspects = []
    for index in ranked:
        split, part, i = where[index]
        suggested = int(probabilities[index].argmax())
        suspects.append({"index": int(index), "path": part.location(i), "split": split,
                         "given": names[labels[index]], "suggested": names[suggested],
                         "confidence": float(probabilities[index, suggested]),
                         "given_probability": float(probabilities[index, labels[index]]),
                         "label_quality": float(quality[index])})
    seconds = {"embedding_seconds": round(embedded, 2), "total_seconds": round(time.perf_counter() - started, 2)}
    report = _report(run, names, labels, probabilities, suspects, where, options, folds, seconds)
    return report, suspects


def _report(run, names, labels, probabilities, suspects, where, options, folds, seconds):
    agreement = float((probabilities.argmax(1) == labels).mean())
    report = Report(f"Label review: {os.path.basename(run.path)}",
                    subtitle=f"{len(labels)} labelled images of the run's train, val and test splits")
    report.headline({"images reviewed": len(labels), "suspected label errors": len(suspects),
                     "share suspected": len(suspects) / max(1, len(labels)),
                     "out-of-fold agreement with the labels": agreement})
    report.record("reviewed", len(labels))
    report.record("suspects", suspects)
    report.record("method", {"features": f"ImageNet EfficientNet-Lite0, pooled, at {EMBED_SIZE} px",
                             "probabilities": f"logistic regression, {folds}-fold out-of-fold, seed {options['seed']}",
                             "suspects": "cleanlab find_label_issues (prune by noise rate), ranked by self-confidence",
                             **seconds})
    report.text("How the suspects were found", (
        f"Each image's class probabilities come from a logistic regression that never saw it ({folds} folds, "
        f"seed {options['seed']}), on features of an ImageNet network that never saw these labels either, so a "
        "wrong label cannot vouch for itself. cleanlab's confident learning flags an image when the evidence "
        "for another class clears that class's own confidence threshold; suspects are ranked by the "
        "probability the evidence gives the given label (lowest first). A suspect is a question, not a "
        f"verdict: look at the image. Took {seconds['total_seconds']:.1f} s."))
    if not suspects:
        report.text("Suspected label errors", "None: the evidence agrees with every given label.")
        return report
    report.table("Suspected label errors, most doubtful first", [
        "rank", "image", "split", "given", "evidence says", "confidence", "given label's probability"],
        [[rank, FileLink(row["path"]), row["split"], row["given"], row["suggested"], row["confidence"],
          row["given_probability"]] for rank, row in enumerate(suspects, start=1)])
    shown = suspects[:options["show"]]
    images = [where[row["index"]][1].image(where[row["index"]][2]) for row in shown]
    captions = [f"#{rank} given {row['given']}\nsays {row['suggested']} ({row['confidence']:.2f})"
                for rank, row in enumerate(shown, start=1)]
    report.figure(f"The {len(shown)} most doubtful labels: given label, then what the evidence says",
                  image_grid(images, captions, colors=["#b00020"] * len(images)), "suspects")
    report.table("Suspects by given class and suggested class", ["given", "evidence says", "suspects"],
                 by_pair(suspects))
    return report
