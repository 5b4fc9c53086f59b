"""The HTML report in a real Chromium with every network request refused: charts are drawn, no
outside request is even attempted, and hostile run data runs no script (no dialog opens)."""

from __future__ import annotations

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, SHOTS
from podium.report import build_report
from podium.report.html import render_html
from report_store import EXPERIMENT


@pytest.fixture(scope="module")
def report_file(report_template, tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-report")
    uri, _ = report_template
    # A UI address so the file has links: they must not be followed on open either.
    report = build_report(uri, [EXPERIMENT], "score", top=3, ui_url="http://mlflow.invalid:5000",
                          summary="See [the wiki](https://wiki.invalid/x) and ![logo](https://cdn.invalid/logo.png).")
    path = base / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_html_report_draws_charts_offline(report_file, scheme):
    from playwright.sync_api import sync_playwright

    attempted, dialogs, errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)

            def refuse(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    attempted.append(route.request.url)
                    route.abort()

            page.route("**/*", refuse)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report_file.as_uri())
            page.wait_for_selector("#chart-parallel canvas, #chart-parallel svg.marks", timeout=30_000)
            page.wait_for_selector("#chart-scatter canvas, #chart-scatter svg.marks", timeout=30_000)
            # Vega draws marks: the scatter's SVG has its points as paths.
            assert page.locator("#chart-scatter svg.marks path").count() > 3
            assert page.locator(".chart-error").count() == 0
            assert page.locator("table tbody tr").count() == 3
            # Hover each point until Vega's tooltip shows the hostile run: its name is text there.
            points = page.locator("#chart-scatter svg.marks g.mark-symbol path")
            shown = ""
            for i in range(points.count()):
                points.nth(i).hover(force=True)
                tip = page.locator("#vg-tooltip-element")
                if tip.count() and "alert('run')" in (tip.text_content() or ""):
                    shown = tip.inner_html()
                    break
            assert "&lt;script&gt;alert('run')&lt;/script&gt;" in shown and "<script" not in shown
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"report-{scheme}.png"), full_page=True)
        finally:
            browser.close()
    assert attempted == []
    assert dialogs == [] and errors == []


def test_report_page_preview_scripts_run_in_an_opaque_origin(report_template, tmp_path_factory):
    """Issue 12: the preview draws its charts, but its scripts cannot reach the app's origin
    (cookies, storage, DOM): the frame is sandboxed to allow-scripts only."""
    from browser import chromium, screenshot, streamlit_server

    base = tmp_path_factory.mktemp("browser-report-page")
    uri, _ = report_template
    with streamlit_server(uri, base) as url, chromium((1400, 1100)) as page:
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url + "/report")
        page.wait_for_selector("iframe", timeout=90_000)
        report = None
        for _ in range(600):  # the report's frame is nested in Streamlit's srcdoc frame
            report = next((f for f in page.frames if f.parent_frame and f.parent_frame.parent_frame), None)
            if report and report.query_selector("#chart-scatter svg.marks, #chart-scatter canvas"):
                break
            page.wait_for_timeout(100)
        assert report is not None and report.query_selector("#chart-scatter svg.marks, #chart-scatter canvas")
        assert report.evaluate("() => self.origin") == "null"
        reach = report.evaluate("""() => {
            const out = {};
            for (const [name, get] of [["top", () => top.document.title], ["parent", () => parent.document.body],
                                       ["storage", () => localStorage.length], ["cookie", () => document.cookie]]) {
                try { get(); out[name] = "reached"; } catch (e) { out[name] = "blocked"; }
            }
            return out;
        }""")
        assert reach == {"top": "blocked", "parent": "blocked", "storage": "blocked", "cookie": "blocked"}
        assert page.evaluate("() => self.origin") == url  # the app itself is on its own origin
        page.wait_for_timeout(500)
        screenshot(page, "report-page")
        report.evaluate("() => document.getElementById('charts').scrollIntoView()")
        page.locator("iframe").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        screenshot(page, "report-page-preview")
    assert dialogs == []
