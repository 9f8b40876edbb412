"""Statistics over a split's images: bootstrap intervals, paired comparisons of runs, calibration."""
