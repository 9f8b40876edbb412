"""Box checks shared by every detection reader: fix what can be fixed, count it, refuse the rest."""

import collections

import numpy as np

from shared.errors import fail


class FixCounter(collections.Counter):
    """Counts of corrections made while reading, e.g. `{"boxes clipped to the image": 3}`."""

    def as_dict(self):
        return {key: int(value) for key, value in sorted(self.items()) if value}


def sanitize_boxes(boxes, labels, width, height, num_classes, where, fixes):
    """Clip boxes to the image and drop unusable ones, counting each fix in `fixes`.

    Args:
        boxes: float array `[n, 4]` xyxy pixels.
        labels: int array `[n]`, class ids.
        width, height: the image size in pixels.
        num_classes: int; a label outside `0..num_classes-1` is an error naming `where`.
        where: str, the file (and line or id) to name in an error.
        fixes: `FixCounter` to add to.

    Returns:
        `(boxes float32 [m, 4], labels int32 [m])`.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        fail(f"{where}: class id {int(labels[bad][0])} is outside the class list (0..{num_classes - 1})",
             "Fix the label or add the class to the class names", label=int(labels[bad][0]))
    finite = np.isfinite(boxes).all(axis=1)
    fixes["boxes with NaN or infinite coordinates dropped"] += int((~finite).sum())
    boxes, labels = boxes[finite], labels[finite]
    clipped = np.stack([np.clip(boxes[:, 0], 0, width), np.clip(boxes[:, 1], 0, height),
                        np.clip(boxes[:, 2], 0, width), np.clip(boxes[:, 3], 0, height)], axis=1)
    fixes["boxes clipped to the image"] += int((np.abs(clipped - boxes) > 1e-6).any(axis=1).sum())
    keep = (clipped[:, 2] - clipped[:, 0] >= 1.0) & (clipped[:, 3] - clipped[:, 1] >= 1.0)
    fixes["boxes with zero or negative size dropped"] += int((~keep).sum())
    return clipped[keep].astype(np.float32), labels[keep].astype(np.int32)


def box_iou(a, b):
    """Intersection over union of two xyxy boxes (0 when both are empty)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
