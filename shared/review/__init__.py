"""Reviewing the user's labels: out-of-sample predictions and the labels they contradict."""
