"""Time what a user feels on Compare: a filter, an axis and a selection change, and opening the page.

Usage (from the repository root)::

    .venv/bin/python -m bench.browser_interactions                      # 10,000 runs, 3 rounds
    .venv/bin/python -m bench.browser_interactions --runs 50000 --repeats 3 --no-naive

Two servers run side by side on loopback: ``streamlit run app.py`` (Podium) and
``bench/naive_app.py`` (20 lines: ``mlflow.search_runs`` cached, ``st.dataframe``, a filter box,
an x-axis select and two Altair scatters), both over the cached SQLite store of ``bench/build.py``.
Debian's Chromium (Playwright, as in ``tests/browser.py``) keeps one page open on each; every round
does each interaction on Podium, then the same on the naive app, alternating, so a busy machine
slows both alike. The table shows medians.

Interactions (Podium / naive app):

- **filter**: type a filter, press Enter (``metrics.f1 > 0.500``, ``> 0.600``, ``> 0.501``, ``> 0.601``…:
  each one new to the app, so nothing of its result is cached; the naive app's box takes pandas
  syntax, `` `metrics.f1` > 0.500``);
- **axis**: the scatter's x select, typed and Enter (``accuracy`` ⇄ ``latency_ms``);
- **selection**: tick the first row's checkbox in the runs table (untimed: untick it again);
- **open**: a fresh browser context opens the page (Compare's permalink; Streamlit's cache already
  holds the runs, so a "kept frame") until both charts have painted (``bench/browser_compare.py``'s
  probe).

A change is timed in the page's clock from the moment just before the key press or click to the last
change on the page: the last DOM mutation outside Streamlit's header and status widget, or the last
change in the painted pixels of any canvas (Vega charts, the data grid; sampled every 25 ms). The page
is settled when Streamlit's status widget shows no run, no element is stale, and nothing has changed
for ``QUIET_S``. A busy main thread delays a sample, so times err late, never early.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "src", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from bench import browser_compare as bc  # noqa: E402
from bench import build  # noqa: E402

QUIET_S = 1.0
TIMEOUT_S = 240
ROW_HEIGHT = 35
INTERACTIONS = ("filter", "axis", "selection", "open")

PROBE = """
(() => {
  const ix = window.__ix = {t0: 0, last: 0, counts: ''};
  const chrome = '[data-testid="stHeader"], [data-testid="stStatusWidget"], [data-testid="stToolbar"], [data-testid="stDecoration"]';
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest && el.closest(chrome)) continue;
      ix.last = performance.now();
      return;
    }
  }).observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
  const small = document.createElement('canvas');
  small.width = 64; small.height = 32;
  const ctx = small.getContext('2d', {willReadFrequently: true});
  const sig = (c) => {
    if (!c.width || !c.height) return 0;
    ctx.clearRect(0, 0, 64, 32);
    ctx.drawImage(c, 0, 0, 64, 32);
    const d = ctx.getImageData(0, 0, 64, 32).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + d[i + 3]) | 0;
    return h;
  };
  setInterval(() => {
    const key = [...document.querySelectorAll('canvas')].map(sig).join(',');
    if (key !== ix.counts) { ix.counts = key; ix.last = performance.now(); }
  }, 25);
})();
"""

SETTLED = """() => {
  const ix = window.__ix, now = performance.now();
  const running = !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  const stale = document.querySelectorAll('[data-stale="true"]').length;
  const errors = document.querySelectorAll('[data-testid="stException"]').length;
  return {now, t0: ix.t0, last: ix.last, running, stale, errors};
}"""


def settle(page, quiet_s: float = QUIET_S) -> float:
    """Wait for a settled page after the action marked at ``__ix.t0``; seconds from t0 to the last change."""
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        s = page.evaluate(SETTLED)
        if s["errors"]:
            raise RuntimeError("an exception is shown on the page")
        if s["last"] > s["t0"] and not s["running"] and not s["stale"] and s["now"] - s["last"] >= quiet_s * 1000:
            return (s["last"] - s["t0"]) / 1000
        time.sleep(0.1)
    raise RuntimeError("the page did not settle")


def mark(page) -> None:
    page.evaluate("window.__ix.t0 = performance.now()")


class App:
    """One app in one long-lived page: how to do each interaction there."""

    def __init__(self, name: str, url: str, filter_label: str, filters: tuple[str, str], x_key: str,
                 x_values: tuple[str, str], open_url: str):
        self.name, self.url, self.filter_label, self.filters = name, url, filter_label, filters
        self.x_key, self.x_values, self.open_url = x_key, x_values, open_url
        self.page = None
        self.filters_done = 0

    def start(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": bc.VIEWPORT[0], "height": bc.VIEWPORT[1]})
        self.context.add_init_script(PROBE)
        self.page = self.context.new_page()
        self.page.goto(self.url, wait_until="commit")
        self.page.wait_for_function("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
                                    "[data-testid=\"stVegaLiteChart\"] svg').length >= 2", timeout=TIMEOUT_S * 1000)
        settle(self.page, 2.0)  # t0 = 0: from navigation

    def filter(self, i: int) -> float:
        # A filter this app has not seen in the run (0.500, 0.600, 0.501, 0.601…): what a user typing
        # one gets. Repeating two values would time a cached result from the third time on.
        n, self.filters_done = self.filters_done, self.filters_done + 1
        box = self.page.get_by_role("textbox", name=self.filter_label)
        box.fill(self.filters[n % 2].format(n // 2))
        mark(self.page)
        box.press("Enter")
        return settle(self.page)

    def axis(self, i: int) -> float:
        self.page.locator(f".st-key-{self.x_key} input").click()
        self.page.keyboard.type(self.x_values[i % 2])
        self.page.wait_for_selector('[role="option"]', timeout=30_000)
        mark(self.page)
        self.page.keyboard.press("Enter")
        return settle(self.page)

    def _click_first_row(self) -> None:
        grid = self.page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        self.page.mouse.click(grid["x"] + 18, grid["y"] + ROW_HEIGHT * 1.5)

    def selection(self, i: int) -> float:
        self.page.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
        mark(self.page)
        self._click_first_row()
        took = settle(self.page)
        mark(self.page)  # untimed: untick the row again, so every round starts alike
        self._click_first_row()
        settle(self.page)
        return took

    def open(self, browser, i: int) -> float:
        return bc.load_once(browser, self.open_url)["charts_ms"] / 1000


def measure(runs: int = 10_000, repeats: int = 3, naive: bool = True, log_dir: Path | None = None,
            shots: Path | None = None, verbose: bool = True) -> dict:
    from browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server
    from playwright.sync_api import sync_playwright

    uri = build.sqlite_store(runs)
    say = print if verbose else (lambda *a, **k: None)
    times: dict[tuple[str, str], list[float]] = {}
    loads: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="podium-bench-ix-") as tmp, contextlib.ExitStack() as stack:
        logs = log_dir or Path(tmp)
        base = stack.enter_context(streamlit_server(uri, logs))
        apps = [App("podium", bc.permalink(base), "Filter (MLflow search syntax)",
                    ("metrics.f1 > 0.5{:02d}", "metrics.f1 > 0.6{:02d}"), "compare_x", ("accuracy", "latency_ms"),
                    bc.permalink(base))]
        if naive:
            script = ROOT / "bench" / "naive_app.py"
            nbase = stack.enter_context(naive_server(script, uri, logs))
            apps.append(App("naive", nbase, "Filter", ("`metrics.f1` > 0.5{:02d}", "`metrics.f1` > 0.6{:02d}"), "naive_x",
                            ("metrics.accuracy", "metrics.latency_ms"), nbase))
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        for app in apps:
            t = time.perf_counter()
            app.start(browser)  # the first visit reads the store into the app's cache
            say(f"{app.name}: first visit settled in {time.perf_counter() - t:.1f} s (wall, untimed)", flush=True)
        for i in range(repeats):
            loads.append(os.getloadavg())
            for what in INTERACTIONS:
                for app in apps:
                    took = app.open(browser, i) if what == "open" else getattr(app, what)(i)
                    times.setdefault((app.name, what), []).append(took)
                    say(f"round {i + 1} {what:<9} {app.name:<6} {took:6.2f} s", flush=True)
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            for app in apps:
                app.page.screenshot(path=str(shots / f"interactions-{app.name}-{runs}.png"), full_page=True)
    med = {key: statistics.median(v) for key, v in times.items()}
    return {"runs": runs, "repeats": repeats, "medians": med, "times": times, "load": loads}


@contextlib.contextmanager
def naive_server(script: Path, uri: str, log_dir: Path):
    """``streamlit run bench/naive_app.py -- <uri> <experiment>`` on a free loopback port."""
    from harness.processes import free_port, healthy_subprocess

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--", uri, build.EXPERIMENT]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    with healthy_subprocess("streamlit-naive", cmd, url + "/_stcore/health", log_dir / f"naive-{port}.log",
                            env, timeout_s=60, cwd=ROOT):
        yield url


def table(res: dict) -> str:
    med = res["medians"]
    rows = ["| Interaction | Runs | Podium | Naive app | Target | Met |", "|---|---:|---:|---:|---|---|"]
    limit = 1.0 if res["runs"] <= 10_000 else 2.0
    for what in INTERACTIONS:
        p, n = med.get(("podium", what)), med.get(("naive", what))
        cap = 2.0 if what == "open" else limit
        target = f"≤ {cap:g} s" + ("" if what == "open" else " and ≤ naive")
        met = p is not None and p <= cap and (what == "open" or n is None or p <= n)
        rows.append(f"| {what} | {res['runs']:,} | {p:.2f} s | {'–' if n is None else f'{n:.2f} s'} | {target} | "
                    f"{'yes' if met else '**no**'} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store (default 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every interaction (default 3)")
    parser.add_argument("--naive", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the naive app, alternating (default on)")
    parser.add_argument("--screenshots", default="", help="folder for a full-page PNG of each app at the end")
    args = parser.parse_args(argv)
    res = measure(args.runs, args.repeats, args.naive, shots=Path(args.screenshots) if args.screenshots else None)
    loads = [la[0] for la in res["load"]]
    print(f"\nCompare, {res['runs']:,} runs, medians of {res['repeats']} rounds "
          f"(1-min load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores):\n")
    print(table(res))
    for key, values in sorted(res["times"].items()):
        print(f"  {key[0]:<6} {key[1]:<9} " + " ".join(f"{v:.2f}" for v in values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
