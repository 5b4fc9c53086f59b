"""Team reports: gather from the store, build a Report, render it as Markdown or one HTML file.

Three stages, as in ydata-profiling: :mod:`~podium.report.gather` reads the store (the runs
once, then the champion and the top runs' records), :func:`~podium.report.build.build` computes
on those frames (plain data, no I/O), :func:`~podium.report.markdown.render_markdown` and
:func:`~podium.report.html.render_html` render; the title, author and summary go on last
(:meth:`Report.with_words`). :func:`build_report` runs gather and build in one call.
:func:`write_report` writes either format to disk and :func:`log_report_to_mlflow` records a
report next to the runs it is about.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from podium.report.build import Report, build_report
from podium.report.gather import ReportQuery

__all__ = ["Report", "ReportQuery", "build_report", "log_report_to_mlflow", "write_report"]

REPORT_TAG = "podium.report"


def write_report(report: Report, path: str | Path, fmt: str, warnings: list[str] | None = None) -> list[Path]:
    """Write ``report`` as ``fmt`` (``"html"`` or ``"md"``) to ``path``; returns the files written.

    Markdown charts go to ``<stem>_files/`` beside ``path``; a ``.zip`` path gets the Markdown
    and its charts in one zip. When the chart images cannot be drawn the Markdown is written
    without them, says so, and the reason is appended to ``warnings``.
    """
    from podium.report.html import render_html
    from podium.report.markdown import markdown_zip, write_markdown

    path = Path(path)
    if fmt == "html":
        path.write_text(render_html(report), encoding="utf-8")
        return [path]
    if fmt != "md":
        raise ValueError(f"Unknown report format {fmt!r}")
    if path.suffix.lower() == ".zip":
        path.write_bytes(markdown_zip(report, path.stem, warnings))
        return [path]
    write_markdown(report, path, warnings)
    folder = path.parent / f"{path.stem}_files"
    return [path] + sorted(folder.glob("*.png"))


def report_run_name(report: Report) -> str:
    return "podium-report-" + report.generated_at.strftime("%Y%m%d-%H%M%S")


def log_report_to_mlflow(tracking_uri: str, report: Report, experiment: str) -> str:
    """Log the report, as HTML and as Markdown with its charts, to a new run; returns its id.

    The run is named ``podium-report-<UTC time>`` in ``experiment`` (the report's first), tagged
    ``podium.report=true`` plus the ranking metric, and holds ``report/report.html``,
    ``report/report.md`` and ``report/report_files/*.png``. A new run, rather than an artifact
    on one of the ranked runs, leaves the compared runs untouched and lets a team list its
    reports with the filter ``tags.`podium.report` = 'true'``.
    """
    from podium import store

    tags = {
        REPORT_TAG: "true",
        "podium.report.metric": report.metric_name,
        "podium.report.mode": report.mode,
        "podium.report.title": re.sub(r"\s+", " ", report.title)[:250],
        "podium.report.runs": ",".join(row.run_id for row in report.leaderboard)[:5000],
    }
    with tempfile.TemporaryDirectory(prefix="podium-report-") as tmp:
        html = write_report(report, Path(tmp) / "report.html", "html")
        md = write_report(report, Path(tmp) / "report.md", "md")
        files = [(str(p), "report") for p in html + md[:1]] + [(str(p), "report/report_files") for p in md[1:]]
        return store.log_report(tracking_uri, experiment, files, report_run_name(report), tags)
