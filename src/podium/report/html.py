"""Render a :class:`~podium.report.build.Report` as one self-contained HTML file.

Vega, Vega-Lite and Vega-Embed are inlined once (vl-convert's bundle), the chart specs travel as
JSON in ``<script type="application/json">`` blocks (with ``<`` escaped so no run name can close
the tag), and one small script of ours draws them. Nothing is fetched when the file is opened.
The template is Jinja2 with autoescape on; the only markup not escaped by Jinja is the user's
summary, which markdown-it renders with raw HTML off (see :func:`podium.report.safe.summary_html`).
"""

from __future__ import annotations

import functools
import json

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from podium.report import safe
from podium.report.build import Report


SVG_MAX_RUNS = 1500


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (globals ``vega``, ``vegaLite``, ``vegaEmbed``)."""
    import vl_convert as vlc

    bundle = vlc.javascript_bundle()
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
        include_bundle: Inline the Vega libraries (about 0.9 MB). The page's preview leaves them
            out and shows no charts.
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


def _finite(value):
    """JSON has no NaN/inf: chart specs say ``null`` there (the charts mark such runs apart)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
