"""Evaluation reports: JSON for machines, Markdown and self-contained HTML for people."""

from shared.reports.report import FileLink, Report

__all__ = ["FileLink", "Report"]
