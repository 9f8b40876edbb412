import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, f1_score

from shared.stats.bootstrap import intervals, percentile_interval, resample_weights, span
from tasks.classification.metrics import resampled_scores as classification_scores
from tasks.segmentation.metrics import resampled_scores as segmentation_scores, scores_from_confusion


def test_accuracy_interval_agrees_with_the_exact_binomial_interval():
    labels = np.zeros(200, np.int64)
    predicted = np.r_[np.zeros(170, np.int64), np.ones(30, np.int64)]  # accuracy 0.85
    found = intervals(classification_scores(labels, predicted, ["a", "b"]), 200, resamples=4000)["accuracy"]
    exact = binomtest(170, 200).proportion_ci(0.95, method="exact")
    assert abs(found[0] - exact.low) < 0.02 and abs(found[1] - exact.high) < 0.02, (found, exact)
    assert found[0] < 0.85 < found[1]


def test_weights_are_seeded_draws_of_every_image():
    weights = resample_weights(50, resamples=30, seed=3)
    assert weights.shape == (30, 50) and (weights.sum(1) == 50).all()
    np.testing.assert_array_equal(weights, resample_weights(50, resamples=30, seed=3))
    assert not np.array_equal(weights, resample_weights(50, resamples=30, seed=4))
    assert percentile_interval([np.nan, np.nan]) != percentile_interval([np.nan, np.nan])  # (nan, nan)
    assert span((0.8412, 0.96)) == "0.84-0.96" and span((np.nan, 1.0)) == "-"


def test_classification_resample_of_every_image_once_is_scikit_learns_figure():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 90)
    predicted = np.where(rng.random(90) < 0.7, labels, rng.integers(0, 4, 90))
    predicted[predicted == 3] = 2  # class 3 never predicted: F1 0, as scikit-learn says
    score = classification_scores(labels, predicted, list("abcd"))(np.ones((1, 90)))
    assert np.isclose(score["accuracy"][0], accuracy_score(labels, predicted))
    assert np.isclose(score["macro F1"][0], f1_score(labels, predicted, average="macro", zero_division=0))
    assert np.isclose(score["recall: a"][0], ((predicted == 0) & (labels == 0)).sum() / (labels == 0).sum())


def test_segmentation_resample_of_every_image_once_is_the_split_figure():
    rng = np.random.default_rng(1)
    per_image = rng.integers(0, 50, (7, 3, 3))
    per_image[:, 2, :] = 0
    per_image[:, :, 2] = 0  # class 2 absent from truth and prediction: left out of the mean
    names = ["x", "y", "z"]
    score = segmentation_scores(per_image, names)(np.ones((1, 7)))
    expected = scores_from_confusion(per_image.sum(0), names)
    assert np.isclose(score["mean IoU"][0], expected["mean_iou"])
    assert np.isclose(score["pixel accuracy"][0], expected["pixel_accuracy"])
    assert np.isclose(score["mean Dice"][0], expected["mean_dice"])
    assert np.isnan(score["IoU: z"][0])
    doubled = np.ones((1, 7))
    doubled[0, 0] = 2
    assert np.isclose(segmentation_scores(per_image, names)(doubled)["mean IoU"][0],
                      scores_from_confusion(per_image.sum(0) + per_image[0], names)["mean_iou"])


def test_a_perfect_score_keeps_an_honest_interval():
    from tasks.classification.metrics import exact_intervals

    labels = np.arange(412) % 10
    found = exact_intervals(labels, labels, [str(k) for k in range(10)])
    assert np.isclose(found["accuracy"][0], 0.025 ** (1 / 412), atol=1e-4) and found["accuracy"][1] == 1.0
    boot = intervals(classification_scores(labels, labels, [str(k) for k in range(10)]), 412)["accuracy"]
    assert boot == (1.0, 1.0)  # what the bootstrap alone would say
