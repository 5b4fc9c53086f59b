"""Time the Compare page with many runs in headless Chromium: data arrival and both charts drawn.

Usage (from the repository root)::

    .venv/bin/python -m bench.browser_compare                 # 10,000 runs, 5 page loads
    .venv/bin/python -m bench.browser_compare --runs 50000 --repeats 3 --no-naive

A real ``streamlit run app.py`` serves the cached SQLite store of ``bench/build.py``; Chromium
(Debian's, driven by Playwright as in ``tests/browser.py``) opens a Compare permalink in a fresh
browser context (a new Streamlit session) for every timed load. One untimed load first warms
Streamlit's shared cache of loaded runs, so the timed loads measure the page, not the store read
(``bench/run_all.py`` times that).

A script injected before the page's own scripts watches the DOM (``performance.now()``,
milliseconds since navigation started):

- **data arrives**: the runs table (``stDataFrame``) is in the page (a MutationObserver notes the
  moment): Streamlit creates it when the table's rows reach the browser; the page's script sends
  the charts after it;
- **charts drawn**: both Vega charts (``stVegaLiteChart``: parallel coordinates, scatter) have
  painted at least half of the pixels they end with on their canvases (every 25 ms each canvas is
  shrunk into a 96×48 canvas and its non-white pixels counted; the page is watched until nothing
  changes for 1.5 s, so a chart redrawn at another size is timed by its final drawing). A busy
  main thread delays a sample, so this time errs late, never early.

The page's time from data to charts includes Python building the chart specs, Streamlit sending
them and Vega parsing and drawing them. With ``--naive`` (default on) a one-page Streamlit app
times, the same way, a naive Vega-Lite parallel-coordinates chart of the same runs' numeric axes
(raw values; fold, min/max normalisation and one line per run done by Vega in the browser;
canvas), for context.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "src", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from bench import build  # noqa: E402

# The view a permalink opens (the page's defaults for the bench store, written out so the
# benchmark does not drift when defaults change).
AXES = ["params.batch_size", "params.dropout", "params.lr", "params.max_depth", "params.model",
        "params.n_estimators", "metrics.f1"]
QUERY = [("exp", build.EXPERIMENT), *[("axes", a) for a in AXES], ("color", "metrics.f1"),
         ("x", "metrics.latency_ms"), ("y", "metrics.f1")]
VIEWPORT = (1400, 3000)  # tall enough that both charts are on screen
QUIET_S = 1.5
TIMEOUT_S = 180

PROBE = """
(() => {
  const bench = window.__bench = {marks: {}, samples: []};
  const MARKS = {  // name: selector; the time each first appears
    caption: '[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]',
    data: '[data-testid="stDataFrame"]',
    cells: '[data-testid="stDataFrame"] [data-testid="glide-cell-1-0"]',
  };
  const small = document.createElement('canvas');
  small.width = 96; small.height = 48;
  const ctx = small.getContext('2d', {willReadFrequently: true});
  const painted = (c) => {
    if (!c || !c.width || !c.height) return 0;
    ctx.clearRect(0, 0, 96, 48);
    ctx.drawImage(c, 0, 0, 96, 48);
    const d = ctx.getImageData(0, 0, 96, 48).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 16 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
    }
    return n;
  };
  // Elements are timed by a MutationObserver: it runs right after the DOM change, even when the
  // main thread stays busy afterwards (which would delay a timer).
  const mark = () => {
    const now = performance.now();
    for (const [name, sel] of Object.entries(MARKS)) {
      if (!(name in bench.marks) && document.querySelector(sel)) bench.marks[name] = now;
    }
  };
  new MutationObserver(mark).observe(document, {childList: true, subtree: true});
  let last = '';
  setInterval(() => {
    const now = performance.now();
    mark();
    // A canvas chart counts its painted pixels; an SVG chart (the naive one's default) its marks.
    const counts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
      .map(el => el.querySelector('canvas') ? painted(el.querySelector('canvas'))
                 : el.querySelectorAll('svg .role-mark > *').length);
    const key = counts.join(',');
    if (key !== last) { bench.samples.push([now, counts]); last = key; }
  }, 25);
})();
"""


def permalink(base_url: str) -> str:
    return f"{base_url}/compare?{urlencode(QUERY)}"


def _charts_drawn_at(samples: list, charts: int = 2) -> float | None:
    """First sample time at which each of the first ``charts`` charts has ≥ half its final pixels."""
    if not samples or len(samples[-1][1]) < charts:
        return None
    final = samples[-1][1][:charts]
    if min(final) <= 0:
        return None
    for t, counts in samples:
        if len(counts) >= charts and all(c >= 0.5 * f for c, f in zip(counts[:charts], final)):
            return t
    return None


def load_once(browser, url: str, shot: Path | None = None, charts: int = 2) -> dict:
    """One fresh session: navigate, wait for the table and both charts, then for a quiet page."""
    context = browser.new_context(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
    try:
        context.add_init_script(PROBE)
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            "window.__bench && window.__bench.marks.data !== undefined && window.__bench.samples.length"
            f" && window.__bench.samples.at(-1)[1].length >= {charts} && window.__bench.samples.at(-1)[1].every(c => c > 0)",
            timeout=TIMEOUT_S * 1000, polling=100,
        )
        # Quiet: no change in the charts' pixels for QUIET_S (a resize redraw would show here).
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            state = page.evaluate("[performance.now(), window.__bench.samples.at(-1)[0]]")
            if state[0] - state[1] >= QUIET_S * 1000:
                break
            time.sleep(0.2)
        bench = page.evaluate("window.__bench")
        errors = page.locator('[data-testid="stException"]').count()
        if shot is not None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    drawn = _charts_drawn_at(bench["samples"], charts)
    marks = bench["marks"]
    if errors or drawn is None or "data" not in marks:
        raise RuntimeError(f"the Compare page did not draw its charts (exceptions on page: {errors})")
    return {"data_ms": marks["data"], "caption_ms": marks.get("caption"), "charts_ms": drawn,
            "after_data_ms": drawn - marks["data"], "pixels": bench["samples"][-1][1][:charts]}


# --- the naive baseline: Vega does fold and normalisation of raw values in the browser ----------

NAIVE_APP = """
import sys
sys.path.insert(0, {src!r})
import altair as alt
import pandas as pd
import streamlit as st
from podium import store

AXES = {axes!r}

@st.cache_resource
def frame():
    df = store.load_runs({uri!r}, [{experiment!r}])
    return pd.DataFrame({{a.split(".", 1)[1]: pd.to_numeric(df[a], errors="coerce") for a in AXES}})

values = frame()
keys = list(values.columns)
st.title("Naive parallel coordinates")
st.dataframe(values.head(100), height=200)
chart = (
    alt.Chart(values)
    .transform_window(index="row_number()")
    .transform_fold(keys)
    .transform_joinaggregate(min="min(value)", max="max(value)", groupby=["key"])
    .transform_calculate(norm="(datum.value - datum.min) / (datum.max - datum.min)")
    .mark_line(opacity=0.1, strokeWidth=1)
    .encode(x=alt.X("key:N", sort=keys), y="norm:Q", color="f1:Q", detail="index:N")
    .properties(height=460)
)
st.altair_chart(chart.properties(usermeta={usermeta!r}), width="stretch")
"""


def naive_app(uri: str, folder: Path, renderer: str) -> Path:
    """A one-page Streamlit app: the same runs' numeric axes as raw values, a table, then a plain
    Vega-Lite parallel-coordinates chart that folds and normalises in the browser, drawn by
    ``renderer`` ("canvas", or "default" for what Streamlit picks: SVG)."""
    numeric = [a for a in AXES if a != "params.model"]
    usermeta = {"embedOptions": {"renderer": renderer}} if renderer != "default" else {}
    script = folder / f"naive_app_{renderer}.py"
    script.write_text(NAIVE_APP.format(src=str(ROOT / "src"), axes=numeric, uri=uri, experiment=build.EXPERIMENT,
                                       usermeta=usermeta), encoding="utf-8")
    return script


@contextlib.contextmanager
def streamlit_script(script: Path, log_dir: Path):
    """``streamlit run <script>`` on a free port (``tests/browser.py`` serves only app.py)."""
    import requests
    from stores import free_port

    port = free_port()
    log = open(log_dir / f"streamlit-naive-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=script.parent, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(url + "/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not become healthy in 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def measure(runs: int = 10_000, repeats: int = 5, naive: bool = True, shot: Path | None = None,
            log_dir: Path | None = None, verbose: bool = True) -> dict:
    """Medians over ``repeats`` fresh page loads after one warm-up load (and the naive baseline)."""
    from browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server
    from playwright.sync_api import sync_playwright

    uri = build.sqlite_store(runs)
    say = print if verbose else (lambda *a, **k: None)
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        logs = log_dir or Path(tmp)
        with streamlit_server(uri, logs) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                url = permalink(base)
                t = time.perf_counter()
                warm = load_once(browser, url)
                say(f"warm-up load (reads the store into Streamlit's cache): charts at {warm['charts_ms'] / 1000:.2f} s "
                    f"({time.perf_counter() - t:.1f} s wall)", flush=True)
                loads = []
                for i in range(repeats):
                    res = load_once(browser, url, shot if i == repeats - 1 else None)
                    loads.append(res)
                    say(f"load {i + 1}: data at {res['data_ms'] / 1000:.2f} s, charts at {res['charts_ms'] / 1000:.2f} s, "
                        f"charts after data {res['after_data_ms'] / 1000:.2f} s", flush=True)
            finally:
                browser.close()
        naive_loads: dict[str, list] = {}
        for renderer in ("canvas", "default") if naive else ():
            with streamlit_script(naive_app(uri, Path(tmp), renderer), logs) as base, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    load_once(browser, base, charts=1)  # warm-up: the store read
                    for i in range(max(1, min(repeats, 3))):
                        naive_loads.setdefault(renderer, []).append(load_once(browser, base, charts=1))
                        say(f"naive Vega-Lite parallel coordinates ({renderer} renderer), {runs:,} runs: drawn "
                            f"{naive_loads[renderer][-1]['after_data_ms'] / 1000:.2f} s after its data", flush=True)
                finally:
                    browser.close()
    med = lambda key: statistics.median(r[key] for r in loads) / 1000  # noqa: E731
    result = {"runs": runs, "repeats": repeats, "data_s": med("data_ms"), "charts_s": med("charts_ms"),
              "after_data_s": med("after_data_ms"), "loads": loads, "url_query": urlencode(QUERY)}
    for renderer, rows in naive_loads.items():
        result[f"naive_{renderer}_s"] = statistics.median(r["after_data_ms"] for r in rows) / 1000
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store (default 10000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed page loads (default 5)")
    parser.add_argument("--naive", action=argparse.BooleanOptionalAction, default=True,
                        help="also time a naive Vega-Lite parallel-coordinates chart (default on)")
    parser.add_argument("--screenshot", default="", help="save the last timed load's full page as this PNG")
    args = parser.parse_args(argv)
    res = measure(args.runs, args.repeats, args.naive, Path(args.screenshot) if args.screenshot else None)
    load = os.getloadavg()
    print(f"\nCompare page, {res['runs']:,} runs, medians of {res['repeats']} fresh page loads "
          f"(load average {load[0]:.1f}):")
    print(f"  data arrives (runs table shown): {res['data_s']:.2f} s after navigation")
    print(f"  both charts drawn:               {res['charts_s']:.2f} s after navigation")
    print(f"  charts drawn after data:         {res['after_data_s']:.2f} s   (target ≤ 3 s)")
    for renderer in ("canvas", "default"):
        if f"naive_{renderer}_s" in res:
            print(f"  naive Vega-Lite parallel coordinates ({renderer} renderer; fold + normalisation in the browser),"
                  f" drawn after its data: {res[f'naive_{renderer}_s']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
