"""End to end in a real Chromium: the app opens on the demo store and shows the runs table."""

from __future__ import annotations

import re

from browser import chromium, screenshot


def test_app_opens_on_demo_store_and_shows_runs(demo_app_url):
    with chromium() as page:
        page.goto(demo_app_url + "/")  # Runs is the home page, at the root URL
        page.get_by_role("heading", name="Runs").wait_for(timeout=120_000)
        table = page.locator('[data-testid="stDataFrame"]')
        table.wait_for(state="visible", timeout=60_000)
        caption = page.get_by_text(re.compile(r"^\d+ runs \(")).first
        caption.wait_for(timeout=30_000)
        assert int(caption.inner_text().split()[0]) > 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("Page not found").count() == 0
        assert "sqlite:///" in page.locator('[data-testid="stSidebar"]').inner_text()
        screenshot(page, "runs-home")


def test_a_deep_link_as_first_request_opens_the_page_with_the_apps_own_navigation(demo_store_uri, tmp_path):
    """A teammate's permalink is often the first request a fresh server sees: the sidebar must list
    the app's four pages (not files found on disk) and the page keep its wide layout."""
    from browser import streamlit_server

    with streamlit_server(demo_store_uri, tmp_path) as url, chromium() as page:
        page.goto(url + "/compare?exp=fraud-detection")
        page.get_by_role("heading", name="Compare").wait_for(timeout=60_000)
        links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
        links.first.wait_for(timeout=30_000)
        assert [t.split()[-1] for t in links.all_inner_texts()]  # icon name, then title == ["Runs", "Compare", "Report", "Champion"]
        main = page.locator('[data-testid="stMainBlockContainer"]')
        assert main.bounding_box()["width"] > 1000  # layout="wide" from app.py, not the narrow default
        screenshot(page, "deep-link-compare")
