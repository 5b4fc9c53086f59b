"""Making untrusted text inert, and formatting values, for both report formats.

Run data (names, params, tags, experiment names) is never interpreted as Markdown or HTML:
:func:`md_text` escapes it for GitHub-flavoured Markdown (tables included) and Jinja's
autoescape does it for HTML. The user's own summary is Markdown, rendered by markdown-it-py with
raw HTML off and links limited to http, https and mailto.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from markdown_it import MarkdownIt

from podium.ranking import as_number

SAFE_SCHEMES = ("http", "https", "mailto")

# Characters that are never text: C0/C1 controls (an ANSI escape in a param value), DEL,
# bidirectional overrides and isolates (U+202E shows "exe.txt" as "txt.exe"), lone surrogates
# and noncharacters. Native renderers (vl-convert's XML parser) abort the process on some of
# them; in a table they hide or reorder what a reader sees. NEL (U+0085) is a line break.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)


def _shown_as(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Control Pictures: ESC shows as ␛
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def visible(value) -> str:
    """``value`` with every control, bidi-override or non-character replaced by a visible sign.

    C0 controls become their Control Pictures (``\\x1b`` shows as ``␛``), DEL ``␡``, the rest
    ``�``; tab and newlines are kept (callers that need one line fold them). The result is safe
    for vl-convert and shows the reader that something was there.
    """
    text = "" if value is None else str(value)
    return _INVISIBLE.sub(_shown_as, text) if _INVISIBLE.search(text) else text


# ASCII punctuation CommonMark lets us backslash-escape, minus the few that are harmless and
# common in run names ("-", "." and "=" between digits are handled apart for readability).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~:@])")
# A dot before a letter (any script: IDN domains too) could make a domain name an autolink (GitHub's "www.x.com", linkify's
# "x.com"); a dot between digits ("0.1") cannot.
_DOT_WORD = re.compile(r"\.(?=[^\W\d_])")
_LINE_START = re.compile(r"^([-=>])")


def md_text(value, max_len: int | None = None) -> str:
    """``value`` as inert Markdown inline text, safe in a GFM table cell.

    No emphasis, code, link, autolink, HTML or table break can come out of it: ASCII punctuation
    that means something is backslash-escaped, ``<``, ``>`` and ``&`` become entities, and
    newlines become spaces.
    """
    text = visible(value)
    if max_len and len(text) > max_len:
        text = text[: max_len - 1] + "…"
    text = re.sub(r"\s*[\r\n\u2028\u2029\x85]+\s*", " ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _DOT_WORD.sub(r"\\.", text)
    return _LINE_START.sub(r"\\\1", text)


def md_code(value) -> str:
    """``value`` as an inline code span (for ids and URIs Podium made); backticks are fenced."""
    text = re.sub(r"[\r\n]+", " ", visible(value)).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _validate_link(url: str) -> bool:
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    return scheme in SAFE_SCHEMES


def _summary_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table", "strikethrough"])
    md.validateLink = _validate_link
    # Images would make the report load something from outside when opened; show them as links.
    md.add_render_rule("image", _image_as_link)
    return md


def _image_as_link(self, tokens, idx, options, env):
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    from html import escape

    if _validate_link(src):
        return f'<a href="{escape(src, quote=True)}" rel="noopener noreferrer">{escape(alt)}</a>'
    return escape(alt)


def summary_html(text: str) -> str:
    """The user's summary as HTML: raw HTML shown as text, only http/https/mailto links, no images."""
    if not text or not text.strip():
        return ""
    md = _summary_parser()
    html = md.render(text)
    return html.replace("<a href=", '<a rel="noopener noreferrer" href=')


def summary_markdown(text: str) -> str:
    """The user's summary for the Markdown file, where GitHub would honour raw HTML.

    It passes through as Markdown when every link and image points to http/https/mailto; raw HTML
    (``<``) is turned into entities. Anything else, and the whole summary is shown as plain text.
    """
    if not text or not text.strip():
        return ""
    text = text.replace("\r\n", "\n").replace("<", "&lt;").replace(">", "&gt;")
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True
    ok = True
    for token in md.parse(text):
        for child in [token, *(token.children or [])]:
            if child.type in ("link_open", "image"):
                target = child.attrGet("href") or child.attrGet("src") or ""
                if child.type == "image" or not _validate_link(target):
                    ok = False
            if child.type in ("html_inline", "html_block"):
                ok = False
    if ok:
        return text.strip()
    return "\n\n".join(md_text(p) for p in re.split(r"\n\s*\n", text.strip()))


def fmt_value(value, digits: int = 4) -> str:
    """A metric for people: 4 significant digits, ``∞``/``-∞``, ``n/a`` for missing.

    ±float max (how MLflow's SQL stores keep ±inf) is shown as ``∞``/``-∞`` too.
    """
    if value is None:
        return "n/a"
    try:
        float(value)
    except (TypeError, ValueError):
        return visible(value)
    v = as_number(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-4):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".") or "0"


def fmt_delta(value) -> str:
    """A signed delta (``+0.0130``), ``±0`` for none, ``n/a`` when it cannot be computed."""
    if value is None or (isinstance(value, float) and (math.isnan(value))):
        return "n/a"
    if value == 0:
        return "±0"
    text = fmt_value(abs(value))
    return ("+" if value > 0 else "−") + text


def delta_better(value, mode: str) -> bool | None:
    """Whether a delta is an improvement under ``mode``; None for no change or unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == 0:
        return None
    return (value > 0) == (mode == "max")


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "n/a"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def short(label: str) -> str:
    """A column's label without its ``metrics.``/``params.`` prefix."""
    for prefix in ("metrics.", "params.", "tags."):
        if label.startswith(prefix):
            return label[len(prefix):]
    return label
