"""The training engine every task shares: `fit` and its callbacks, run folders, distribution, the defaults
chosen from the data."""
