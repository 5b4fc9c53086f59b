"""Real-browser helpers: a ``streamlit run`` subprocess on a free port and Debian's Chromium.

Chromium comes from Debian's package (Playwright's own browser download fails here) and is
launched with flags that keep it off the network, which this machine refuses anyway.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from harness.processes import free_port, healthy_subprocess

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(os.environ.get("PODIUM_SHOTS", "/tmp/podium-shots"))


@contextlib.contextmanager
def streamlit_server(tracking_uri: str, log_dir: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with ``MLFLOW_TRACKING_URI`` set; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1"]
    with healthy_subprocess("streamlit", cmd, url + "/_stcore/health", log_dir / f"streamlit-{port}.log",
                            env, timeout_s=60, cwd=ROOT):
        yield url


@contextlib.contextmanager
def chromium(viewport=(1400, 1000)) -> Iterator["playwright.sync_api.Page"]:  # noqa: F821
    """A headless Chromium page (Playwright driving /usr/bin/chromium)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
