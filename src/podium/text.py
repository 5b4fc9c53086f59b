"""Untrusted text made inert for Streamlit's Markdown (pages, captions, labels, help texts).

Run data and URL parameters are never interpreted: no link, image, emphasis, bare-URL autolink,
colour directive, emoji shortcode or LaTeX can come out of :func:`inert`. The one helper every
page uses wherever store or URL text meets ``st.markdown``, ``st.caption``, ``st.warning``,
``st.metric`` labels or ``help=`` texts.
"""

from __future__ import annotations

from podium.report.safe import md_text


def inert(value, max_len: int | None = None) -> str:
    """``value`` as literal text inside Streamlit Markdown.

    Builds on the report's GFM escaping (:func:`podium.report.safe.md_text`) and adds what only
    Streamlit interprets: ``$`` (LaTeX).
    """
    return md_text(value, max_len).replace("$", "\\$")
