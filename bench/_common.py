"""Helpers shared by the benchmark scripts (not part of the installed packages)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def table(headers, rows):
    """Print a Markdown table."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(f"{c:.4g}" if isinstance(c, float) else str(c) for c in row) + " |")
