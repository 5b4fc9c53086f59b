"""End to end in a real Chromium: the app opens on the demo store and shows the runs table."""

from __future__ import annotations

import re

from browser import chromium, screenshot


def test_app_opens_on_demo_store_and_shows_runs(demo_app_url):
    with chromium() as page:
        page.goto(demo_app_url + "/runs")
        page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
        table = page.locator('[data-testid="stDataFrame"]')
        table.wait_for(state="visible", timeout=60_000)
        caption = page.get_by_text(re.compile(r"^\d+ runs \(")).first
        caption.wait_for(timeout=30_000)
        assert int(caption.inner_text().split()[0]) > 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "sqlite:///" in page.locator('[data-testid="stSidebar"]').inner_text()
        screenshot(page, "runs-home")
