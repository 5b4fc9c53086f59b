"""Parallel coordinates of runs, computed in pandas and handed to Vega-Lite ready to draw.

Axes are normalised here (with their real tick values as text), so the browser does no fold or
normalisation, which is what keeps 10,000 runs drawable in a couple of seconds. Lines are drawn as
rule segments between neighbouring axes (one mark, no per-run grouping) on a canvas. Beyond
:data:`MAX_LINES` runs the chart draws the best runs and a random sample (and says so); the axes
still span every run. Selected runs are a layer of their own over the rest, so selecting a run
changes that layer only (:meth:`podium.chart_common.ChartResult.select`).

Missing values are never dropped: they sit on an ``n/a`` band (and ±inf on bands of their own)
with counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from podium.analysis import metric_direction, run_labels
from podium.chart_common import (
    CANVAS, MISSING_COLOR, NA_TEXT, REFERENCE_COLOR, SELECTED_COLOR, ChartResult, Highlight, _fmt, _natural,
    _outside_references, built_unvalidated, chart_numbers, nice_ticks,
)
from podium.columns import column_label, numeric_view

# Vertical layout of a parallel-coordinates axis (normalised units): values fill [0, 1].
POS_INF_Y = 1.07
NEG_INF_Y = -0.07
NA_Y = -0.16
TITLE_Y = 1.15

# Beyond this many runs the parallel coordinates draw the best runs and a sample.
MAX_LINES = 4000
BEST_SHARE = 0.25
# Tooltips carry each run's name in every segment; past this many runs they cost too much.
TOOLTIP_MAX_LINES = 2500
MAX_CATEGORY_LABELS = 30
# The plot's extent in chart units: x from the first axis's left margin to the last axis's labels
# (added to the last axis's index), y from below the n/a band to above the titles.
X_DOMAIN = (-0.12, 0.55)
Y_DOMAIN = (NA_Y - 0.06, TITLE_Y + 0.08)
# A raster of the lines is this many pixels wide (about a laptop's plot) and the chart's height
# tall; lines one pixel wide, as the marks would be.
RASTER_WIDTH = 1200
# Matplotlib's viridis at ten even steps, as Vega's "viridis" scheme spans it.
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")


@dataclass
class AxisLayout:
    """One parallel-coordinates axis as drawn: where each run sits and what the labels say."""

    column: str
    label: str
    kind: str  # "numeric" or "categorical"
    positions: np.ndarray
    ticks: list[tuple[float, str]]
    na: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    log: bool = False
    note: str = ""
    lo: float = math.nan  # finite extent in drawn units (log10 on a log axis): y 0 and y 1
    hi: float = math.nan
    vmin: float = math.nan  # the same extent in the data's own numbers
    vmax: float = math.nan
    categories: list[tuple[float, str]] = field(default_factory=list)  # every category, labelled or not


def layout_axis(series: pd.Series, column: str, label: str, log: bool = False) -> AxisLayout:
    """Place every run on one axis: numbers normalised to [0, 1] (log10 when asked and possible),
    categories evenly spaced in sorted order, missing values on the n/a band, ±inf on their own."""
    n = len(series)
    numbers = chart_numbers(series)
    if numbers is None:
        present = series.notna().to_numpy()
        values = series.to_numpy(dtype=object)[present]
        if pd.api.types.infer_dtype(values, skipna=False) == "string":
            # Strings (every param): hash them once in C, name each distinct value once.
            codes, distinct = pd.factorize(values)
            names = [str(v) for v in distinct]
        else:  # mixed objects: equal values with different texts (1 and True) stay apart
            names = [str(v) for v in values]
            codes = np.arange(len(names))
        cats = sorted(set(names), key=_natural)
        pos = np.full(n, NA_Y)
        if cats:
            spots = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
            pos[present] = np.array([spots[c] for c in names], dtype=float)[codes] if len(codes) else []
            every = max(1, math.ceil(len(cats) / MAX_CATEGORY_LABELS))
            ticks = [(spots[c], c) for i, c in enumerate(cats) if i % every == 0]
        else:
            ticks = []
        note = f"{label}: every {every}th of {len(cats)} values labelled" if cats and every > 1 else ""
        return AxisLayout(column, label, "categorical", pos, ticks, na=int((~present).sum()), note=note,
                          categories=[(spots[c], c) for c in cats] if cats else [])

    v = numbers.to_numpy(dtype=float)
    na = np.isnan(v)
    pinf, ninf = np.isposinf(v), np.isneginf(v)
    finite = ~(na | pinf | ninf)
    note = ""
    use_log = False
    if log:
        if finite.any() and (v[finite] > 0).all():
            use_log = True
        else:
            note = f"{label}: log scale needs positive values; drawn linear"
    t = np.where(finite, np.log10(np.where(finite & (v > 0), v, 1.0)) if use_log else v, np.nan)
    pos = np.full(n, NA_Y)
    pos[pinf] = POS_INF_Y
    pos[ninf] = NEG_INF_Y
    ticks: list[tuple[float, str]] = []
    lo = hi = vmin = vmax = math.nan
    if finite.any():
        lo, hi = float(np.nanmin(t[finite])), float(np.nanmax(t[finite]))
        vmin, vmax = float(np.min(v[finite])), float(np.max(v[finite]))
        if hi > lo:
            pos[finite] = (t[finite] - lo) / (hi - lo)
            if use_log:
                powers = [p for p in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
                marks = powers if len(powers) >= 2 else [lo, hi]
                ticks = [((m - lo) / (hi - lo), _fmt(10 ** m)) for m in marks]
            else:
                ticks = [((m - lo) / (hi - lo), _fmt(m)) for m in nice_ticks(lo, hi)]
            # Always label the ends with the real extremes; drop round ticks crowding them.
            ends = [(0.0, _fmt(10 ** lo if use_log else lo)), (1.0, _fmt(10 ** hi if use_log else hi))]
            ticks = [ends[0]] + [t for t in ticks if 0.07 < t[0] < 0.93] + [ends[1]]
        else:
            pos[finite] = 0.5
            ticks = [(0.5, _fmt(10 ** lo if use_log else lo))]
    return AxisLayout(column, label, "numeric", pos, ticks, na=int(na.sum()), pos_inf=int(pinf.sum()),
                      neg_inf=int(ninf.sum()), log=use_log, note=note, lo=lo, hi=hi, vmin=vmin, vmax=vmax)


def choose_lines(df: pd.DataFrame, color: str | None, keep: set[str], max_lines: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """Row positions to draw: all runs up to ``max_lines``; beyond, the best runs by ``color``
    (a quarter of the budget), a random sample of the rest, and always the runs in ``keep``."""
    n = len(df)
    if n <= max_lines:
        return np.arange(n), ""
    chosen = np.zeros(n, dtype=bool)
    best_k = 0
    if color and color in df:
        values = numeric_view(df[color])
        if values is not None:
            v = values.to_numpy(dtype=float)
            score = v if metric_direction(color) == "max" else -v
            best_k = int(max_lines * BEST_SHARE)
            order = np.argsort(np.where(np.isnan(score), -np.inf, score), kind="stable")[::-1]
            order = order[~np.isnan(score[order])][:best_k]
            chosen[order] = True
            best_k = len(order)
    chosen |= df["run_id"].isin(keep).to_numpy(dtype=bool)
    rest = np.flatnonzero(~chosen)
    room = max(max_lines - int(chosen.sum()), 0)
    rng = np.random.default_rng(seed)
    chosen[rng.choice(rest, size=min(room, rest.size), replace=False)] = True
    drawn = np.flatnonzero(chosen)
    best = f"the {best_k:,} best by {column_label(color)} and " if best_k else ""
    note = f"Showing {drawn.size:,} of {n:,} runs: {best}a random sample of the rest."
    return drawn, note


@built_unvalidated
def parallel_coordinates(
    df: pd.DataFrame,
    axes: list[str],
    color: str | None = None,
    selected: list[str] | tuple[str, ...] = (),
    log_axes: list[str] | tuple[str, ...] = (),
    max_lines: int = MAX_LINES,
    height: int = 460,
    reference: dict[str, str] | None = None,
    reference_runs: pd.DataFrame | None = None,
    brush: dict | None = None,
    brushable: bool = False,
    raster: bool = False,
) -> ChartResult:
    """Parallel coordinates over ``axes`` (params, metrics or attributes) of the runs in ``df``.

    Args:
        df: Runs frame.
        axes: Columns to draw as axes, left to right.
        color: Column colouring the lines (usually the primary metric); runs without it are grey.
        selected: Run ids drawn highlighted on top, in a layer of their own (whether or not the
            sample holds them), so the rest of the chart does not depend on the selection:
            :meth:`ChartResult.select` changes only that layer.
        log_axes: Axes drawn on a log10 scale (ignored, with a note, unless all values are > 0).
        max_lines: Beyond this many runs draw the best quarter by ``color`` plus a random sample
            (the axes still span every run).
        height: Chart height in pixels.
        reference: ``{run id: label}`` of runs to draw as dashed black lines on top, such as the
            run behind the ``@champion`` model: what the others are measured against.
        reference_runs: A frame holding the reference runs (e.g. every loaded run); those not in
            ``df`` (outside the filter) are drawn as reference lines only, not counted.
        brush: ``{column: podium.brush.Range}``: runs outside it are drawn faint grey (the axes
            keep their scale) and each brushed axis gets a shaded band over the runs it keeps.
        brushable: Add an interval selection named ``brush`` on the chart's own ``x``/``y``
            units: dragging a box over part of an axis reports the range to keep
            (:func:`podium.brush.from_interval` turns it into values).
        raster: Beyond :data:`TOOLTIP_MAX_LINES` lines (where lines carry no tooltip) draw the
            runs' lines as one transparent image instead of thousands of marks: the browser then
            draws one picture, not one mark per segment (each costs it an interpreted encoding).
            Selected and reference runs, labels and the brush stay marks. The colour legend
            stays (its scale is the same).

    Returns:
        A :class:`ChartResult` whose chart has a title stating how many runs sit on each n/a band
        and whether runs were sampled.
    """
    axes = [a for a in axes if a in df.columns]
    all_cols = list(df.columns)
    total = len(df)
    extra = _outside_references(df, reference, reference_runs)
    ids = set(df["run_id"]) | (set(extra["run_id"]) if extra is not None else set())
    refs = {k: v for k, v in (reference or {}).items() if k in ids}
    # The sample does not depend on the selection: selected runs have a layer of their own.
    rows, sample_note = choose_lines(df, color, set(refs), max_lines)
    drawn = len(rows)
    # Every run is placed (the axes span them all, and a selected run outside the sample is drawn
    # on top); reference runs outside ``df`` come last, after ``total`` rows.
    full = pd.concat([df, extra], ignore_index=True) if extra is not None else df.reset_index(drop=True)
    shown = np.concatenate([rows, np.arange(total, len(full))])  # the sample and outside references
    layouts = [layout_axis(full[a], a, column_label(a, all_cols), log=a in log_axes) for a in axes]
    from podium import brush as brushing

    brush = {c: r for c, r in (brush or {}).items() if c in full.columns}
    inside = brushing.mask(full, brush).to_numpy(dtype=bool) if brush and len(full) else np.ones(len(full), dtype=bool)
    for ax in layouts:  # the bands count the runs of the chart, not reference runs outside it
        outside = ax.positions[total:]
        ax.na -= int((outside == NA_Y).sum())
        ax.pos_inf -= int((outside == POS_INF_Y).sum())
        ax.neg_inf -= int((outside == NEG_INF_Y).sum())
    notes = [sample_note] if sample_note else []
    if refs:
        notes.append("Dashed black: " + "; ".join(refs.values()) + ".")
    bands = [f"{ax.label} {ax.na:,}" for ax in layouts if ax.na]  # of every run, drawn or not
    if bands:
        notes.append("On the n/a band (no value): " + ", ".join(bands) + ".")
    notes += [ax.note for ax in layouts if ax.note]

    is_ref = full["run_id"].isin(set(refs)).to_numpy(dtype=bool)
    only_ref = np.arange(len(full)) >= total  # reference runs outside ``df``: the dashed line only
    is_muted = ~inside & ~only_ref & ~is_ref
    if brush:
        kept = int(inside[rows].sum())
        notes.insert(0, f"Brushed: {kept:,} of {drawn:,} drawn runs inside " + brushing.describe(brush, lambda c: column_label(c, all_cols)) + ".")
    cvals = None
    if color and color in full:
        cv = chart_numbers(full[color])
        cvals = cv.to_numpy(dtype=float) if cv is not None else None
    if cvals is not None:
        # Replace ±inf so Vega can colour them; they keep the scale's extreme colours (of the runs drawn).
        finite = cvals[shown][np.isfinite(cvals[shown])]
        cvals = np.clip(cvals, finite.min(), finite.max()) if finite.size else np.full(len(full), np.nan)
    with_tooltip = len(shown) <= TOOLTIP_MAX_LINES
    labels = run_labels(full).to_numpy() if with_tooltip and len(full) else None
    n_ax = len(layouts)
    positions = [ax.positions.astype(np.float32) for ax in layouts]

    def segments(at: np.ndarray, sel: bool, run_ids: bool = False) -> pd.DataFrame:
        """The line segments (or, on one axis, ticks) of the runs at rows ``at`` of ``full``."""
        common = {"sel": np.full(len(at), sel), "ref": is_ref[at], "only_ref": only_ref[at], "muted": is_muted[at]}
        if cvals is not None:
            common["c"] = cvals[at]
        if labels is not None:
            common["run"] = labels[at]
        if run_ids:
            common["run_id"] = full["run_id"].to_numpy()[at]
        parts = []
        for i in range(max(n_ax - 1, 0)):
            parts.append(pd.DataFrame({"x": np.full(len(at), i, dtype=np.int16), "x2": np.full(len(at), i + 1, dtype=np.int16),
                                       "y": positions[i][at], "y2": positions[i + 1][at], **common}))
        if n_ax == 1:  # one axis: no segments to draw, so draw the runs as ticks on it
            parts.append(pd.DataFrame({"x": np.zeros(len(at), dtype=np.int16), "y": positions[0][at], **common}))
        if not parts:
            return pd.DataFrame({"x": [], "y": [], "sel": [], "ref": [], "only_ref": [], "muted": [], **({"run_id": []} if run_ids else {})})
        return pd.concat(parts, ignore_index=True)

    lines = segments(shown, False)
    # The selection layer's rows for every run of ``df``: a new selection only picks among them.
    selectable = segments(np.arange(total), True, run_ids=True)
    highlight = Highlight.over(selectable, list(lines.columns), selected)

    x_scale = alt.Scale(domain=[X_DOMAIN[0], max(n_ax - 1, 0) + X_DOMAIN[1]], nice=False, zero=False)
    y_scale = alt.Scale(domain=list(Y_DOMAIN), nice=False, zero=False)
    X = lambda f="x": alt.X(f"{f}:Q", scale=x_scale, axis=None)  # noqa: E731
    Y = lambda f="y": alt.Y(f"{f}:Q", scale=y_scale, axis=None)  # noqa: E731
    opacity = float(min(0.8, max(0.07, 8 / math.sqrt(max(len(shown), 1)))))
    # Each tooltip is an expression the browser evaluates for every segment: only for few lines.
    tooltip = [alt.Tooltip("run:N", title="Run")] if with_tooltip else []
    if cvals is not None and with_tooltip:
        tooltip.append(alt.Tooltip("c:Q", title=column_label(color, all_cols), format=".4~g"))

    def line_layer(data: pd.DataFrame, **mark) -> alt.Chart:
        base = alt.Chart(data).mark_rule(**mark) if n_ax > 1 else alt.Chart(data).mark_tick(**mark)
        enc = {"x": X(), "y": Y()}
        if n_ax > 1:
            enc.update(x2="x2:Q", y2="y2:Q")
        return base.encode(**enc, tooltip=tooltip) if tooltip else base.encode(**enc)

    layers: list[alt.Chart] = []
    if n_ax:
        frame = pd.DataFrame({"x": np.arange(n_ax), "y0": 0.0, "y1": 1.0})
        band = pd.DataFrame({"x": [-0.06], "x2": [n_ax - 1 + 0.5], "y": [NA_Y - 0.025], "y2": [NA_Y + 0.025]})
        if any(ax.na or np.any(ax.positions == NA_Y) for ax in layouts):
            layers.append(alt.Chart(band).mark_rect(color="#f3f4f6").encode(x=X(), x2="x2:Q", y=Y(), y2="y2:Q"))
        layers.append(alt.Chart(frame).mark_rule(color="#6b7280", strokeWidth=1).encode(x=X(), y=Y("y0"), y2="y1:Q"))
        for i, ax in enumerate(layouts):  # a shaded band over the runs each brushed axis keeps
            if ax.column in brush:
                kept_pos = ax.positions[:total][brushing.mask(df, {ax.column: brush[ax.column]}).to_numpy(dtype=bool)]
                if kept_pos.size:
                    rect = pd.DataFrame({"x": [i - 0.045], "x2": [i + 0.045], "y": [float(kept_pos.min()) - 0.015],
                                         "y2": [float(kept_pos.max()) + 0.015]})
                    layers.append(alt.Chart(rect).mark_rect(color="#f59e0b", opacity=0.35).encode(x=X(), x2="x2:Q", y=Y(), y2="y2:Q"))
    direction = metric_direction(color) if cvals is not None else "max"
    legend = None
    if cvals is not None:
        legend = alt.Color("c:Q", title=column_label(color, all_cols),
                           # the scale of every run drawn, so brushing out runs keeps the colours
                           scale=alt.Scale(scheme="viridis", reverse=direction == "min",
                                           domain=[float(lines["c"].min()), float(lines["c"].max())]
                                           if lines["c"].notna().any() else alt.Undefined),
                           legend=alt.Legend(orient="right", gradientLength=160, gradientOpacity=1))
    if raster and not with_tooltip and n_ax > 1:
        base = shown[~only_ref[shown]]
        kept = base[~is_muted[base]]
        ops = [(base[is_muted[base]], _rgb("#d1d5db"), min(opacity, 0.35))]
        if cvals is not None:
            ops.append((kept[np.isnan(cvals[kept])], _rgb(MISSING_COLOR), opacity))
            coloured = kept[~np.isnan(cvals[kept])]
            coloured = coloured[np.argsort(cvals[coloured] if direction != "min" else -cvals[coloured], kind="stable")]
            lo, hi = (float(lines["c"].min()), float(lines["c"].max())) if lines["c"].notna().any() else (0.0, 1.0)
            t = (cvals[coloured] - lo) / (hi - lo) if hi > lo else np.full(len(coloured), 0.5)
            ops.append((coloured, _viridis(1 - t if direction == "min" else t), opacity))
        else:
            ops.append((kept, _rgb("#4f46e5"), opacity))
        picture = _raster([(positions, at, rgb, alpha) for at, rgb, alpha in ops if len(at)], n_ax, height)
        corners = pd.DataFrame({"x": [X_DOMAIN[0]], "x2": [n_ax - 1 + X_DOMAIN[1]], "y": [Y_DOMAIN[0]], "y2": [Y_DOMAIN[1]],
                                "url": [picture]})
        layers.append(alt.Chart(corners).mark_image(aspect=False).encode(x=X(), x2="x2:Q", y=Y(), y2="y2:Q", url="url:N"))
        if legend is not None:  # no lines, only the scale: the legend as the marks would have it
            layers.append(line_layer(lines.iloc[:0], opacity=opacity, strokeWidth=1).encode(color=legend))
    else:
        muted = lines[lines["muted"]] if len(lines) else lines
        if len(muted):
            layers.append(line_layer(muted, color="#d1d5db", opacity=min(opacity, 0.35), strokeWidth=1))
        plain = lines[~lines["only_ref"] & ~lines["muted"]] if len(lines) else lines
        if cvals is not None:
            colored = plain[plain["c"].notna()]
            grey = plain[plain["c"].isna()]
            if len(grey):
                layers.append(line_layer(grey, color=MISSING_COLOR, opacity=opacity, strokeWidth=1))
            # Canvas draws in data order: the best runs last, so they stay visible on top of the mass.
            colored = colored.sort_values("c", ascending=direction != "min", kind="stable")
            layers.append(line_layer(colored, opacity=opacity, strokeWidth=1).encode(color=legend))
        elif len(plain):
            layers.append(line_layer(plain, color="#4f46e5", opacity=opacity, strokeWidth=1))
    # Always there, even empty, so that selecting a run changes this layer's data and nothing else.
    layers.append(line_layer(highlight.frame, color=SELECTED_COLOR, opacity=1.0, strokeWidth=2.5))
    ref_lines = lines[lines["ref"]] if len(lines) else lines
    if len(ref_lines):
        layers.append(line_layer(ref_lines, color=REFERENCE_COLOR, opacity=1.0, strokeWidth=2.5, strokeDash=[7, 4]))
    texts = []
    for i, ax in enumerate(layouts):
        for y, text in ax.ticks:
            texts.append({"x": i, "y": y, "t": text, "k": "tick"})
        if ax.na:
            texts.append({"x": i, "y": NA_Y, "t": f"n/a ({ax.na:,})", "k": "band"})
        elif np.any(ax.positions == NA_Y):  # only a reference run there
            texts.append({"x": i, "y": NA_Y, "t": NA_TEXT, "k": "band"})
        if ax.pos_inf:
            texts.append({"x": i, "y": POS_INF_Y, "t": f"+inf ({ax.pos_inf:,})", "k": "band"})
        if ax.neg_inf:
            texts.append({"x": i, "y": NEG_INF_Y, "t": f"−inf ({ax.neg_inf:,})", "k": "band"})
        # Stagger titles of neighbouring axes when there are many, so long names do not collide.
        offset = 0.07 if (n_ax > 5 and i % 2) else 0.0
        texts.append({"x": i, "y": TITLE_Y + offset, "t": ax.label + (" (log)" if ax.log else ""), "k": "title"})
    if texts:
        tdf = pd.DataFrame(texts)
        labels_df = tdf[tdf["k"] != "title"]
        style = {"align": "left", "dx": 5, "fontSize": 11}
        # A white halo under every label keeps it readable where many lines cross the axis.
        layers.append(alt.Chart(labels_df).mark_text(**style, color="white", stroke="white", strokeWidth=4,
                                                     strokeJoin="round", opacity=0.9).encode(x=X(), y=Y(), text="t:N"))
        layers.append(alt.Chart(labels_df).mark_text(**style).encode(
            x=X(), y=Y(), text="t:N",
            color=alt.condition("datum.k == 'band'", alt.value("#b91c1c"), alt.value("#1f2937"))))
        layers.append(alt.Chart(tdf[tdf["k"] == "title"]).mark_text(align="center", fontSize=12, fontWeight="bold", color="#111827")
                      .encode(x=X(), y=Y(), text="t:N"))

    title = alt.TitleParams(
        text=f"Parallel coordinates · {drawn:,} of {total:,} runs" if drawn != total else f"Parallel coordinates · {total:,} runs",
        subtitle=notes or [""], anchor="start", fontSize=14, subtitleColor="#4b5563",
    )
    if brushable and n_ax:
        # An invisible layer over the whole plot carries the interval: drag a box over an axis.
        area = pd.DataFrame({"x": [X_DOMAIN[0], max(n_ax - 1, 0) + X_DOMAIN[1]], "y": list(Y_DOMAIN)})
        select = alt.selection_interval(name="brush", encodings=["x", "y"], clear="dblclick", zoom=False,
                                        mark=alt.BrushConfig(fill="#f59e0b", fillOpacity=0.15, stroke="#b45309"))
        layers.insert(0, alt.Chart(area).mark_point(opacity=0, size=1).encode(x=X(), y=Y()).add_params(select))
    chart = alt.layer(*layers) if layers else alt.Chart(pd.DataFrame({"x": []})).mark_point()
    chart = chart.properties(height=height, title=title, usermeta=CANVAS).configure_view(stroke=None).configure_mark(aria=False)
    return ChartResult(chart, total=total, drawn=drawn, notes=notes, axes=layouts, highlight=highlight)


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([[int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]], dtype=np.uint8)


def _viridis(t: np.ndarray) -> np.ndarray:
    """RGB rows of viridis at ``t`` in [0, 1] (linear between the ten steps)."""
    stops = np.vstack([_rgb(h) for h in VIRIDIS]).astype(float)
    at = np.linspace(0.0, 1.0, len(stops))
    t = np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)
    return np.stack([np.interp(t, at, stops[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


def _raster(ops: list[tuple[list[np.ndarray], np.ndarray, np.ndarray, float]], n_ax: int, height: int) -> str:
    """The runs' lines drawn as a transparent PNG (a data URL) spanning the plot's extent.

    ``ops`` are drawn in order: (positions of every run on each axis, the rows to draw, their RGB
    (one row for all, or one per run), opacity). Each line is drawn on white and on black; the
    two pictures give each pixel's colour and coverage exactly as the lines composite, so the
    image lies right on any background.
    """
    import base64
    import io

    from PIL import Image, ImageDraw

    width, tall = RASTER_WIDTH, height
    x0, x1 = X_DOMAIN[0], n_ax - 1 + X_DOMAIN[1]
    y0, y1 = Y_DOMAIN
    xs = (np.arange(n_ax) - x0) / (x1 - x0) * width

    def draw(background: tuple[int, int, int]) -> np.ndarray:
        img = Image.new("RGB", (width, tall), background)
        pen = ImageDraw.Draw(img, "RGBA")
        for positions, rows, rgb, alpha in ops:
            points = np.empty((len(rows), n_ax, 2), dtype=np.float32)
            points[:, :, 0] = xs
            points[:, :, 1] = np.stack([(y1 - p[rows]) / (y1 - y0) * tall for p in positions], axis=1)
            a = int(round(alpha * 255))
            if len(rgb) == 1:
                fill = (*rgb[0].tolist(), a)
                for line in points.reshape(len(rows), -1).tolist():  # flat x0, y0, x1, y1…
                    pen.line(line, fill=fill, width=1)
            else:
                for line, (r, g, b) in zip(points.reshape(len(rows), -1).tolist(), rgb.tolist()):
                    pen.line(line, fill=(r, g, b, a), width=1)
        return np.asarray(img, dtype=np.float32)

    on_white, on_black = draw((255, 255, 255)), draw((0, 0, 0))
    cover = np.clip(1.0 - (on_white - on_black).mean(axis=2) / 255.0, 0.0, 1.0)
    colour = np.clip(on_black / np.maximum(cover, 1e-6)[:, :, None], 0, 255)
    picture = np.dstack([colour, cover * 255]).round().astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(picture, "RGBA").save(out, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
