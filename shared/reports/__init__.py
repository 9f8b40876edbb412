"""Evaluation reports: JSON for machines, Markdown and self-contained HTML for people."""

from shared.reports.report import Report

__all__ = ["Report"]
