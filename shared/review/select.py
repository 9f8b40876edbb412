"""Which unlabelled images would teach the model most: uncertain ones, and not near-copies of each other."""

import numpy as np


def margin_uncertainty(probabilities):
    """`float [N]` in 0..1: one minus the gap between the two most likely classes (1 = a coin toss)."""
    top = np.sort(np.asarray(probabilities, np.float64), axis=1)[:, ::-1]
    second = top[:, 1] if top.shape[1] > 1 else np.zeros(len(top))
    return 1.0 - (top[:, 0] - second)


def diverse_uncertain(uncertainty, features, count, pool_factor=4):
    """Indices of `count` items: the `pool_factor * count` most uncertain, thinned by farthest-point
    traversal of their (L2-normalised) features, starting from the most uncertain, each next pick the
    candidate farthest from those picked, weighted by its uncertainty. Fifty photos of one scene are
    then one or two picks, not fifty."""
    uncertainty = np.asarray(uncertainty, np.float64)
    count = min(int(count), len(uncertainty))
    if count <= 0:
        return np.zeros(0, np.int64)
    pool = np.argsort(-uncertainty, kind="stable")[:max(count, pool_factor * count)]
    unit = np.asarray(features, np.float64)[pool]
    unit = unit / np.clip(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12, None)
    picked = [0]
    distance = np.linalg.norm(unit - unit[0], axis=1)
    while len(picked) < count:
        score = distance * (uncertainty[pool] + 1e-6)
        score[picked] = -1.0
        nxt = int(score.argmax())
        picked.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(unit - unit[nxt], axis=1))
    return pool[np.asarray(picked, np.int64)]


def detection_uncertainty(scores):
    """`float [N]` in 0..1 from each image's detection `scores` (calibrated, every place the detector considers):
    its most doubtful detection's `1 - |2 score - 1|` (1 = a detection at 0.5, a coin toss; 0 = none, or all sure).
    A miss the detector scores 0.3 and a false alarm it scores 0.7 are both worth a person's look."""
    return np.asarray([float(np.max(1.0 - np.abs(2.0 * np.asarray(s, np.float64) - 1.0))) if len(s) else 0.0
                       for s in scores])
