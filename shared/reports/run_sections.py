"""Report sections every task's evaluation shares: the settings chosen from the data, the inspection."""

import os

from shared.io import read_record


def add_run_sections(report, run):
    """Add "Settings chosen from the data" and a link to the run's data inspection, when recorded."""
    path = run.file("data.json")
    if os.path.isfile(path):

        defaults = read_record(path, "data record", missing={}).get("defaults") or {}
        if defaults:
            report.table("Settings chosen from the data", ["setting", "value", "why"],
                         [[key, entry["value"], entry["reason"]] for key, entry in defaults.items()],
                         note="Each was left open by the user (no flag, no config key); a flag always wins.")
            report.record("defaults", defaults)
    inspection = run.file("inspection", "report.html")
    if os.path.isfile(inspection):
        report.text("Data inspection", f"The training data's inspection report: {inspection}")
        report.record("inspection", inspection)
