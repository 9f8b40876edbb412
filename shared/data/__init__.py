"""Data: readers for every supported format, built-in data sets, the tf.data pipeline."""
