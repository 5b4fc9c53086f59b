"""Where the browser's time goes in one Compare interaction: what changed when, and Chromium's JS profile.

Usage (from the repository root)::

    .venv/bin/python -m bench.diagnose_interactions selection     # or filter, axis; 10,000 runs

Serves the cached SQLite store of ``bench/build.py`` with ``streamlit run app.py``, opens
Compare's benchmark permalink in headless Chromium, does the interaction twice untimed, then twice
timed as ``bench/browser_interactions.py`` times it, and prints for each: the time of the first and
last DOM mutation per element (by ``data-testid`` and widget key), each canvas's last change, the
websocket frames (time, size), and the JavaScript CPU profile's self time per script file and per
function (CDP ``Profiler``). Python's share is ``bench/profile_compare.py``'s.
"""
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "src", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
from bench import browser_compare as bc  # noqa: E402
from bench import browser_interactions as bi  # noqa: E402
from bench import build  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

PROBE2 = """
(() => {
  const log = window.__log = [];
  const chrome = '[data-testid="stHeader"], [data-testid="stStatusWidget"], [data-testid="stToolbar"], [data-testid="stDecoration"]';
  new MutationObserver((records) => {
    const now = performance.now();
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!el || !el.closest || el.closest(chrome)) continue;
      const keyed = el.closest('[class*="st-key-"]');
      const tid = el.closest('[data-testid]');
      const key = keyed ? [...keyed.classList].find(c => c.startsWith('st-key-')) : '';
      log.push([now, 'mut', (tid ? tid.dataset.testid : '?') + ' ' + key]);
    }
  }).observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
  const small = document.createElement('canvas'); small.width = 64; small.height = 32;
  const ctx = small.getContext('2d', {willReadFrequently: true});
  const sig = (c) => { if (!c.width || !c.height) return 0; ctx.clearRect(0,0,64,32); ctx.drawImage(c,0,0,64,32);
    const d = ctx.getImageData(0,0,64,32).data; let h = 0; for (let i = 0; i < d.length; i += 4) h = (h*31 + d[i] + 7*d[i+1] + 13*d[i+2] + d[i+3]) | 0; return h; };
  let prev = []; let running = false;
  setInterval(() => { const r = !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"]'); if (r !== running) { running = r; log.push([performance.now(), 'run', r ? 'start' : 'end']); } }, 10);
  setInterval(() => {
    const cs = [...document.querySelectorAll('canvas')];
    const now = performance.now();
    cs.forEach((c, i) => { const s = sig(c); if (prev[i] !== s) { const tid = c.closest('[data-testid]'); log.push([now, 'canvas', i + ' ' + (tid ? tid.dataset.testid : '?')]); } prev[i] = s; });
    prev.length = cs.length;
  }, 25);
})();
"""


def main(what: str = "selection", runs: int = 10000) -> None:
    uri = build.sqlite_store(runs)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        base = stack.enter_context(streamlit_server(uri, Path(tmp)))
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        app = bi.App("podium", bc.permalink(base), "Filter (MLflow search syntax)", ("metrics.f1 > 0.5{:02d}", "metrics.f1 > 0.6{:02d}"),
                     "compare_x", ("accuracy", "latency_ms"), bc.permalink(base))
        app.context = browser.new_context(viewport={"width": bc.VIEWPORT[0], "height": bc.VIEWPORT[1]})
        app.context.add_init_script(bi.PROBE)
        app.context.add_init_script(PROBE2)
        app.page = app.context.new_page()
        frames = []
        app.page.on("websocket", lambda ws: (ws.on("framereceived", lambda p: frames.append((time.time(), len(p) if p else 0, 'in'))),
                                             ws.on("framesent", lambda p: frames.append((time.time(), len(p) if p else 0, 'out')))))
        app.page.goto(app.url, wait_until="commit")
        app.page.wait_for_function("document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas').length >= 2", timeout=240000)
        bi.settle(app.page, 2.0)
        for i in range(2):
            getattr(app, what)(i) if what != "selection" else None
        for rep in range(2):
            app.page.evaluate("window.__log.length = 0")
            frames.clear()
            t_wall = time.time(); t_page = app.page.evaluate("performance.now()")
            cdp = app.context.new_cdp_session(app.page)
            cdp.send("Profiler.enable"); cdp.send("Profiler.setSamplingInterval", {"interval": 500}); cdp.send("Profiler.start")
            if what == "selection":  # the tick is timed and logged; App.selection would log its untimed untick
                app.page.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
                bi.mark(app.page)
                app._click_first_row()
                took = bi.settle(app.page)
            else:
                took = getattr(app, what)(rep)
            prof = cdp.send("Profiler.stop")["profile"]
            nodes = {n["id"]: n for n in prof["nodes"]}
            import collections
            self_t = collections.Counter(); by_file = collections.Counter()
            deltas = prof["timeDeltas"]
            for sid, dt in zip(prof["samples"], deltas):
                n = nodes[sid]; cf = n["callFrame"]
                name = cf["functionName"] or "(anon)"; url = cf["url"].rsplit("/", 1)[-1]
                self_t[(name, url, cf.get("lineNumber"))] += dt; by_file[url or name] += dt
            total = sum(deltas)
            print(f"  JS profile: total {total/1e6:.2f} s")
            for k, v in by_file.most_common(12): print(f"    file {k[:60]:<60} {v/1e6:6.3f} s")
            for k, v in self_t.most_common(25): print(f"    fn   {str(k)[:90]:<90} {v/1e6:6.3f} s")
            log = app.page.evaluate("window.__log")
            t0 = app.page.evaluate("window.__ix.t0")
            if what == "selection":  # untimed: untick the row again, so both rounds start alike
                bi.mark(app.page)
                app._click_first_row()
                bi.settle(app.page)
            print(f"\n=== {what} round {rep}: {took:.2f} s")
            # group mutations by 100ms buckets
            last = {}
            for t, kind, what_ in log:
                if t < t0: continue
                k = (kind, what_)
                if k not in last: last[k] = [t - t0, t - t0, 0]
                last[k][1] = t - t0; last[k][2] += 1
            for k, (a, b, n) in sorted(last.items(), key=lambda kv: kv[1][1]):
                print(f"  {a/1000:6.2f}-{b/1000:6.2f} s  x{n:<5} {k[0]:<6} {k[1]}")
            off = t_page / 1000 - t_wall
            for ft, size, d in frames:
                tt = ft + off - t0 / 1000
                print(f"  ws {d} {tt:6.2f} s {size/1e3:8.1f} kB")
        browser.close()

if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["selection"]), *([int(sys.argv[2])] if len(sys.argv) > 2 else []))
