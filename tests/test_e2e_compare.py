"""End to end in a real Chromium: Compare permalinks, selection, brushing and shared views."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
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
        # A point's own colour (tableau10 at 0.85 opacity on white), not the magenta ring around a selected run.
        colours = [(104, 141, 180), (244, 159, 75), (229, 112, 114), (128, 193, 189), (104, 178, 94)]

        def point(rgb) -> bool:
            return any(sum(abs(a - b) for a, b in zip(rgb, c)) < 40 for c in colours)

        spot = next(
            ((x, y) for y in range(int(h * 0.2), int(h * 0.9), 2) for x in range(int(w * 0.1), int(w * 0.7), 2)
             if point(img.getpixel((x, y)))),
        )
        page.mouse.click(box["x"] + (spot[0] + 2) * box["width"] / w, box["y"] + (spot[1] + 2) * box["height"] / h)
        page.get_by_text("Selected runs (1)").wait_for(timeout=30_000)
        page.wait_for_function(RUNS_IN_URL.format(n=1), timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "compare-selected")


ROWS = "(document.querySelector('[data-testid=stDataFrame] [aria-rowcount]')?.getAttribute('aria-rowcount') ?? 0) - 1"
DRAWN = re.compile(r"^(\d+) of (\d+) runs drawn")


def axis_columns(img: Image.Image) -> list[float]:
    """x pixels of the parallel coordinates' axes: the columns drawn on (an axis rule, or the line
    ends meeting it) all along the middle of the plot, where between axes lines only cross."""
    w, h = img.size
    px = img.load()
    rows = range(int(h * 0.3), int(h * 0.75), 3)
    inked = [sum(min(px[x, y][:3]) < 225 for y in rows) for x in range(w)]
    groups: list[list[int]] = []
    for x in (x for x in range(w) if inked[x] >= 0.9 * len(rows)):
        if groups and x - groups[-1][-1] <= 2:
            groups[-1].append(x)
        else:
            groups.append([x])
    return [sum(g) / len(g) for g in groups]


def scatter_drawn(page) -> int:
    return int(DRAWN.match(page.get_by_text(DRAWN).first.inner_text()).group(1))


IDLE = "!document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"


def idle(page, timeout=60_000) -> None:
    """Wait until the app is not running its script (checked twice, 0.5 s apart: a run may follow
    another), so a gesture lands on the chart the user sees, not one about to be replaced."""
    for _ in range(2):
        page.wait_for_function(IDLE, timeout=timeout)
        page.wait_for_timeout(500)
    page.wait_for_function(IDLE, timeout=timeout)


def test_brushing_an_axis_narrows_the_table_and_the_scatter(demo_app_url):
    with chromium(viewport=(1400, 2600)) as page:
        open_compare(page, demo_app_url, "exp=fraud-detection&axes=params.n_estimators&axes=metrics.f1&color=metrics.f1")
        page.get_by_text(DRAWN).first.wait_for(timeout=30_000)
        page.wait_for_function(f"({ROWS}) > 0", timeout=30_000)
        idle(page)
        rows_before, drawn_before = page.evaluate(ROWS), scatter_drawn(page)
        canvas = page.locator(".vega-embed canvas").first
        box = canvas.bounding_box()
        img = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        f1_axis = axis_columns(img)[-1] * box["width"] / img.size[0]  # the rightmost axis: f1
        # Drag a box over the upper half of the f1 axis: the runs with the best f1 stay.
        page.mouse.move(box["x"] + f1_axis - 20, box["y"] + box["height"] * 0.25)
        page.mouse.down()
        page.mouse.move(box["x"] + f1_axis + 20, box["y"] + box["height"] * 0.55, steps=10)
        page.mouse.up()
        caption = page.get_by_text(re.compile(r"Brushed: .*f1")).first
        caption.wait_for(timeout=60_000)
        page.wait_for_function("new URLSearchParams(location.search).getAll('brush').length == 1", timeout=60_000)
        assert "metrics.f1" in page.url
        idle(page)
        kept, total = map(int, re.search(r"· (\d+) of (\d+) runs", caption.inner_text()).groups())
        assert 0 < kept < rows_before == total, caption.inner_text()  # the box kept the upper part of f1
        # The table holds exactly the runs the caption counts (it is briefly absent, ROWS -1, while
        # Streamlit swaps it).
        page.wait_for_function(f"({ROWS}) == {kept}", timeout=30_000)
        rows_after = kept
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        assert 0 < scatter_drawn(page) < drawn_before
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "compare-brushed")
        # The brushed permalink opens the same narrowed view in a fresh session.
        url = page.url
    with chromium(viewport=(1400, 2000)) as page:
        page.goto(url)
        page.get_by_text(re.compile(r"Brushed: .*f1")).first.wait_for(timeout=90_000)
        page.wait_for_function(f"({ROWS}) == {rows_after}", timeout=60_000)


@pytest.fixture(scope="module")
def views_app_url(tmp_path_factory):
    """A store of its own (saving a view writes to it) with a few runs, served by ``streamlit run``."""
    import mlflow
    from mlflow.entities import Metric, Param

    import browser
    import stores

    base = tmp_path_factory.mktemp("views")
    uri = stores.fresh_sqlite(base / "mlflow.db")
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("fraud")
    for i, (opt, f1) in enumerate([("adam", 0.9), ("sgd", 0.5), ("adam", 0.7), ("sgd", 0.6)]):
        run = client.create_run(exp, run_name=f"run-{i}")
        client.log_batch(run.info.run_id, metrics=[Metric("f1", f1, 0, 0), Metric("loss", 1 - f1, 0, 0)],
                         params=[Param("opt", opt), Param("lr", str(0.1 * (i + 1)))])
        client.set_terminated(run.info.run_id)
    with browser.streamlit_server(uri, base) as url:
        yield url, uri


def test_a_saved_view_opens_the_same_view_for_another_browser_session(views_app_url):
    from podium import views

    url, uri = views_app_url
    with chromium(viewport=(1400, 1600)) as page:
        open_compare(page, url, "exp=fraud&filter=" + quote("params.opt = 'adam'"))
        page.get_by_role("button", name="Views").click()
        page.get_by_role("textbox", name="Save this view as").fill("adam runs")
        page.get_by_role("textbox", name="Save this view as").press("Enter")
        page.locator(".st-key-compare_view_save button").click()
        page.get_by_text("Save the view 'adam runs'").wait_for(timeout=30_000)
        assert views.list_views(uri, "fraud") == []  # nothing written before the confirmation
        page.locator(".st-key-compare_view_confirm button").click()
        page.get_by_text("View 'adam runs' saved.").wait_for(timeout=90_000)
        assert [v.name for v in views.list_views(uri, "fraud")] == ["adam runs"]
    with chromium(viewport=(1400, 1600)) as page:  # another browser: another session, no shared state
        open_compare(page, url, "exp=fraud")
        expect(page.get_by_role("textbox", name="Filter (MLflow search syntax)")).to_have_value("")
        page.get_by_role("button", name="Views").click()
        page.locator(".st-key-compare_view_open button").click()
        expect(page.get_by_role("textbox", name="Filter (MLflow search syntax)")).to_have_value("params.opt = 'adam'", timeout=60_000)
        page.get_by_text(re.compile(r"^opt = adam, 2 of 4 runs")).first.wait_for(timeout=30_000)
        page.wait_for_function("new URLSearchParams(location.search).get('filter') == \"params.opt = 'adam'\"", timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
