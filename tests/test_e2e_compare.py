"""End to end in a real Chromium: a Compare permalink opens with both charts drawn."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

from PIL import Image
from playwright.sync_api import expect

from browser import chromium, screenshot

CHARTS_DRAWN = "document.querySelectorAll('.vega-embed canvas').length >= 2"
RUNS_IN_URL = "new URLSearchParams(location.search).getAll('runs').length == {n}"


def open_compare(page, base_url: str, query: str) -> None:
    page.goto(f"{base_url}/compare?{query}")
    page.get_by_role("heading", name="Parallel coordinates").wait_for(timeout=90_000)
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000)


def test_permalink_draws_parallel_coordinates_and_scatter(demo_app_url):
    query = "exp=fraud-detection&filter=" + quote("metrics.f1 > 0.2")
    with chromium(viewport=(1400, 3000)) as page:
        open_compare(page, demo_app_url, query)
        assert page.locator('[data-testid="stException"]').count() == 0
        expect(page.get_by_role("textbox", name="Filter (MLflow search syntax)")).to_have_value("metrics.f1 > 0.2")
        caption = page.get_by_text(re.compile(r"^f1 > 0\.2, \d+ of \d+ runs")).first
        caption.wait_for(timeout=30_000)
        matched, total = map(int, re.findall(r"(\d+) of (\d+) runs", caption.inner_text())[0])
        assert 0 < matched <= total
        # Both charts are drawn on canvases with pixels of their own size, not empty placeholders.
        sizes = page.evaluate(
            "[...document.querySelectorAll('.vega-embed canvas')].map(c => [c.width, c.height])"
        )
        assert len(sizes) >= 2 and all(w > 300 and h > 200 for w, h in sizes[:2])
        assert "filter=metrics.f1" in page.url and "exp=fraud-detection" in page.url
        screenshot(page, "compare-permalink")


def test_the_issue_permalink_opens_on_first_load(demo_app_url):
    # The demo's fraud models reach f1 ≈ 0.5, so this filter matches nothing: a clear message.
    with chromium(viewport=(1400, 1200)) as page:
        page.goto(f"{demo_app_url}/compare?exp=fraud-detection&filter=metrics.f1%20%3E%200.8")
        page.get_by_text("No runs match this filter").wait_for(timeout=90_000)
        page.get_by_text(re.compile(r"^f1 > 0\.8, 0 of \d+ runs")).first.wait_for(timeout=30_000)
        expect(page.get_by_role("textbox", name="Filter (MLflow search syntax)")).to_have_value("metrics.f1 > 0.8")
        assert page.locator('[data-testid="stException"]').count() == 0


def test_bad_filter_typed_in_the_browser_keeps_the_charts(demo_app_url):
    with chromium(viewport=(1400, 1600)) as page:
        open_compare(page, demo_app_url, "exp=fraud-detection")
        box = page.get_by_role("textbox", name="Filter (MLflow search syntax)")
        box.fill("metrics.f1 >> 0.8")
        box.press("Enter")
        page.get_by_text(re.compile("Invalid comparator")).first.wait_for(timeout=30_000)
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "compare-bad-filter")


def test_selecting_rows_and_points_selects_runs(demo_app_url):
    with chromium(viewport=(1400, 2400)) as page:
        open_compare(page, demo_app_url, "exp=fraud-detection")
        grid = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        row_height = 35
        page.mouse.click(grid["x"] + 18, grid["y"] + row_height * 1.5)  # the first row's checkbox
        page.get_by_text("Selected runs (1)").wait_for(timeout=30_000)
        page.mouse.click(grid["x"] + 18, grid["y"] + row_height * 2.5)  # and the second row's
        page.get_by_text("Selected runs (2)").wait_for(timeout=30_000)
        page.wait_for_function(RUNS_IN_URL.format(n=2), timeout=30_000)  # the permalink follows
        # Click a coloured point of the scatter (found by its pixels): the selection becomes that run.
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        canvas = page.locator(".vega-embed canvas").nth(1)
        box = canvas.bounding_box()
        img = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        w, h = img.size
        spot = next(
            ((x, y) for y in range(int(h * 0.2), int(h * 0.9), 2) for x in range(int(w * 0.1), int(w * 0.7), 2)
             if max(img.getpixel((x, y))) - min(img.getpixel((x, y))) > 90),
        )
        page.mouse.click(box["x"] + (spot[0] + 2) * box["width"] / w, box["y"] + (spot[1] + 2) * box["height"] / h)
        page.get_by_text("Selected runs (1)").wait_for(timeout=30_000)
        page.wait_for_function(RUNS_IN_URL.format(n=1), timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "compare-selected")
