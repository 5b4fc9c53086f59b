"""Time Podium's loading and filtering against ``mlflow.search_runs``; write bench/RESULTS.md.

Usage (from the repository root)::

    .venv/bin/python -m bench.run_all             # everything (~10 minutes on 2 cores)
    .venv/bin/python -m bench.run_all --repeats 5 --only sqlite-10k,filter-50k
    .venv/bin/python -m bench.run_all --only browser-10k      # the Compare page in Chromium

Each scenario times Podium and MLflow *alternately in the same process* (so a busy machine
slows both alike) and reports medians and the ratio. Stores are built once and cached (see
``bench/build.py``). Peak memory of a 50k load is measured in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from bench import build  # noqa: E402

FILTERS = [
    "metrics.accuracy > 0.9",
    "metrics.accuracy > 0.8 and params.model = 'rf' and tags.team LIKE 'r%'",
    "params.optimizer != 'sgd' and metrics.loss != 1 and attributes.status = 'FINISHED'",
    "tags.note ILIKE '%ABLATION%' and attributes.start_time > 1700600000000",
    "attributes.run_name LIKE 'sweep-1%'",
]


def _mlflow_search(uri: str, experiment: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    try:
        return mlflow.search_runs(experiment_names=[experiment])
    finally:
        mlflow.set_tracking_uri(None)


def _podium_load(uri: str, experiment: str):
    from podium import store

    return store.load_runs(uri, [experiment])


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare(uri: str, repeats: int, mlflow_repeats: int | None = None) -> dict:
    """Alternate Podium and mlflow.search_runs; check they return the same runs."""
    mlflow_repeats = repeats if mlflow_repeats is None else mlflow_repeats
    podium_t, mlflow_t = [], []
    _podium_load(uri, build.EXPERIMENT)  # warm-up: imports, engine, server connection
    ours = theirs = None
    for i in range(max(repeats, mlflow_repeats)):
        if i < repeats:
            t, ours = _timed(lambda: _podium_load(uri, build.EXPERIMENT))
            podium_t.append(t)
        if i < mlflow_repeats:
            t, theirs = _timed(lambda: _mlflow_search(uri, build.EXPERIMENT))
            mlflow_t.append(t)
    result = {"runs": len(ours), "podium_s": statistics.median(podium_t), "podium_all": podium_t}
    if theirs is not None:
        assert sorted(ours["run_id"]) == sorted(theirs["run_id"]), "Podium and MLflow returned different runs"
        result.update(mlflow_s=statistics.median(mlflow_t), mlflow_all=mlflow_t)
        result["ratio"] = result["mlflow_s"] / result["podium_s"]
    return result


def peak_memory(uri: str) -> dict:
    """Peak RSS (VmHWM, reset by exec) of a fresh process that imports Podium and loads ``uri`` (MB)."""
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "def vm(field):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(field): return int(line.split()[1]) / 1024\n"
        "from podium import store\n"
        "import pandas, sqlalchemy, numpy\n"
        "base = vm('VmRSS:')\n"
        "t = time.perf_counter(); df = store.load_runs(%r, [%r]); dt = time.perf_counter() - t\n"
        "print(base, vm('VmHWM:'), dt, len(df))\n"
    ) % (str(ROOT / "src"), uri, build.EXPERIMENT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    base, peak, seconds, runs = float(out[0]), float(out[1]), float(out[2]), int(out[3])
    return {"baseline_mb": base, "peak_mb": peak, "cold_load_s": seconds, "runs": runs}


def filter_times(uri: str, repeats: int) -> list[tuple[str, float, int]]:
    from podium import search

    df = _podium_load(uri, build.EXPERIMENT)
    out = []
    for f in FILTERS:
        times = []
        for _ in range(repeats):
            t, res = _timed(lambda: search.filter_frame(df, f))
            times.append(t)
        out.append((f, statistics.median(times), len(res)))
    return out


def _http_server(backend_uri: str):
    import contextlib
    import socket

    import requests

    @contextlib.contextmanager
    def server():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(build.CACHE / "mlflow-server.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
             "--default-artifact-root", str(build.CACHE / "artifacts"), "--host", "127.0.0.1",
             "--port", str(port)],  # MLflow's default 4 workers, as a team would run it
            stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    if requests.get(url + "/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.5)
            else:
                raise RuntimeError("mlflow server did not start")
            yield url
        finally:
            proc.terminate()
            proc.wait(20)
            log.close()

    return server()


SCENARIOS = ["sqlite-10k", "sqlite-50k", "postgresql-10k", "mysql-10k", "http-10k", "filter-50k", "browser-10k"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed loads per tool (default 3)")
    parser.add_argument("--only", default="", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--mlflow-50k", type=int, default=1, help="mlflow.search_runs repeats at 50k (0 skips; ~1 min and ~1.6 GB each)")
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "RESULTS.md"))
    args = parser.parse_args(argv)
    asked = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in asked if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)} (choose from {', '.join(SCENARIOS)})")
    chosen = [s for s in SCENARIOS if not asked or s in asked]
    rows, notes = [], []

    def report(name, res, target):
        line = f"{name}: {res['runs']} runs, Podium {res['podium_s']:.2f} s"
        if "mlflow_s" in res:
            line += f", mlflow.search_runs {res['mlflow_s']:.2f} s, {res['ratio']:.1f}x"
        print(line, flush=True)
        rows.append((name, res, target))

    for scenario in chosen:
        if scenario == "sqlite-10k":
            report("SQLite, 10k runs", compare(build.sqlite_store(10_000), args.repeats), "≥ 15×")
        elif scenario == "sqlite-50k":
            uri = build.sqlite_store(50_000)
            report("SQLite, 50k runs", compare(uri, args.repeats, args.mlflow_50k), "≤ 5 s")
            mem = peak_memory(uri)
            notes.append(
                f"SQLite 50k load in a fresh process: {mem['cold_load_s']:.2f} s cold, peak RSS "
                f"{mem['peak_mb']:.0f} MB (VmHWM; {mem['baseline_mb']:.0f} MB of it is the interpreter with "
                f"Podium's imports before the load; target ≤ 1 GB)"
            )
            print(notes[-1], flush=True)
        elif scenario in ("postgresql-10k", "mysql-10k"):
            kind = scenario.split("-")[0]
            label = "PostgreSQL" if kind == "postgresql" else "MariaDB"
            report(f"{label}, 10k runs", compare(build.server_store(kind, 10_000), args.repeats), "≥ 10×")
        elif scenario == "http-10k":
            backend = build.sqlite_copy(10_000, "server")
            with _http_server(backend) as url:
                report("mlflow server (HTTP, SQLite behind), 10k runs", compare(url, args.repeats, max(1, args.repeats - 1)), "≥ 2×")
        elif scenario == "filter-50k":
            for f, seconds, n in filter_times(build.sqlite_store(50_000), max(5, args.repeats)):
                print(f"filter_frame on 50k: {seconds * 1000:.1f} ms ({n} runs)  {f}", flush=True)
                rows.append((f"filter_frame, 50k runs: `{f}`", {"runs": n, "podium_s": seconds}, "≤ 100 ms"))
        elif scenario == "browser-10k":
            from bench import browser_compare

            res = browser_compare.measure(10_000, max(3, args.repeats))
            rows.append(("Compare page in headless Chromium, 10k runs: both charts drawn after the data arrives",
                         {"runs": res["runs"], "podium_s": res["after_data_s"]}, "≤ 3 s"))
            note = (f"Compare page, 10k runs (`bench/browser_compare.py`, medians of {res['repeats']} fresh page loads "
                    f"after a warm-up that fills Streamlit's cache): runs table in the page {res['data_s']:.2f} s after "
                    f"navigation, both charts drawn {res['charts_s']:.2f} s after navigation")
            if "naive_canvas_s" in res:
                note += (f"; a naive Vega-Lite parallel-coordinates chart of the same runs (fold and normalisation in "
                         f"the browser) is drawn {res['naive_canvas_s']:.2f} s after its data on canvas, "
                         f"{res['naive_default_s']:.2f} s on Streamlit's default SVG")
            notes.append(note)
            print(notes[-1], flush=True)

    _write(args.output, rows, notes, args)
    return 0


def _write(path: str, rows, notes, args) -> None:
    load = os.getloadavg()
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} with `.venv/bin/python -m bench.run_all"
        + (f" --only {args.only}" if args.only else "") + f" --repeats {args.repeats}`",
        f"on {platform.machine()} with {os.cpu_count()} cores (shared; load average at the end "
        f"{load[0]:.1f}), Python {platform.python_version()}. Medians; Podium and MLflow alternate in one process.",
        "",
        "| Scenario | Runs | Podium | mlflow.search_runs | Speed-up | Target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, res, target in rows:
        podium = f"{res['podium_s'] * 1000:.1f} ms" if res["podium_s"] < 1 and "filter" in name else f"{res['podium_s']:.2f} s"
        mlflow_s = f"{res['mlflow_s']:.2f} s" if "mlflow_s" in res else "–"
        ratio = f"{res['ratio']:.1f}×" if "ratio" in res else "–"
        lines.append(f"| {name} | {res['runs']} | {podium} | {mlflow_s} | {ratio} | {target} |")
    lines += [""] + [f"- {n}" for n in notes]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
