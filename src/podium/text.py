"""Untrusted text made inert for Streamlit's Markdown (pages, captions, labels, help texts).

Run data and URL parameters are never interpreted: no link, image, emphasis, bare-URL autolink,
colour directive, emoji shortcode or LaTeX can come out of :func:`inert`. The one helper every
page uses wherever store or URL text meets ``st.markdown``, ``st.caption``, ``st.warning``,
``st.metric`` labels or ``help=`` texts.
"""

from __future__ import annotations

import re

from podium.report.safe import md_text


# Streamlit's Markdown turns bare addresses into links even when their punctuation is
# backslash-escaped; a zero-width space before a dot that precedes a letter, before an "@" that
# ends an address's local part and inside "://" breaks every address shape it knows (checked in
# Chromium) and shows nothing. "@champion" after a space is no address and stays as it is.
_ZWSP = "\u200b"
_LINK_POINTS = re.compile(r"(?=\.[^\W\d_])|(?<=[\w.+-])(?=@)|(?<=:)(?=//)")


def inert(value, max_len: int | None = None) -> str:
    """``value`` as literal text inside Streamlit Markdown.

    Builds on the report's GFM escaping (:func:`podium.report.safe.md_text`) and adds what only
    Streamlit interprets: ``$`` (LaTeX), and bare-address autolinks (see ``_LINK_POINTS``).
    """
    text = "" if value is None else str(value)
    if max_len and len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return md_text(_LINK_POINTS.sub(_ZWSP, text)).replace("$", "\\$")
