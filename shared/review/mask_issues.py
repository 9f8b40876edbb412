"""Which masks look wrong: cleanlab's segmentation label issues (confident learning over pixels), gathered into
regions a person can look at.

cleanlab marks each pixel whose given class the model's probabilities confidently contradict (each class's
threshold is the model's mean confidence on the pixels labelled with it). Single pixels along every boundary
are the model's own blur, not a labeller's mistake; a mistake is a region: an object painted as another
class, a stroke that missed, an object left unpainted. So an image is flagged when its largest connected
region of such pixels covers `REGION_SHARE` of the image or more, and ranked by that region's size.
"""

import numpy as np

from shared.data.segmentation import IGNORE

# The smallest issue region that flags an image, as a share of its pixels: 0.5%, a 18 x 18 patch of a
# 256 x 256 image (a small object painted as another class); boundary slivers stay under it.
REGION_SHARE = 0.005


def mask_label_issues(labels, probabilities):
    """`(ranked, quality, regions)` of `labels` (`uint8 [N, H, W]` class ids, `IGNORE` where unlabelled) against
    `probabilities` (`float [N, K, H, W]`, out-of-sample where possible): the indices of the flagged images, largest
    issue region first; per image its label quality (1 minus its largest region's share, 0 to 1); and per image
    its largest region as a dict (`share`, `box` `[x1, y1, x2, y2]` in the grid's pixels, `given` and `says`:
    the classes most of its pixels hold and the model prefers, `confidence`: the model's mean probability for
    `says` there), or None when no pixel is at issue."""
    from cleanlab.segmentation.filter import find_label_issues

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, np.float32)
    if not len(labels):
        return np.zeros(0, np.int64), np.zeros(0), []
    said = probabilities.argmax(1)
    unlabelled = labels == IGNORE
    filled = np.where(unlabelled, said, labels).astype(np.int64)  # never an issue, masked out below
    issues = find_label_issues(filled, probabilities, downsample=1, n_jobs=1, verbose=False) & ~unlabelled
    regions = [_largest_region(issues[i], labels[i], said[i], probabilities[i]) for i in range(len(labels))]
    quality = np.array([1.0 - (r["share"] if r else 0.0) for r in regions])
    flagged = np.flatnonzero(1.0 - quality >= REGION_SHARE)
    return flagged[np.argsort(quality[flagged], kind="stable")], quality, regions


def _largest_region(issue, given, said, probabilities):
    from scipy import ndimage

    components, count = ndimage.label(issue)
    if not count:
        return None
    sizes = np.bincount(components.ravel())[1:]
    inside = components == int(sizes.argmax()) + 1
    ys, xs = np.nonzero(inside)
    given_class = int(np.bincount(given[inside]).argmax())
    said_class = int(np.bincount(said[inside]).argmax())
    return {"share": float(inside.mean()), "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
            "given": given_class, "says": said_class, "confidence": float(probabilities[said_class][inside].mean())}
