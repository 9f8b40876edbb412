"""`shared.review`: out-of-fold probabilities, cleanlab's suspects, and the choice of images to label next."""

import numpy as np

from shared.review.label_issues import label_issues, out_of_fold_probabilities, precision_recall
from shared.review.select import diverse_uncertain, margin_uncertainty


def test_cleanlab_flags_labels_the_out_of_fold_evidence_contradicts():
    """Two well separated clouds, 5 of 100 labels flipped: the flipped ones are found and few others."""
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], 50)
    features = rng.normal(size=(100, 8)) + truth[:, None] * 4.0
    labels = truth.copy()
    flipped = rng.choice(100, 5, replace=False)
    labels[flipped] = 1 - labels[flipped]
    probabilities, folds = out_of_fold_probabilities(features, labels, classes=3, folds=5)
    assert folds == 5 and probabilities.shape == (100, 3) and np.allclose(probabilities[:, 2], 0)
    ranked, quality = label_issues(labels, probabilities)
    precision, recall = precision_recall(ranked, flipped)
    assert precision == 1.0 and recall >= 0.8  # confident learning's estimate of the noise is a little low
    assert set(np.argsort(quality)[:5]) == set(flipped)  # the flipped labels are the five worst


def test_the_suggestions_are_uncertain_and_not_near_copies():
    """Ten near-copies of the most uncertain image and five distinct uncertain ones: three picks take one
    of the copies and two distinct ones, not three copies."""
    rng = np.random.default_rng(0)
    copies = np.ones((10, 4)) + rng.normal(scale=1e-3, size=(10, 4))
    distinct = rng.normal(size=(5, 4)) * 5
    features = np.concatenate([copies, distinct, rng.normal(size=(20, 4))])
    uncertainty = np.concatenate([np.full(10, 0.99), np.full(5, 0.9), np.full(20, 0.1)])
    picked = diverse_uncertain(uncertainty, features, 3)
    assert picked[0] < 10 and sum(int(i) < 10 for i in picked) == 1 and all(int(i) < 15 for i in picked)
    assert np.allclose(margin_uncertainty([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.6, 0.3, 0.1]]), [1.0, 0.0, 0.7])


def test_detection_uncertainty_is_the_most_doubtful_detection():
    from shared.review.select import detection_uncertainty

    found = detection_uncertainty([[0.95, 0.9], [0.97, 0.5, 0.1], [], [0.3]])
    np.testing.assert_allclose(found, [0.2, 1.0, 0.0, 0.6])
