"""``podium report`` against a bare ``load_runs`` of the same runs, each in a fresh process.

    .venv/bin/python -m bench.report_bench                    # 10k runs, 3 rounds
    .venv/bin/python -m bench.report_bench --runs 50000 --rounds 5
    .venv/bin/python -m bench.report_bench --src /tmp/podium-old/src   # also time another tree

What a user running ``podium report --top 20 --format html`` in CI waits for includes starting
Python and importing Podium and MLflow, so both sides are timed as whole processes: the bare side
imports ``podium.store`` and loads the experiment's runs; the report side is the CLI writing the
HTML file. The two run alternately (a busy machine slows both alike); the medians and their ratio
are printed, with the HTML's size and how much of it is chart data. Issue 17's target: the report
at most 1.5x the bare load. ``--src`` adds a third column: the same report from another source
tree (e.g. the commit before a change, unpacked with ``git archive``), for before/after numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import build

ROOT = Path(__file__).resolve().parents[1]
BARE = (
    "import sys\n"
    "from podium import store\n"
    "df = store.load_runs(sys.argv[1], [sys.argv[2]], '')\n"
    "assert len(df) > 0\n"
)


def _timed(cmd: list[str], src: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd[:4])} …\n{done.stderr[-2000:]}")
    return took


def _report_cmd(uri: str, output: Path, top: int) -> list[str]:
    return [sys.executable, "-m", "podium", "report", "--tracking-uri", uri, "--experiment", build.EXPERIMENT,
            "--metric", "f1", "--top", str(top), "--format", "html", "--output", str(output)]


def chart_bytes(html: str) -> int:
    """Bytes of the chart specs (the JSON data blocks) in a report."""
    return sum(len(m) for m in re.findall(r'<script type="application/json" data-chart="[^"]*">(.*?)</script>', html, re.S))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the SQLite store (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each (default 3)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--src", default=None, help="another source tree's src/ to time too (before/after)")
    args = parser.parse_args(argv)
    uri = build.sqlite_store(args.runs)
    here = ROOT / "src"
    other = Path(args.src).resolve() if args.src else None
    with tempfile.TemporaryDirectory(prefix="podium-report-bench-") as tmp:
        out_new, out_old = Path(tmp) / "new.html", Path(tmp) / "old.html"
        bare_cmd = [sys.executable, "-c", BARE, uri, build.EXPERIMENT]
        # One untimed round: warm the OS file cache and the Vega bundle cache, as a second CI run finds them.
        _timed(bare_cmd, here), _timed(_report_cmd(uri, out_new, args.top), here)
        if other:
            _timed(_report_cmd(uri, out_old, args.top), other)
        bare, report, old = [], [], []
        for _ in range(args.rounds):
            bare.append(_timed(bare_cmd, here))
            report.append(_timed(_report_cmd(uri, out_new, args.top), here))
            if other:
                old.append(_timed(_report_cmd(uri, out_old, args.top), other))
        html = out_new.read_text(encoding="utf-8")
        med_bare, med_report = statistics.median(bare), statistics.median(report)
        print(f"{args.runs:,} runs, top {args.top}, {args.rounds} rounds (medians, fresh processes):")
        print(f"  bare load_runs        {med_bare:6.2f} s")
        print(f"  podium report (html)  {med_report:6.2f} s   {med_report / med_bare:.2f}x the bare load (target <= 1.5x)")
        print(f"  HTML {len(html.encode()) / 1e6:.2f} MB, of which chart data {chart_bytes(html) / 1e6:.2f} MB")
        if other:
            old_html = out_old.read_text(encoding="utf-8")
            med_old = statistics.median(old)
            print(f"  --src report (html)   {med_old:6.2f} s   {med_old / med_bare:.2f}x the bare load; HTML "
                  f"{len(old_html.encode()) / 1e6:.2f} MB, chart data {chart_bytes(old_html) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
