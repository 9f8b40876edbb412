"""Classification metrics, all from scikit-learn so the figures match the reference."""

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, top_k_accuracy_score

from shared.stats.bootstrap import weighted_counts


def classification_metrics(labels, probabilities, class_names, top_k=(3, 5)):
    """Accuracy, top-k accuracy, per-class precision/recall/F1/support, confusion matrices.

    Args:
        labels: int array `[N]`, true class ids.
        probabilities: float array `[N, C]`.
        class_names: list of C str.
        top_k: the k values to report (those not below C are left out).

    Returns:
        dict: `accuracy`, `top{k}_accuracy`, `per_class` {name: {precision, recall,
        f1, support}}, `macro_avg`, `weighted_avg`, `confusion` and
        `confusion_normalized` (rows: truth, normalised per true class).
    """
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities)
    ids = list(range(len(class_names)))
    predictions = probabilities.argmax(axis=1)
    result = {"images": int(len(labels)), "accuracy": float(accuracy_score(labels, predictions))}
    for k in top_k:
        if k < len(class_names):
            result[f"top{k}_accuracy"] = float(top_k_accuracy_score(labels, probabilities, k=k, labels=ids))
    report = classification_report(labels, predictions, labels=ids, target_names=class_names,
                                   output_dict=True, zero_division=0)
    result["per_class"] = {name: _rename(report[name]) for name in class_names}
    result["macro_avg"] = _rename(report["macro avg"])
    result["weighted_avg"] = _rename(report["weighted avg"])
    matrix = confusion_matrix(labels, predictions, labels=ids)
    result["confusion"] = matrix.tolist()
    totals = matrix.sum(axis=1, keepdims=True)
    result["confusion_normalized"] = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0).tolist()
    return result


def _rename(entry):
    return {"precision": float(entry["precision"]), "recall": float(entry["recall"]),
            "f1": float(entry["f1-score"]), "support": int(entry["support"])}


def worst_errors(labels, probabilities, limit=24):
    """Indices of misclassified images, the most confidently wrong first."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities)
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence)][:limit].tolist()


def resampled_scores(labels, predictions, class_names):
    """`score(weights [R, N]) -> {metric: [R]}` for bootstrap intervals (`shared.stats.bootstrap`): accuracy,
    macro F1 (scikit-learn's: every class, 0 where undefined) and each class's recall ("recall: NAME"; NaN
    where a resample holds none of the class) and F1 ("F1: NAME")."""
    labels, predictions = np.asarray(labels, np.int64), np.asarray(predictions, np.int64)
    size = len(class_names)

    def score(weights):
        truth = weighted_counts(weights, labels, size)
        predicted = weighted_counts(weights, predictions, size)
        right = weighted_counts(weights, labels, size, predictions == labels)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(truth + predicted > 0, 2 * right / (truth + predicted), 0.0)
            recall = np.where(truth > 0, right / truth, np.nan)
            out = {"accuracy": right.sum(1) / truth.sum(1), "macro F1": f1.mean(1)}
        for k, name in enumerate(class_names):
            out[f"recall: {name}"], out[f"F1: {name}"] = recall[:, k], f1[:, k]
        return out

    return score


def exact_intervals(labels, predictions, class_names, level=0.95):
    """Clopper-Pearson intervals of accuracy and each class's recall ("recall: NAME"): counts of images right
    out of images seen, so the exact binomial interval holds; unlike a bootstrap it stays honest when every
    image is right (412 of 412: 0.991-1.000, where every resample says 1.000)."""
    labels, predictions = np.asarray(labels, np.int64), np.asarray(predictions, np.int64)

    def exact(right, seen):
        if seen == 0:
            return float("nan"), float("nan")
        found = binomtest(int(right), int(seen)).proportion_ci(level, method="exact")
        return float(found.low), float(found.high)

    out = {"accuracy": exact((labels == predictions).sum(), len(labels))}
    for k, name in enumerate(class_names):
        out[f"recall: {name}"] = exact(((labels == k) & (predictions == k)).sum(), (labels == k).sum())
    return out
