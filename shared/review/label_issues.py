"""Labels the evidence contradicts: out-of-fold class probabilities, ranked by cleanlab.

Each image's probabilities come from a classifier that never saw it (a logistic regression on
ImageNet features, trained on the other folds), so a wrong label cannot vouch for itself;
cleanlab's confident learning then flags the images whose given label is less likely than its
class's own confidence threshold allows, ranked by how little the evidence supports the label.
"""

import numpy as np


def out_of_fold_probabilities(features, labels, classes, folds=5, seed=0):
    """`float [N, classes]`: each item's class probabilities from a standardised logistic regression fitted on
    the other folds (stratified, seeded). Folds shrink to the smallest class's count (at least 2)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels, np.int64)
    present = np.unique(labels)
    counts = np.bincount(labels)[present]
    folds = int(max(2, min(folds, counts.min())))
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    found = cross_val_predict(probe, features, labels, method="predict_proba",
                              cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    probabilities = np.zeros((len(labels), classes), np.float64)
    probabilities[:, present] = found
    return probabilities, folds


def label_issues(labels, probabilities):
    """`(ranked indices of suspected label errors, label quality per item)` by cleanlab: confident learning
    (prune by noise rate) for the suspects, ranked by self-confidence, the probability of the given label."""
    import cleanlab.filter
    import cleanlab.rank

    labels = np.asarray(labels, np.int64)
    present = np.unique(labels)
    if len(present) < 2:
        return np.zeros(0, np.int64), np.ones(len(labels))
    dense = np.searchsorted(present, labels)  # cleanlab wants every class 0..K-1 present
    probabilities = probabilities[:, present]
    probabilities = probabilities / np.clip(probabilities.sum(1, keepdims=True), 1e-12, None)
    ranked = cleanlab.filter.find_label_issues(dense, probabilities, return_indices_ranked_by="self_confidence")
    quality = cleanlab.rank.get_label_quality_scores(dense, probabilities, method="self_confidence")
    return np.asarray(ranked, np.int64), np.asarray(quality, np.float64)


def precision_recall(flagged, planted):
    """`(precision, recall)` of the flagged items against the ones known wrong (sets of indices)."""
    flagged, planted = set(map(int, flagged)), set(map(int, planted))
    hits = len(flagged & planted)
    return (hits / len(flagged) if flagged else 1.0), (hits / len(planted) if planted else 1.0)


def by_pair(suspects):
    """`[given, suggested, count]` rows of the suspects per pair of given and suggested label, commonest first."""
    counts = {}
    for row in suspects:
        counts[(row["given"], row["suggested"])] = counts.get((row["given"], row["suggested"]), 0) + 1
    return [[given, said, count] for (given, said), count in sorted(counts.items(), key=lambda kv: -kv[1])]


def split_note(suspects, learned, seconds):
    """The review report's closing sentences: train suspects are in-sample (the run's model `learned` their labels,
    e.g. "the detector learned their boxes"), the count per split, what a suspect is, and the time taken."""
    per_split = {name: sum(row["split"] == name for row in suspects) for name in ("train", "val", "test")}
    return (f"The val and test images are out-of-sample; the train images are not ({learned}, wrong ones included), "
            f"so fewer of their mistakes show: suspects per split {per_split}. A suspect is a question, not a verdict: "
            f"look at the image. Took {seconds['total_seconds']:.1f} s.")
