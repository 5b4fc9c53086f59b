"""Team reports: build a Report from the store, render it as Markdown or one HTML file."""

from podium.report.build import Report, build_report

__all__ = ["Report", "build_report"]
