"""``python -m podium report``: write a Markdown or HTML team report (for CI and cron jobs).

    python -m podium report --tracking-uri URI --experiment NAME [--experiment NAME ...]
        [--filter FILTER] --metric NAME [--mode max|min] [--top N] --format html|md
        --output PATH [--title T]

Markdown charts go to ``<stem>_files/`` beside the output (or into the zip when PATH ends in
``.zip``). ``--log-to-mlflow`` (the only write) also logs the files as artifacts of a new run in
the first experiment. Nothing printed ever holds the tracking URI's password.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from podium.config import redact_uri, resolve_tracking_uri
from podium.errors import PodiumError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--experiment", action="append", required=True, metavar="NAME",
                        help="experiment name or id; repeat for several")
    parser.add_argument("--filter", default="", metavar="FILTER", help="MLflow search syntax, e.g. \"metrics.f1 > 0.8\"")
    parser.add_argument("--metric", required=True, metavar="NAME", help="metric to rank by")
    parser.add_argument("--mode", default="max", choices=["max", "min"], help="which direction is better (default max)")
    parser.add_argument("--top", type=int, default=5, metavar="N", help="runs in the leaderboard (default 5)")
    parser.add_argument("--format", required=True, choices=["html", "md"], dest="fmt")
    parser.add_argument("--output", required=True, metavar="PATH", help="file to write (.zip for Markdown + charts in one file)")
    parser.add_argument("--title", default="", metavar="T")
    parser.add_argument("--author", default="", help="shown under the title")
    parser.add_argument("--summary", default="", help="Markdown text shown at the top (made safe)")
    parser.add_argument("--model-name", default=None, help="registered model holding the champion alias (default: found)")
    parser.add_argument("--alias", default="champion", help="champion alias (default champion)")
    parser.add_argument("--ui-url", default=None, help="MLflow UI address for links (default: the tracking server's)")
    parser.add_argument("--log-to-mlflow", action="store_true",
                        help="also log the report as artifacts of a new run in the first experiment (writes to the store)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except PodiumError:
        raise
    except Exception as exc:  # one line, never a traceback (and never a password: see reason())
        from podium.report.gather import reason

        raise PodiumError(f"{type(exc).__name__}: {reason(exc)}") from None


def _run(args: argparse.Namespace) -> int:
    from podium.report import write_report
    from podium.report.build import build_report

    uri = resolve_tracking_uri(args.tracking_uri)
    output = Path(args.output)
    if output.exists() and output.is_dir():
        raise PodiumError(f"--output {args.output!r} is a folder; give a file path.")
    if not output.parent.exists():
        raise PodiumError(f"--output folder {str(output.parent)!r} does not exist.")
    if args.top < 1:
        raise PodiumError(f"--top must be at least 1, not {args.top}.")
    report = build_report(
        uri, args.experiment, args.metric, args.mode, args.top, args.filter, title=args.title,
        author=args.author, summary=args.summary, model_name=args.model_name, alias=args.alias, ui_url=args.ui_url,
    )
    warnings: list[str] = []
    written = write_report(report, output, args.fmt, warnings)
    for warning in warnings:
        print(f"podium report: warning: {warning}", file=sys.stderr)
    print(f"Wrote {written[0]} ({len(report.leaderboard)} runs ranked of {report.provenance.runs_filtered}; "
          f"store {redact_uri(uri)})")
    if args.log_to_mlflow:
        from podium.report import log_report_to_mlflow

        run_id = log_report_to_mlflow(uri, report, args.experiment[0])
        print(f"Logged the report to run {run_id} in experiment {args.experiment[0]!r}")
    sys.stdout.flush()
    return 0
