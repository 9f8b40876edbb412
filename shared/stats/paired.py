"""Two evaluations of the same images, compared image by image: a paired bootstrap of each metric's
difference, McNemar's exact test where each image is right or wrong, and a verdict in one sentence."""

import numpy as np
from scipy.stats import binomtest

from shared.errors import fail
from shared.stats.bootstrap import LEVEL, RESAMPLES, SEED, percentile_interval, resample_weights


def aligned(first, second, names=("A", "B")):
    """Column order that puts `second`'s images in `first`'s order; refuses different images, naming some."""
    if len(set(second.images)) != len(second.images) or len(set(first.images)) != len(first.images):
        fail("An evaluation names one image twice; images cannot be paired by name",
             "Evaluate the runs on data whose image names are unique", images=len(first.images))
    only_first, only_second = set(first.images) - set(second.images), set(second.images) - set(first.images)
    if only_first or only_second:
        examples = ", ".join(sorted(only_first | only_second)[:3])
        fail(f"{names[0]} and {names[1]} were evaluated on different images ({len(only_first)} only in "
             f"{names[0]}, {len(only_second)} only in {names[1]}; e.g. {examples})",
             "Evaluate both runs on the same split of the same data (`--data` and `--split`), then compare",
             images=f"{len(first.images)} and {len(second.images)}")
    position = {name: i for i, name in enumerate(first.images)}
    return np.array([position[name] for name in second.images], np.int64)


def compare(first, second, names=("A", "B"), resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """Every metric both evaluations have: values, intervals, and the paired difference (second - first).

    Returns:
        dict: `metrics` {name: {"A", "B", "A_interval", "B_interval", "difference", "interval",
        "B_better_share"}}, `mcnemar` (or None), `verdict` (a sentence on the first metric), `images`.
    """
    order = aligned(first, second, names)
    weights = resample_weights(len(first.images), resamples, seed)
    full = np.ones((1, len(first.images)))
    a, b = first.score(weights), second.score(weights[:, order])
    a_full, b_full = first.score(full), second.score(full[:, order])
    metrics = {}
    for metric in [m for m in first.metrics if m in second.metrics]:
        difference = np.asarray(b[metric]) - np.asarray(a[metric])
        defined = difference[np.isfinite(difference)]
        metrics[metric] = {
            names[0]: float(a_full[metric][0]), names[1]: float(b_full[metric][0]),
            f"{names[0]}_interval": percentile_interval(a[metric], level),
            f"{names[1]}_interval": percentile_interval(b[metric], level),
            "difference": float(b_full[metric][0] - a_full[metric][0]),
            "interval": percentile_interval(difference, level),
            f"{names[1]}_better_share": float((defined > 0).mean()) if len(defined) else float("nan"),
        }
    if not metrics:
        fail(f"{names[0]} and {names[1]} share no metric to compare", "Compare runs of the same task",
             metrics=f"{first.metrics} and {second.metrics}")
    test = mcnemar(first.correct, second.correct[np.argsort(order)]) \
        if first.correct is not None and second.correct is not None else None
    primary = next(iter(metrics))
    return {"metrics": metrics, "mcnemar": test, "images": len(first.images), "primary": primary,
            "verdict": verdict(primary, metrics[primary], names, level),
            "bootstrap": {"method": "paired percentile bootstrap over images", "resamples": resamples, "seed": seed,
                          "level": level}}


def mcnemar(first_correct, second_correct):
    """McNemar's exact test of two classifiers on the same images: the images exactly one got right."""
    first_correct, second_correct = np.asarray(first_correct, bool), np.asarray(second_correct, bool)
    first_only = int((first_correct & ~second_correct).sum())
    second_only = int((~first_correct & second_correct).sum())
    discordant = first_only + second_only
    p = binomtest(second_only, discordant, 0.5).pvalue if discordant else 1.0
    return {"first_only": first_only, "second_only": second_only, "p_value": float(p)}


def verdict(metric, found, names, level=LEVEL):
    """One plain sentence: which run is better on `metric`, or that the difference is within noise."""
    low, high = found["interval"]
    said = (f"difference {found['difference']:+.3f} in {metric} ({names[1]} - {names[0]}), {level:.0%} interval "
            f"{low:+.3f} to {high:+.3f}")
    if low > 0:
        return f"{names[1]} is better than {names[0]} on this split ({said})."
    if high < 0:
        return f"{names[0]} is better than {names[1]} on this split ({said})."
    return f"The difference between {names[0]} and {names[1]} is within noise on this split ({said})."
