"""How far apart two runtimes' detections of one image are (the export check's `difference`)."""

import numpy as np

from shared.data.boxes import box_iou

# Scores closer than this are tied. Which of two tied, overlapping boxes NMS keeps is arbitrary, and
# two runtimes whose scores differ by float rounding (about 1e-7) may keep the other one.
TIE = 1e-5


def detection_difference(served, expected, image, same=None):
    """The largest box or score difference between two answers for one image, detections paired
    by class and score; inf when the counts differ, a detection has no partner, or more than a
    tenth of them (at least one) were tie-broken the other way.

    A tie broken the other way: the partner has the same class and a tied score (within `TIE`)
    and overlaps it (IoU >= 0.5), but is another box; such pairs add no difference.
    `same(i, j) -> float`: a further difference of served detection i and expected detection j
    when they are the same box (their masks, say; inf when they disagree), or None.
    """
    count = int(expected["num_detections"][0])
    if int(served["num_detections"][0]) != count:
        return float("inf")
    ours = [(served["classes"][0, i], served["scores"][0, i], served["boxes"][0, i], i) for i in range(count)]
    theirs = [(expected["classes"][0, i], expected["scores"][0, i], expected["boxes"][0, i], i) for i in range(count)]
    worst, ties = 0.0, 0
    for cls, score, box, i in ours:
        partners = [j for j, (c, s, _, _) in enumerate(theirs) if c == cls and abs(float(s - score)) <= 1e-3]
        if not partners:
            return float("inf")
        j = min(partners, key=lambda j: float(np.abs(theirs[j][2] - box).max()))
        gap, shift = float(np.abs(theirs[j][2] - box).max()), abs(float(theirs[j][1] - score))
        if gap <= 0.01:  # the same box (differences above the export's tolerance still fail it)
            worst = max(worst, gap, shift, same(i, theirs[j][3]) if same else 0.0)
        elif shift <= TIE and box_iou(theirs[j][2], box) >= 0.5:
            ties += 1
        else:
            return float("inf")
        theirs.pop(j)
    return worst if ties <= max(1, count // 10) else float("inf")
