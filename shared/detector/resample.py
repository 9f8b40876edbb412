"""COCO AP of image resamples from pycocotools' own per-image matches, without matching again.

pycocotools matches each image's detections to its objects once (`COCOeval.evaluate`, kept in
`evalImgs`); `accumulate` then ranks all detections of a class by score and reads precision at 101
recall points. Here an image drawn k times counts k times in that ranking (its detections weigh k,
its objects k), so each resample's AP costs a weighted cumulative sum. With every image drawn once
the result equals pycocotools' AP (checked by the tests).
"""

import contextlib
import warnings

import numpy as np

CHUNK = 4_000_000  # resamples x thresholds x detections held at once


class CocoResampler:
    """`score(weights [R, N]) -> {"AP", "AP50", "AP: class", "AP50: class"}` from an evaluated `COCOeval`.

    Area range "all" and the largest `maxDets`, as COCO's headline AP. Images follow the
    evaluator's `params.imgIds` order; a class without objects in a resample is left out of its mean.
    """

    def __init__(self, evaluator, class_names):
        params = evaluator.params
        self.names = list(class_names)
        self.recall_points = np.asarray(params.recThrs)
        self.images = len(params.imgIds)
        self.thresholds = len(params.iouThrs)
        max_det = params.maxDets[-1]
        area = [tuple(a) for a in params.areaRng].index(tuple(params.areaRng[0]))
        per_area = len(params.imgIds)
        per_class = len(params.areaRng) * per_area
        self.classes = []
        for k in range(len(params.catIds)):
            records = [(i, evaluator.evalImgs[k * per_class + area * per_area + i]) for i in range(per_area)]
            records = [(i, e) for i, e in records if e is not None]
            if not records:
                self.classes.append(None)
                continue
            scores = np.concatenate([e["dtScores"][:max_det] for _, e in records])
            order = np.argsort(-scores, kind="mergesort")  # pycocotools' own ranking, ties by image order
            image_of = np.concatenate([np.full(len(e["dtScores"][:max_det]), i) for i, e in records])[order]
            matched = np.concatenate([e["dtMatches"][:, :max_det] for _, e in records], axis=1)[:, order] > 0
            ignored = np.concatenate([e["dtIgnore"][:, :max_det] for _, e in records], axis=1)[:, order] > 0
            objects = np.zeros(self.images)
            for i, e in records:
                objects[i] = np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)
            self.classes.append((image_of, matched & ~ignored, ~matched & ~ignored, objects))

    def precision(self, weights):
        """`[R, T, K, recall points]`, NaN for a class without objects in a resample."""
        weights, thresholds = np.asarray(weights, np.float64), self.thresholds
        out = np.full((len(weights), thresholds, len(self.classes), len(self.recall_points)), np.nan)
        for k, entry in enumerate(self.classes):
            if entry is None:
                continue
            image_of, tps, fps, objects = entry
            truth = weights @ objects
            detections = max(1, len(image_of))
            step = max(1, CHUNK // (thresholds * detections))
            for start in range(0, len(weights), step):
                part = weights[start:start + step]
                out[start:start + step, :, k] = self._class_precision(part, image_of, tps, fps,
                                                                     truth[start:start + step])
        return out

    def _class_precision(self, weights, image_of, tps, fps, truth):
        resamples, thresholds = len(weights), tps.shape[0]
        q = np.zeros((resamples, thresholds, len(self.recall_points)))
        if len(image_of):
            drawn = weights[:, image_of][:, None, :]  # [R, 1, D]
            tp = np.cumsum(drawn * tps[None], axis=-1)
            fp = np.cumsum(drawn * fps[None], axis=-1)
            recall = tp / np.maximum(truth, 1e-12)[:, None, None]
            precision = tp / (tp + fp + np.spacing(1))
            precision = np.maximum.accumulate(precision[..., ::-1], axis=-1)[..., ::-1]
            for r in range(resamples):
                for t in range(thresholds):
                    at = np.searchsorted(recall[r, t], self.recall_points, side="left")
                    inside = at < len(image_of)
                    q[r, t, inside] = precision[r, t, at[inside]]
        q[truth <= 0] = np.nan
        return q

    def __call__(self, weights):
        precision = self.precision(weights)
        with _quiet():  # a class without objects in a resample is NaN and left out of the means
            per_class = np.nanmean(precision, axis=-1)  # [R, T, K]
            out = {"AP": np.nanmean(per_class, axis=(1, 2)), "AP50": np.nanmean(per_class[:, 0], axis=1)}
            for k, name in enumerate(self.names):
                out[f"AP: {name}"] = np.nanmean(per_class[:, :, k], axis=1)
                out[f"AP50: {name}"] = per_class[:, 0, k]
        return out


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
