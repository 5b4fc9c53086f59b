"""``text.inert``: store and URL text stays literal wherever a page puts it in Markdown (issue 12).

Each hostile string is rendered the way Streamlit's Markdown would see it (CommonMark + GFM
autolinks, as markdown-it with linkify) and must come out as the same characters, with no link,
image, emphasis or HTML.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from podium.text import inert

HOSTILE = [
    "[x](javascript:alert(1))",
    "![x](http://evil.example/x.png)",
    "www.evil.example/login",
    "evil.example",
    "http://evil.example/session-expired",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**bold** and _em_ and `code`",
    "Session expired – [log in again](https://evil.example)",
    "<https://evil.example>",
    "[ref]: https://evil.example",
    "# heading",
    "> quote",
    "- item",
    "| a | b |",
    "$x^2$ and $$y$$",
    ":red[alarm] :material/warning: :smile:",
    "例え.中国/ログイン",
    "a\\*b",
    "line\nbreak [x](http://e.example)",
    "mail@evil.example",
    "‮evil‭",
]

_md = MarkdownIt("commonmark", {"linkify": True}).enable(["linkify", "table", "strikethrough"])


def rendered_text(markdown: str) -> str:
    """What a reader sees: the HTML's text, with any element other than a paragraph flagged."""
    out = _md.render(markdown)
    tags = set(re.findall(r"</?([a-z0-9]+)", out))
    assert tags <= {"p"}, (markdown, out)
    return html.unescape(re.sub(r"</?p>", "", out)).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_literal(text):
    shown = rendered_text(inert(text)).replace("\u200b", "")  # zero-width spaces break autolinks
    # Newlines fold to spaces; invisible direction marks are made visible by the one helper.
    expected = " ".join(text.split())
    if "‮" in text:
        assert "‮" not in shown and "‭" not in shown
    else:
        assert shown == expected
    assert "$" not in inert(text).replace("\\$", "")


@pytest.mark.browser
def test_hostile_text_makes_no_link_or_image_in_a_real_browser(tmp_path):
    """Streamlit's own Markdown (remark-gfm) autolinks more than CommonMark does: check there."""
    import os
    import sys
    from pathlib import Path

    from browser import chromium
    from stores import free_port, healthy_subprocess

    app = Path(__file__).resolve().parent / "apps" / "inert_app.py"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port), "--server.headless", "true",
           "--server.address", "127.0.0.1"]
    with healthy_subprocess("streamlit", cmd, url + "/_stcore/health", tmp_path / "st.log", dict(os.environ), timeout_s=60):
        with chromium() as page:
            page.goto(url)
            page.get_by_text(f"{len(HOSTILE) - 1} ", exact=False).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            main = page.locator("[data-testid='stMain']")
            links = [a.get_attribute("href") for a in main.locator("a").all()]
            images = main.locator("img").count()
            text = main.text_content() or ""
    assert links == [] and images == 0
    assert "javascript:alert(1)" in text.replace("\u200b", "")  # shown, literally
