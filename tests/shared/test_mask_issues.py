"""Segmentation's label review on planted mistakes: a square painted as another class, an object left unpainted;
the model's probabilities are the true masks, blurred at every boundary as a real model's are."""

import numpy as np

from shared.review.mask_issues import REGION_SHARE, mask_label_issues
from tasks.segmentation.review import review_masks


def _scene(rng, size=64):
    """Class ids: background 0, one or two rectangles of class 1 or 2."""
    mask = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(1, 3)):
        x, y = rng.integers(0, size - 24, 2)
        mask[y:y + rng.integers(12, 24), x:x + rng.integers(12, 24)] = rng.integers(1, 3)
    return mask


def _probabilities(mask, classes=3):
    """0.9 on the true class, 0.05 on the others, and a coin toss between neighbours along every boundary."""
    found = np.full((classes, *mask.shape), 0.05, np.float32)
    np.put_along_axis(found, mask[None].astype(np.int64), 0.9, axis=0)
    edge = np.zeros(mask.shape, bool)
    edge[1:] |= mask[1:] != mask[:-1]
    edge[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    shifted = np.roll(mask, 1, axis=0)
    found[:, edge] = 0.0
    found[mask[edge], edge] = 0.5
    found[shifted[edge], edge] += 0.5
    return found / found.sum(0, keepdims=True)


def test_planted_mask_mistakes_are_the_suspects_largest_first():
    rng = np.random.default_rng(0)
    truth = [_scene(rng) for _ in range(16)]
    probabilities = np.stack([_probabilities(m) for m in truth])
    given = np.stack(truth).copy()
    given[5, 40:60, 40:60] = np.where(given[5, 40:60, 40:60] == 2, 1, 2)  # a square painted as another class
    erased = 8
    given[erased][given[erased] > 0] = 0  # its objects left unpainted
    given[11, :8, :8] = 255  # an unlabelled corner: never at issue
    ranked, quality, regions = mask_label_issues(given, probabilities)
    assert sorted(ranked.tolist()) == sorted([5, erased]), (ranked, quality)
    assert ranked[0] == max((5, erased), key=lambda i: regions[i]["share"])
    assert regions[5]["box"] == [40, 40, 60, 60] and regions[5]["share"] >= REGION_SHARE
    assert regions[erased]["given"] == 0 and regions[erased]["says"] == truth[erased].max()
    assert min(np.delete(quality, [5, erased])) > max(quality[[5, erased]])


def test_the_review_names_the_class_given_and_the_class_the_model_prefers():
    from shared.data.segmentation import SegmentationSet

    rng = np.random.default_rng(1)
    truth = [_scene(rng) for _ in range(8)]
    given = np.stack(truth).copy()
    given[2, 10:30, 10:30] = 2
    given[2][truth[2] == 2] = 2
    changed = given[2] != truth[2]
    names = ["background", "cat", "dog"]
    part = SegmentationSet(names, [(0, 0, 0)] * 3, images=np.zeros((8, 64, 64, 3), np.uint8), masks=given)
    suspects, _ = review_masks([("val", part, i) for i in range(8)], given,
                               np.stack([_probabilities(m) for m in truth]), names)
    assert [row["index"] for row in suspects] == [2]
    row = suspects[0]
    assert row["given"] == "dog" and row["suggested"] == names[int(np.bincount(truth[2][changed]).argmax())]
    assert row["split"] == "val" and 0.5 < row["confidence"] <= 1.0
