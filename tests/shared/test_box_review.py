"""Detection's label review on planted mistakes: an object left without a box, a box of the wrong class, a box
moved off its object; the detector's answers are the true boxes (a detector that is right)."""

import numpy as np

from shared.data.detection import DetectionSet
from shared.review.box_issues import ISSUES
from shared.review.box_review import review_detections

NAMES = ["cat", "dog"]


def _objects(rng, count):
    """`count` boxes of 30-50 px, apart from each other, in a 256 x 256 image, with their classes."""
    corners = [(10, 10), (140, 10), (10, 140), (140, 140)][:count]
    boxes = np.array([[x, y, x + rng.uniform(30, 50), y + rng.uniform(30, 50)] for x, y in corners])
    return boxes, rng.integers(0, 2, count)


def test_planted_box_mistakes_are_flagged_with_their_kind():
    rng = np.random.default_rng(0)
    truth = [_objects(rng, 1 + i % 4) for i in range(24)]
    given = [(boxes.copy(), labels.copy()) for boxes, labels in truth]
    given[3] = (truth[3][0][:-1], truth[3][1][:-1])  # its last object has no box
    given[7][1][0] = 1 - given[7][1][0]  # a box of the other class
    given[11][0][1] += [30, 30, 30, 30]  # a box moved off its object (IoU about 0.1)
    # As the review asks the detector: every class of every place, here the true one sure, the other not.
    detections = [(np.concatenate([boxes, boxes]), np.repeat([0.95, 0.06], len(boxes)),
                   np.concatenate([labels, 1 - labels])) for boxes, labels in truth]
    part = DetectionSet(NAMES, [b for b, _ in given], [lab for _, lab in given], [(256, 256)] * 24,
                        images=np.zeros((24, 256, 256, 3), np.uint8))
    suspects, quality = review_detections([("train", part, i) for i in range(24)], detections, NAMES, 0.5)
    issues = {row["index"]: row["issue"] for row in suspects}
    assert issues.get(3) == ISSUES["overlooked"] and issues.get(7) == ISSUES["swap"], suspects
    assert issues.get(11) == ISSUES["badloc"], suspects
    assert set(issues) == {3, 7, 11}  # no right image is flagged
    assert max(quality[[3, 7, 11]]) < min(np.delete(quality, [3, 7, 11]))
    by_index = {row["index"]: row for row in suspects}
    assert by_index[3]["given"] == "no box" and by_index[3]["suggested"].startswith(NAMES[truth[3][1][-1]])
    assert by_index[7]["suggested"].startswith(NAMES[truth[7][1][0]])
