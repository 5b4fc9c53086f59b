"""Where a Compare rerun spends its time: the page's script in Streamlit's AppTest, no browser.

Usage (from the repository root)::

    .venv/bin/python -m bench.profile_compare                     # 10,000 runs, times per interaction
    .venv/bin/python -m bench.profile_compare --runs 50000 --profile filter --top 30

Opens Compare's benchmark permalink (``bench/browser_compare.py``'s query) on the cached SQLite
store of ``bench/build.py``, warms up, then times the script of each interaction the browser
benchmark does (a filter, the scatter's x, a selection, a plain rerun) and how many bytes of chart
specs and table data the run sends. ``--profile NAME`` prints cProfile's top functions for one of
them. Python's share only: the browser's parse and redraw are ``bench/browser_interactions.py``'s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "src",):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from bench import browser_compare as bc  # noqa: E402
from bench import build  # noqa: E402

PAGE = "app_pages/compare.py"


def open_page(uri: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["podium_tracking_uri"] = uri
    for k, v in bc.QUERY:
        at.query_params[k] = at.query_params[k] + [v] if k in at.query_params and isinstance(at.query_params[k], list) else (
            [at.query_params[k], v] if k in at.query_params else v)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def sent_bytes(at) -> dict:
    """Bytes of the chart specs and the dataframes' Arrow data this run put on the page."""
    specs = sum(len(c.proto.spec) + sum(len(d.data.data) for d in c.proto.datasets) for c in at.get("vega_lite_chart"))
    frames = sum(len(d.proto.arrow_data.data) for d in at.dataframe)
    options = sum(sum(len(o) for o in m.proto.options) for m in at.get("multiselect"))
    return {"specs": specs, "tables": frames, "multiselect options": options}


_FRESH = itertools.count(1)


def actions(at, i: int) -> dict:
    """The interactions of the browser benchmark, as AppTest steps (each returns the AppTest)."""
    ids = list(at.dataframe[0].value["run_id"]) if len(at.dataframe) else []
    return {
        "rerun": lambda: at.run(),
        "filter": lambda: at.text_input(key="compare_filter").input(("metrics.f1 > 0.5", "metrics.f1 > 0.6")[i % 2]).run(),
        # A filter the page has not seen: nothing of it is cached (what a user typing a new one gets).
        "new filter": lambda: at.text_input(key="compare_filter").input(f"metrics.f1 > {0.4 + next(_FRESH) / 1000:.3f}").run(),
        "axis": lambda: at.selectbox(key="compare_x").select(("metrics.accuracy", "metrics.latency_ms")[i % 2]).run(),
        "selection": lambda: at.multiselect(key="compare_selected").set_value(ids[:1] if i % 2 == 0 else []).run(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--profile", default="", help="cProfile one interaction: rerun, filter, \"new filter\", axis, selection")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    uri = build.sqlite_store(args.runs)
    t = time.perf_counter()
    at = open_page(uri)
    print(f"first run (loads the store): {time.perf_counter() - t:.2f} s")
    at.run()
    names = list(actions(at, 0))
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(args.repeats):
        for name in names:
            step = actions(at, i)[name]
            t = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t)
            assert not at.exception, at.exception
    print(f"\nCompare script, {args.runs:,} runs, medians of {args.repeats} (AppTest, load {os.getloadavg()[0]:.1f}):")
    for name in names:
        print(f"  {name:<10} {statistics.median(times[name]):.3f} s   " + " ".join(f"{v:.2f}" for v in times[name]))
    print("  sent on the last run: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sent_bytes(at).items()))
    if args.profile:
        from streamlit.runtime.scriptrunner import script_runner

        step = actions(at, 1)[args.profile]
        actions(at, 0)[args.profile]()
        prof = cProfile.Profile()
        original = script_runner.ScriptRunner._run_script

        def profiled(self, rerun_data):  # the script runs on its own thread: profile that thread
            prof.enable()
            try:
                return original(self, rerun_data)
            finally:
                prof.disable()

        script_runner.ScriptRunner._run_script = profiled
        try:
            step()
        finally:
            script_runner.ScriptRunner._run_script = original
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
