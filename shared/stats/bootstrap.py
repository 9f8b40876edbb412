"""Bootstrap over images: how sure a split's figures are.

A resample draws the split's N images N times with replacement; a `score(weights)` function turns
`[R, N]` draw counts into each metric's `[R]` values (a metric is a weighted sum over images, so
nothing is predicted again). The interval is the percentile interval of those values.

    weights = resample_weights(len(labels))
    low, high = percentile_interval(accuracy_of(weights))
"""

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
SEED = 0


def resample_weights(n, resamples=RESAMPLES, seed=SEED):
    """`int [R, n]`: how often each of `n` images is drawn in each of `resamples` resamples (seeded)."""
    if n == 0:
        return np.zeros((resamples, 0), np.int64)
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples)


def percentile_interval(samples, level=LEVEL):
    """`(low, high)` holding the middle `level` of `samples` (NaN resamples, where a metric is undefined,
    left out); `(nan, nan)` when none is defined."""
    samples = np.asarray(samples, np.float64)
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    low, high = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def intervals(score, n, names=None, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """`{metric: (low, high)}` for every metric `score(weights)` returns (or those in `names`)."""
    values = score(resample_weights(n, resamples, seed))
    return {name: percentile_interval(values[name], level) for name in (names or values)}


def method(resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """How the intervals were made, for the report's JSON and its notes."""
    return {"method": "percentile bootstrap over images", "resamples": resamples, "seed": seed, "level": level}


def describe(resamples=RESAMPLES, level=LEVEL):
    return (f"{level:.0%} intervals: percentile bootstrap over the split's images, {resamples:,} resamples, "
            f"seeded")


def weighted_counts(weights, index, size, values=None):
    """`[R, size]`: in each resample, the images' draw counts summed by bin (`index`: each image's bin in
    0..size-1; `values`: what each image adds, 1 by default). A sparse product: any number of classes."""
    from scipy import sparse

    n = len(index)
    values = np.ones(n) if values is None else np.asarray(values, np.float64)
    table = sparse.csr_matrix((values, (np.arange(n), np.asarray(index, np.int64))), shape=(n, size))
    return np.asarray((table.T @ np.asarray(weights, np.float64).T).T)


def weighted_sums(weights, per_image):
    """`[R, ...]`: in each resample, the sum of `per_image` (`[N, ...]`, e.g. confusion matrices) by draws."""
    per_image = np.asarray(per_image, np.float64)
    flat = per_image.reshape(len(per_image), -1)
    return (np.asarray(weights, np.float64) @ flat).reshape((len(weights),) + per_image.shape[1:])


def span(interval, digits=2):
    """`"0.84-0.96"`, or `"-"` when undefined."""
    low, high = interval
    if not (np.isfinite(low) and np.isfinite(high)):
        return "-"
    return f"{low:.{digits}f}-{high:.{digits}f}"
