"""Render a :class:`~podium.report.build.Report` as one self-contained HTML file.

Vega, Vega-Lite and Vega-Embed are inlined once (vl-convert's bundle), the chart specs travel as
JSON in ``<script type="application/json">`` blocks (with ``<`` escaped so no run name can close
the tag), and one small script of ours draws them. Nothing is fetched when the file is opened.
The template is Jinja2 with autoescape on; the only markup not escaped by Jinja is the user's
summary, which markdown-it renders with raw HTML off (see :func:`podium.report.safe.summary_html`).
:func:`preview_document` wraps a report for an app's preview: a frame sandboxed to scripts only.
"""

from __future__ import annotations

import functools
import html as html_lib
import json
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from podium.report import safe
from podium.report.build import Report


SVG_MAX_RUNS = 1500


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "podium"


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (globals ``vega``, ``vegaLite``, ``vegaEmbed``).

    vl-convert bundles them in about 2 s; the result is kept in the user's cache folder
    (``$XDG_CACHE_HOME/podium``, else ``~/.cache/podium``), one file per vl-convert version, so a
    ``podium report`` in a fresh process does not pay that again. Without a writable cache folder
    it is bundled each time.
    """
    import vl_convert as vlc

    path = _cache_dir() / f"vega-bundle-vl-convert-{getattr(vlc, '__version__', 'unknown')}.js"
    bundle = None
    try:
        bundle = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    if not bundle or "vegaEmbed" not in bundle:
        bundle = vlc.javascript_bundle()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as tmp:
                tmp.write(bundle)
            os.replace(tmp.name, path)
        except OSError:
            pass
    # The bundle goes inside a <script> element: make sure nothing in it can end that element.
    return bundle.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("podium.report", "templates"),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        value=safe.fmt_value, delta=safe.fmt_delta, when=safe.fmt_time, duration=safe.fmt_duration, short=safe.short,
    )
    env.globals["delta_better"] = safe.delta_better
    return env


def json_for_script(data) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element: ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(data, allow_nan=False, default=str, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def render_html(report: Report, include_bundle: bool = True) -> str:
    """The report as one HTML document.

    Args:
        report: What :func:`~podium.report.build.build_report` computed.
        include_bundle: Inline the Vega libraries (about 0.9 MB); without them the file shows no
            charts, only where they would be.
    """
    env = _env()
    charts = [
        {"key": c.key, "title": c.title, "notes": c.notes, "spec": json_for_script(_finite(c.spec))}
        for c in report.charts
    ]
    return env.get_template("report.html").render(
        r=report,
        p=report.provenance,
        charts=charts,
        summary=Markup(safe.summary_html(report.summary)),
        bundle=Markup(vega_bundle()) if include_bundle and charts else None,
        better="higher is better" if report.mode == "max" else "lower is better",
        # SVG prints crisply; past a couple of thousand runs a canvas draws far faster.
        renderer_json=json_for_script("svg" if report.provenance.runs_filtered <= SVG_MAX_RUNS else "canvas"),
    )


def preview_document(html: str) -> str:
    """A page showing report ``html`` in a frame whose scripts cannot touch the page around it.

    The frame is ``sandbox="allow-scripts"`` without ``allow-same-origin``: the report's own
    scripts (Vega drawing the charts) run in an opaque origin, with no access to the embedding
    app's cookies, storage or DOM, whatever the embedding frame allows. This page itself runs no
    script; the report travels HTML-escaped in ``srcdoc``.
    """
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;height:100%;}'
        "iframe{display:block;border:0;width:100%;height:100%;}</style></head><body>"
        '<iframe sandbox="allow-scripts" referrerpolicy="no-referrer" title="Report preview" '
        f'srcdoc="{html_lib.escape(html, quote=True)}"></iframe></body></html>'
    )


def _finite(value):
    """JSON has no NaN/inf: chart specs say ``null`` there (the charts mark such runs apart)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
