"""The morning report: a static HTML page per night (and one per exposure) that reads from the local disk."""

from desghost.report.html import write_report

__all__ = ["write_report"]
