"""Evaluate a trained classifier and write its report.

    trident classification evaluate --run runs/classification-digits-compact
    trident classification evaluate --run RUN --data other_images/ --split test

Writes report.json, report.md and a self-contained report.html into
RUN/evaluation/<data>-<split>/ and prints where they are.
"""

import argparse
import os

import numpy as np

from shared.config import positive_int
from shared.data.classification import load_classification_data
from shared.data.pipeline import image_dataset
from shared.data.recorded import run_splits
from shared.errors import fail
from shared.reports import Report
from shared.reports.model_stats import model_stats
from shared.reports.plots import confusion_matrix_figure, image_grid_figure, read_log, training_curves_figure
from shared.reports.run_sections import add_run_sections
from shared.runs import is_other_data, open_run, slug
from shared.training import load_checkpoint
from tasks.classification import model as _model  # noqa: F401  (registers ImageClassifier for loading)
from tasks.classification.metrics import classification_metrics, worst_errors


def get_args_parser():
    parser = argparse.ArgumentParser("trident classification evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder written by `train`")
    parser.add_argument("--data", help="data to score (default: the run's own data)")
    parser.add_argument("--split", choices=("train", "val", "test"),
                        help="split to score (default: test, or val when there is no test split)")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--output", help="folder for the report (default: RUN/evaluation/<data>-<split>)")
    return parser


def predict_split(model, imageset, batch_size):
    """`(labels, probabilities)` over an `ImageSet`, labels read back from the pipeline."""
    labels, probabilities = [], []
    for images, batch_labels in image_dataset(imageset, model.image_size, batch_size):
        probabilities.append(np.asarray(model.predict_on_batch(images)))
        labels.append(batch_labels.numpy())
    if not labels:
        return np.zeros((0,), np.int32), np.zeros((0, model.num_classes), np.float32)
    return np.concatenate(labels), np.concatenate(probabilities)


def _align_classes(imageset, model, spec):
    """Map the data's class ids onto the model's, or fail if the data has unknown classes."""
    if list(imageset.class_names) == list(model.class_names):
        return imageset
    unknown = sorted(set(imageset.class_names) - set(model.class_names))
    if unknown:
        fail(f"Data {spec} has classes the model was not trained on: {', '.join(unknown)}",
             f"Evaluate on data whose classes are among: {', '.join(model.class_names)}", data=spec)
    remap = np.array([model.class_names.index(name) for name in imageset.class_names], np.int32)
    imageset.labels = remap[imageset.labels]
    imageset.class_names = list(model.class_names)
    return imageset


def evaluate_run(run, data=None, split=None, output=None, batch_size=32, loaded=None):
    """Score a run's best checkpoint on a split and write the report. Returns report paths."""
    config = run.config()
    checkpoint = run.best_or_last()
    model = load_checkpoint(checkpoint)
    spec = data or config["data"]
    if loaded is not None:  # the splits training already holds in memory
        splits, info = loaded
    else:
        other = is_other_data(data, config)
        splits, info = run_splits(run, lambda val, test: load_classification_data(
            spec, seed=config["seed"], val_fraction=val, test_fraction=test, unsplit_as_test=other), other)
    split = split or ("test" if len(splits["test"]) else "val")
    imageset = _align_classes(splits[split], model, spec)
    if len(imageset) == 0:
        fail(f"Split `{split}` of {spec} has no images", "Choose another --split", split=split)
    labels, probabilities = predict_split(model, imageset, batch_size)
    names = model.class_names
    metrics = classification_metrics(labels, probabilities, names)
    stats = model_stats(model, (model.image_size, model.image_size, 3), checkpoint)

    report = Report(f"Image classification: {os.path.basename(run.path)}",
                    f"data {spec}, split {split} ({len(labels)} images), checkpoint {os.path.basename(checkpoint)}")
    headline = {"accuracy": metrics["accuracy"]}
    headline.update({k: v for k, v in metrics.items() if k.startswith("top")})
    headline.update({"macro F1": metrics["macro_avg"]["f1"], "images": len(labels),
                     "skipped images": len(info["skipped"]), "ms / image": stats["ms_per_image_batch1"],
                     "parameters": stats["parameters"]})
    report.headline(headline)
    report.record("classification", metrics)
    report.record("model", stats)
    report.record("data", {"source": spec, "split": split, "how_split": info["split"], "counts": info["counts"],
                           "skipped": info["skipped"], "fingerprint": info["fingerprint"].get(split)})
    rows = [[name, m["precision"], m["recall"], m["f1"], m["support"]] for name, m in metrics["per_class"].items()]
    for label, key in (("macro avg", "macro_avg"), ("weighted avg", "weighted_avg")):
        m = metrics[key]
        rows.append([label, m["precision"], m["recall"], m["f1"], m["support"]])
    report.table("Per-class precision, recall and F1", ["class", "precision", "recall", "F1", "support"], rows,
                 note="Computed with scikit-learn's classification_report.")
    report.figure("Confusion matrix (counts)", confusion_matrix_figure(metrics["confusion"], names), "confusion")
    report.figure("Confusion matrix (normalised per true class)",
                  confusion_matrix_figure(metrics["confusion_normalized"], names, normalized=True),
                  "confusion_normalized")
    curves = training_curves_figure(read_log(run.file("log.csv")))
    if curves is not None:
        report.figure("Training curves", curves, "training_curves")
    _add_worst_grid(report, imageset, labels, probabilities, names)
    report.table("Model size and speed (this machine, CPU)", ["measure", "value"],
                 [[k, "" if v is None else v] for k, v in stats.items()])
    if info["skipped"]:
        report.table("Skipped files (could not be decoded)", ["file", "reason"], info["skipped"][:50],
                     note=f"{len(info['skipped'])} file(s) in all; they were left out of training and scoring.")
    report.text("Data", f"{info['split']}. Counts: {info['counts']}.")

    folder = output or run.file("evaluation", f"{slug(spec)}-{split}")
    add_run_sections(report, run)
    return report.write(folder), metrics


def _add_worst_grid(report, imageset, labels, probabilities, names, limit=24):
    if len(labels) != len(imageset):  # a file vanished since the scan; indices no longer line up
        return
    worst = worst_errors(labels, probabilities, limit)
    if not worst:
        report.text("Worst misclassified images", "No image in this split is misclassified.")
        return
    images = [imageset.image(i) for i in worst]
    captions = [f"true {names[labels[i]]}\npred {names[probabilities[i].argmax()]} ({probabilities[i].max():.2f})"
                for i in worst]
    report.figure("Worst misclassified images (most confident errors first)",
                  image_grid_figure(images, captions, colors=["#b00020"] * len(images)), "worst_errors")


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    run = open_run(args.run)
    paths, metrics = evaluate_run(run, args.data, args.split, args.output, args.batch_size)
    print(f"accuracy {metrics['accuracy']:.4f} on {metrics['images']} images")
    print(f"Report: {paths['html']}")
    return paths


if __name__ == "__main__":
    main()
