import numpy as np
from sklearn.metrics import f1_score

from tasks.classification.metrics import classification_metrics, worst_errors


def test_hand_made_case():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.array([
        [0.9, 0.05, 0.05],
        [0.2, 0.7, 0.1],   # wrong: 0 -> 1, confidence 0.7
        [0.1, 0.8, 0.1],
        [0.05, 0.9, 0.05],
        [0.1, 0.1, 0.8],
        [0.6, 0.1, 0.3],   # wrong: 2 -> 0, confidence 0.6
    ])
    result = classification_metrics(labels, probabilities, ["a", "b", "c"], top_k=(2, 5))
    assert result["accuracy"] == 4 / 6
    assert result["top2_accuracy"] == 1.0  # both errors have the truth second
    assert "top5_accuracy" not in result  # k not below the class count
    assert result["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert result["confusion_normalized"][0] == [0.5, 0.5, 0.0]
    assert result["per_class"]["b"] == {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    assert np.isclose(result["macro_avg"]["f1"], f1_score(labels, probabilities.argmax(1), average="macro"))
    assert worst_errors(labels, probabilities) == [1, 5]


def test_absent_class_does_not_crash():
    result = classification_metrics(np.array([0, 0]), np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0]]), ["a", "b", "c"])
    assert result["per_class"]["c"]["support"] == 0 and result["accuracy"] == 1.0
