"""Classification metrics, all from scikit-learn so the figures match the reference."""

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, top_k_accuracy_score


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
