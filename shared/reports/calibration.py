"""The report's calibration section: do the scores mean what they say, before and after the run's temperature?"""

import numpy as np

from shared.reports.plots import reliability_figure
from shared.stats.calibration import BINS, calibration_bins


def add_calibration(report, raw, probabilities, labels, calibration, fitted, unit="images", decision="accuracy"):
    """Expected calibration error and negative log-likelihood of the scored split before and after the run's
    temperature (`calibration`: `shared.stats.calibration.calibration_record`), and the reliability diagram.

    Args:
        raw, probabilities: `[N, C]` the network's own and the calibrated probabilities of `N` answers.
        labels: `[N]` the true classes.
        fitted: the run's calibration record (`Run.calibration`): how the temperature was fitted, or why not.
        unit: what an answer is, for the note ("images", or "pixels, sampled").
        decision: the metric a temperature leaves as it is.
    """
    report.record("calibration", {**calibration, "fitted": dict(fitted)})
    if not len(labels):
        return
    if fitted.get("not_fitted"):
        how = f"no temperature: {fitted['not_fitted']}"
    elif fitted:
        how = (f"the temperature {calibration['temperature']:.3f} fitted on the val split after training "
               f"({fitted.get('images', '?')} images; predict and every export apply it)")
    else:
        how = "no temperature (the run has none: it was trained without a val split, or by an older Trident)"
    report.table("Calibration: do the scores mean what they say?", ["measure", "network's own", "calibrated"],
                 [["expected calibration error", calibration["ece_before"], calibration["ece_after"]],
                  ["negative log-likelihood", calibration["nll_before"], calibration["nll_after"]]],
                 note=f"Calibrated by {how}. Over {len(labels)} {unit}. ECE: {BINS} equal-width bins of the top "
                      f"score; 0 means a score of 0.9 is right 90% of the time. A temperature changes no decision, "
                      f"so {decision} is the same.")
    correct = np.asarray(raw).argmax(-1) == np.asarray(labels)
    report.figure("Reliability diagram", reliability_figure(
        {"network's own": calibration_bins(np.asarray(raw).max(-1), correct),
         "calibrated": calibration_bins(np.asarray(probabilities).max(-1), correct)}, "accuracy against confidence"),
        "reliability")
