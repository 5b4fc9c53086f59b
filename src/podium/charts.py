"""Altair specs for the Compare page: parallel coordinates, scatter with a Pareto front, history.

Every chart is computed in pandas first and handed to Vega-Lite ready to draw: axes are
normalised here (with their real tick values as text), so the browser does no fold or
normalisation, which is what keeps 10,000 runs drawable in a couple of seconds. Lines are drawn
as rule segments between neighbouring axes (one mark, no per-run grouping) on a canvas.

Missing values are never dropped: on the parallel coordinates they sit on an ``n/a`` band (and
±inf on bands of their own) with counts; a scatter says how many runs it could not place.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from podium.analysis import metric_direction, normalize_direction, pareto_front, run_labels
from podium.filters import column_label, numeric_view

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
SELECTED_COLOR = "#e4007c"
MISSING_COLOR = "#9ca3af"
PARETO_COLOR = "#111827"
REFERENCE_COLOR = "#111827"  # the model the team ships (a version behind an alias such as @champion)
# A five-pointed star as an SVG path in Vega's unit square, for reference runs on a scatter.
STAR = ("M0,-1L0.2245,-0.309L0.951,-0.309L0.363,0.118L0.588,0.809L0,0.382L-0.588,0.809L-0.363,0.118"
        "L-0.951,-0.309L-0.2245,-0.309Z")
NA_TEXT = "n/a"
CANVAS = {"embedOptions": {"renderer": "canvas"}}


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


@dataclass
class ChartResult:
    """A chart and what a reader should be told about it."""

    chart: alt.TopLevelMixin
    total: int
    drawn: int
    notes: list[str] = field(default_factory=list)
    axes: list[AxisLayout] = field(default_factory=list)
    pareto: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        """The Vega-Lite spec with its data inline (no row limit: sampling is decided here)."""
        with alt.data_transformers.enable("default", max_rows=None):
            return self.chart.to_dict()


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.4g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values within ``[lo, hi]`` (the usual 1-2-5 steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(0.0 if abs(v) < step * 1e-9 else round(v, 12))
        v += step
    return ticks


def chart_numbers(series: pd.Series) -> pd.Series | None:
    """:func:`numeric_view` with the SQL stores' stand-ins for infinity (±``float max``, which is
    how they save ±inf) shown as the infinities the user logged."""
    numbers = numeric_view(series)
    if numbers is None:
        return None
    big = sys.float_info.max
    return numbers.mask(numbers >= big, np.inf).mask(numbers <= -big, -np.inf)


def _natural(text: str) -> tuple:
    """Sort key: numbers by value first (``2`` before ``12``), then words case-insensitively."""
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text.casefold(), text)
    return (0, number if number == number else math.inf, "", text)


def layout_axis(series: pd.Series, column: str, label: str, log: bool = False) -> AxisLayout:
    """Place every run on one axis: numbers normalised to [0, 1] (log10 when asked and possible),
    categories evenly spaced in sorted order, missing values on the n/a band, ±inf on their own."""
    n = len(series)
    numbers = chart_numbers(series)
    if numbers is None:
        present = series.notna().to_numpy()
        text = series.astype(object).where(series.notna(), None)
        cats = sorted({str(v) for v in text if v is not None}, key=_natural)
        pos = np.full(n, NA_Y)
        if cats:
            spots = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
            pos[present] = [spots[str(v)] for v in text[present]]
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


def choose_lines(df: pd.DataFrame, color: str | None, selected: set[str], max_lines: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """Row positions to draw: all runs up to ``max_lines``; beyond, the best runs by ``color``
    (a quarter of the budget), a random sample of the rest, and always the selected runs."""
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
            order = [i for i in order if not np.isnan(score[i])][:best_k]
            chosen[order] = True
            best_k = len(order)
    chosen |= df["run_id"].isin(selected).to_numpy(dtype=bool)
    rest = np.flatnonzero(~chosen)
    room = max(max_lines - int(chosen.sum()), 0)
    rng = np.random.default_rng(seed)
    chosen[rng.choice(rest, size=min(room, rest.size), replace=False)] = True
    drawn = np.flatnonzero(chosen)
    best = f"the {best_k:,} best by {column_label(color)} and " if best_k else ""
    note = f"Showing {drawn.size:,} of {n:,} runs: {best}a random sample of the rest."
    return drawn, note


def _outside_references(df: pd.DataFrame, reference: dict[str, str] | None, reference_runs: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows of ``reference_runs`` that are reference runs missing from ``df`` (the filter left
    them out), or None when there are none."""
    if not reference or reference_runs is None or not len(reference_runs):
        return None
    ids = reference_runs["run_id"]
    rows = reference_runs[ids.isin(set(reference)) & ~ids.isin(set(df["run_id"]))]
    return rows if len(rows) else None


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
) -> ChartResult:
    """Parallel coordinates over ``axes`` (params, metrics or attributes) of the runs in ``df``.

    Args:
        df: Runs frame.
        axes: Columns to draw as axes, left to right.
        color: Column colouring the lines (usually the primary metric); runs without it are grey.
        selected: Run ids drawn highlighted on top.
        log_axes: Axes drawn on a log10 scale (ignored, with a note, unless all values are > 0).
        max_lines: Beyond this many runs draw the best quarter by ``color`` plus a random sample.
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

    Returns:
        A :class:`ChartResult` whose chart has a title stating how many runs sit on each n/a band
        and whether runs were sampled.
    """
    axes = [a for a in axes if a in df.columns]
    all_cols = list(df.columns)
    total = len(df)
    sel = set(selected)
    extra = _outside_references(df, reference, reference_runs)
    ids = set(df["run_id"]) | (set(extra["run_id"]) if extra is not None else set())
    refs = {k: v for k, v in (reference or {}).items() if k in ids}
    rows, sample_note = choose_lines(df, color, sel | set(refs), max_lines)
    sub = df.iloc[rows]
    drawn = len(sub)
    if extra is not None:
        sub = pd.concat([sub, extra], ignore_index=True)
    layouts = [layout_axis(sub[a], a, column_label(a, all_cols), log=a in log_axes) for a in axes]
    from podium import brush as brushing

    brush = {c: r for c, r in (brush or {}).items() if c in sub.columns}
    inside = brushing.mask(sub, brush).to_numpy(dtype=bool) if brush and len(sub) else np.ones(len(sub), dtype=bool)
    for ax in layouts:  # the bands count the runs of the chart, not reference runs outside it
        outside = ax.positions[drawn:]
        ax.na -= int((outside == NA_Y).sum())
        ax.pos_inf -= int((outside == POS_INF_Y).sum())
        ax.neg_inf -= int((outside == NEG_INF_Y).sum())
    notes = [sample_note] if sample_note else []
    if refs:
        notes.append("Dashed black: " + "; ".join(refs.values()) + ".")
    # Counts on the bands are of the runs drawn; say so when sampled.
    bands = [f"{ax.label} {ax.na:,}" for ax in layouts if ax.na]
    if bands:
        notes.append("On the n/a band (no value): " + ", ".join(bands) + ".")
    notes += [ax.note for ax in layouts if ax.note]

    labels = run_labels(sub).to_numpy() if len(sub) else np.array([], dtype=object)
    is_sel = sub["run_id"].isin(sel).to_numpy(dtype=bool) if len(sub) else np.array([], dtype=bool)
    is_ref = sub["run_id"].isin(set(refs)).to_numpy(dtype=bool) if len(sub) else np.array([], dtype=bool)
    only_ref = np.arange(len(sub)) >= drawn  # reference runs outside ``df``: the dashed line only
    is_sel = is_sel & ~only_ref
    is_muted = ~inside & ~only_ref & ~is_ref
    if brush:
        kept = int(inside[:drawn].sum())
        notes.insert(0, f"Brushed: {kept:,} of {drawn:,} drawn runs inside " + brushing.describe(brush, lambda c: column_label(c, all_cols)) + ".")
    cvals = None
    if color and color in sub:
        cv = chart_numbers(sub[color])
        cvals = cv.to_numpy(dtype=float) if cv is not None else None
    with_tooltip = len(sub) <= TOOLTIP_MAX_LINES

    n_ax = len(layouts)
    segs = []
    for i in range(max(n_ax - 1, 0)):
        seg = {"x": np.full(len(sub), i, dtype=np.int16), "x2": np.full(len(sub), i + 1, dtype=np.int16),
               "y": layouts[i].positions.astype(np.float32), "y2": layouts[i + 1].positions.astype(np.float32),
               "sel": is_sel, "ref": is_ref, "only_ref": only_ref, "muted": is_muted}
        if cvals is not None:
            seg["c"] = cvals
        if with_tooltip:
            seg["run"] = labels
        segs.append(pd.DataFrame(seg))
    if n_ax == 1:  # one axis: no segments to draw, so draw the runs as ticks on it
        seg = {"x": np.zeros(len(sub), dtype=np.int16), "y": layouts[0].positions.astype(np.float32), "sel": is_sel, "ref": is_ref,
               "only_ref": only_ref, "muted": is_muted}
        if cvals is not None:
            seg["c"] = cvals
        if with_tooltip:
            seg["run"] = labels
        segs.append(pd.DataFrame(seg))
    lines = pd.concat(segs, ignore_index=True) if segs else pd.DataFrame({"x": [], "y": [], "sel": [], "ref": [], "only_ref": [], "muted": []})
    if cvals is not None:
        # Replace ±inf so Vega can colour them; they keep the scale's extreme colours.
        finite = lines["c"].replace([np.inf, -np.inf], np.nan)
        lines["c"] = lines["c"].clip(finite.min(), finite.max()) if finite.notna().any() else np.nan

    x_scale = alt.Scale(domain=[-0.12, max(n_ax - 1, 0) + 0.55], nice=False, zero=False)
    y_scale = alt.Scale(domain=[NA_Y - 0.06, TITLE_Y + 0.08], nice=False, zero=False)
    X = lambda f="x": alt.X(f"{f}:Q", scale=x_scale, axis=None)  # noqa: E731
    Y = lambda f="y": alt.Y(f"{f}:Q", scale=y_scale, axis=None)  # noqa: E731
    opacity = float(min(0.8, max(0.07, 8 / math.sqrt(max(len(sub), 1)))))
    tooltip = [alt.Tooltip("run:N", title="Run")] if with_tooltip else []
    if cvals is not None:
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
                kept_pos = ax.positions[:drawn][brushing.mask(sub.iloc[:drawn], {ax.column: brush[ax.column]}).to_numpy(dtype=bool)]
                if kept_pos.size:
                    rect = pd.DataFrame({"x": [i - 0.045], "x2": [i + 0.045], "y": [float(kept_pos.min()) - 0.015],
                                         "y2": [float(kept_pos.max()) + 0.015]})
                    layers.append(alt.Chart(rect).mark_rect(color="#f59e0b", opacity=0.35).encode(x=X(), x2="x2:Q", y=Y(), y2="y2:Q"))
    muted = lines[lines["muted"] & ~lines["sel"]] if len(lines) else lines
    if len(muted):
        layers.append(line_layer(muted, color="#d1d5db", opacity=min(opacity, 0.35), strokeWidth=1))
    plain = lines[~lines["sel"] & ~lines["only_ref"] & ~lines["muted"]] if len(lines) else lines
    if cvals is not None:
        colored = plain[plain["c"].notna()]
        grey = plain[plain["c"].isna()]
        if len(grey):
            layers.append(line_layer(grey, color=MISSING_COLOR, opacity=opacity, strokeWidth=1))
        direction = metric_direction(color)
        # Canvas draws in data order: the best runs last, so they stay visible on top of the mass.
        colored = colored.sort_values("c", ascending=direction != "min", kind="stable")
        layers.append(line_layer(colored, opacity=opacity, strokeWidth=1).encode(
            color=alt.Color("c:Q", title=column_label(color, all_cols),
                            # the scale of every run drawn, so brushing out runs keeps the colours
                            scale=alt.Scale(scheme="viridis", reverse=direction == "min",
                                            domain=[float(lines["c"].min()), float(lines["c"].max())]
                                            if lines["c"].notna().any() else alt.Undefined),
                            legend=alt.Legend(orient="right", gradientLength=160, gradientOpacity=1))))
    elif len(plain):
        layers.append(line_layer(plain, color="#4f46e5", opacity=opacity, strokeWidth=1))
    chosen = lines[lines["sel"]] if len(lines) else lines
    if len(chosen):
        layers.append(line_layer(chosen, color=SELECTED_COLOR, opacity=1.0, strokeWidth=2.5))
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
        area = pd.DataFrame({"x": [-0.12, max(n_ax - 1, 0) + 0.55], "y": [NA_Y - 0.06, TITLE_Y + 0.08]})
        select = alt.selection_interval(name="brush", encodings=["x", "y"], clear="dblclick", zoom=False,
                                        mark=alt.BrushConfig(fill="#f59e0b", fillOpacity=0.15, stroke="#b45309"))
        layers.insert(0, alt.Chart(area).mark_point(opacity=0, size=1).encode(x=X(), y=Y()).add_params(select))
    chart = alt.layer(*layers) if layers else alt.Chart(pd.DataFrame({"x": []})).mark_point()
    chart = chart.properties(height=height, title=title, usermeta=CANVAS).configure_view(stroke=None).configure_mark(aria=False)
    return ChartResult(chart, total=total, drawn=drawn, notes=notes, axes=layouts)


def _placed(df: pd.DataFrame, column: str, log: bool) -> tuple[pd.Series, str, bool]:
    """Values of ``column`` for a scatter axis: numbers (finite, > 0 on a log axis) or labels."""
    nums = chart_numbers(df[column]) if column in df else None
    if nums is None:
        text = df[column].astype(object).where(df[column].notna(), None) if column in df else pd.Series([None] * len(df), index=df.index)
        return text, "N", False
    ok = np.isfinite(nums) & ((nums > 0) if log else True)
    return nums.where(ok), "Q", log


def scatter(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    size: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    pareto: tuple[str, str] | None = None,
    selected: list[str] | tuple[str, ...] = (),
    tooltip: list[str] | tuple[str, ...] = (),
    height: int = 420,
    reference: dict[str, str] | None = None,
    reference_runs: pd.DataFrame | None = None,
) -> ChartResult:
    """A scatter of runs: ``x``, ``y``, colour and size from any column, log axes, tooltips.

    ``reference`` (``{run id: label}``, e.g. the run behind ``@champion``) marks runs with a black
    star and their label, the point the others are measured against; ``reference_runs`` is a frame
    holding them (e.g. every loaded run): those not in ``df`` (outside the filter) get a star only,
    not a point, are not counted and are not on the Pareto front.

    Clicking a point selects its run (a point selection named ``pick`` on ``run_id``; shift-click
    adds more). With ``pareto=(x_dir, y_dir)`` (``"max"``/``"min"``) the Pareto front of the two
    objectives is drawn as a line and returned in ``ChartResult.pareto``.

    Runs without a drawable x or y (missing, ±inf, or ≤ 0 on a log axis) cannot be placed; the
    chart's subtitle says how many.
    """
    n_runs = len(df)
    outside = _outside_references(df, reference, reference_runs)
    if outside is not None:
        df = pd.concat([df, outside], ignore_index=True)
    all_cols = list(df.columns)
    xl, yl = column_label(x, all_cols), column_label(y, all_cols)
    data = pd.DataFrame({"run_id": df["run_id"].astype(str).values, "run": run_labels(df).values if len(df) else []})
    if "experiment_name" in df:
        data["experiment"] = df["experiment_name"].astype(object).values
    xv, xt, xlog = _placed(df, x, log_x)
    yv, yt, ylog = _placed(df, y, log_y)
    data["x"], data["y"] = xv.values, yv.values
    extra_tips = []
    for name, col in (("color", color), ("size", size)):
        if col and col in df:
            nums = chart_numbers(df[col])
            if nums is not None:
                data[name] = nums.replace([np.inf, -np.inf], np.nan).values
            else:
                data[name] = df[col].astype(object).where(df[col].notna(), NA_TEXT).values
            extra_tips.append((name, col, nums is not None))
    for i, col in enumerate(t for t in tooltip if t in df and t not in (x, y, color, size)):
        data[f"t{i}"] = df[col].astype(object).where(df[col].notna(), None).values
        extra_tips.append((f"t{i}", col, False))
    data["sel"] = data["run_id"].isin(set(selected))
    refs = reference or {}
    data["ref"] = data["run_id"].map(refs)
    member = np.arange(len(data)) < n_runs  # False for reference runs outside ``df``
    ok = data["x"].notna() & data["y"].notna()
    starred = data[ok & data["ref"].notna()]
    unplaced = data.loc[~ok & data["ref"].notna(), "ref"].tolist()
    data, ok = data[member], ok[member]
    shown = data[ok]
    missing = int((~ok).sum())
    notes = [f"{missing:,} of {n_runs:,} runs not drawn: no finite {xl} or {yl} value"
             + (" (or ≤ 0 on a log axis)" if (xlog or ylog) else "") + "."] if missing else []
    if unplaced:
        notes.append(f"Not drawn for lack of a {xl} or {yl} value: {'; '.join(unplaced)}.")

    def axis(field_name: str, kind: str, title: str, log: bool):
        enc = alt.X if field_name == "x" else alt.Y
        scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
        return enc(f"{field_name}:{kind}", title=title + (" (log)" if log else ""), scale=scale if kind == "Q" else alt.Undefined,
                   axis=alt.Axis(labelLimit=0) if kind == "N" else alt.Undefined)

    pick = alt.selection_point(name="pick", fields=["run_id"], on="click", clear="dblclick")
    tips = [alt.Tooltip("run:N", title="Run")]
    if "experiment" in shown and shown["experiment"].nunique() > 1:
        tips.append(alt.Tooltip("experiment:N", title="Experiment"))
    tips += [alt.Tooltip(f"x:{xt}", title=xl, **({"format": ".4~g"} if xt == "Q" else {})),
             alt.Tooltip(f"y:{yt}", title=yl, **({"format": ".4~g"} if yt == "Q" else {}))]
    for name, col, numeric in extra_tips:
        tips.append(alt.Tooltip(f"{name}:{'Q' if numeric else 'N'}", title=column_label(col, all_cols),
                                **({"format": ".4~g"} if numeric else {})))

    enc = {"x": axis("x", xt, xl, xlog), "y": axis("y", yt, yl, ylog), "tooltip": tips,
           "opacity": alt.condition(pick, alt.value(0.85), alt.value(0.25))}
    color_numeric = any(n == "color" and num for n, _, num in extra_tips)
    if color and "color" in shown:
        cl = column_label(color, all_cols)
        enc["color"] = (alt.Color("color:Q", title=cl, scale=alt.Scale(scheme="viridis", reverse=metric_direction(color) == "min"))
                        if color_numeric else alt.Color("color:N", title=cl, scale=alt.Scale(scheme="tableau10"), legend=alt.Legend(labelLimit=0)))
    if size and "size" in shown:
        enc["size"] = alt.Size("size:Q" if any(n == "size" and num for n, _, num in extra_tips) else "size:N",
                               title=column_label(size, all_cols))
    many = len(shown) > 1500
    enc["opacity"] = alt.condition(pick, alt.value(0.45 if many else 0.85), alt.value(0.12 if many else 0.25))
    points = alt.Chart(shown).mark_circle(size=18 if many else 60).encode(**enc).add_params(pick)
    rings = alt.Chart(shown[shown["sel"]]).mark_point(size=260, strokeWidth=2.5, color=SELECTED_COLOR, filled=False).encode(
        x=axis("x", xt, xl, xlog), y=axis("y", yt, yl, ylog))
    layers: list[alt.Chart] = [rings, points]
    if len(starred):
        where = {"x": axis("x", xt, xl, xlog), "y": axis("y", yt, yl, ylog)}
        layers.append(alt.Chart(starred).mark_point(shape=STAR, size=420, filled=True, color=REFERENCE_COLOR,
                                                    stroke="white", strokeWidth=1, opacity=1)
                      .encode(**where, tooltip=[alt.Tooltip("ref:N", title="Reference"), alt.Tooltip("run:N", title="Run")]))
        layers.append(alt.Chart(starred).mark_text(align="left", dx=13, fontSize=12, fontWeight="bold", color=REFERENCE_COLOR)
                      .encode(**where, text="ref:N"))

    front = None
    if pareto and xt == "Q" and yt == "Q":
        xd, yd = normalize_direction(pareto[0]), normalize_direction(pareto[1])
        front_rows = pareto_front(shown, "x", "y", xd, yd)
        front = df.set_index(df["run_id"].astype(str)).loc[front_rows["run_id"]].reset_index(drop=True)
        arrows = {"max": "↑", "min": "↓"}
        notes.append(f"Pareto front ({xl} {arrows[xd]}, {yl} {arrows[yd]}): {len(front_rows):,} runs.")
        line = alt.Chart(front_rows[["x", "y", "run"]]).mark_line(
            color=PARETO_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(color=PARETO_COLOR, size=50), interpolate="linear"
        ).encode(x=axis("x", xt, xl, xlog), y=axis("y", yt, yl, ylog), order="x:Q",
                 tooltip=[alt.Tooltip("run:N", title="Pareto run")])
        layers.insert(1, line)
    elif pareto:
        notes.append("Pareto front needs numeric x and y.")

    title = alt.TitleParams(text=f"{yl} vs {xl} · {len(shown):,} runs", subtitle=notes or [""], anchor="start",
                            fontSize=14, subtitleColor="#4b5563")
    chart = alt.layer(*layers).properties(height=height, title=title, usermeta=CANVAS).configure_mark(aria=False)
    return ChartResult(chart, total=n_runs, drawn=len(shown), notes=notes, pareto=front)


def metric_history(
    history: pd.DataFrame,
    labels: dict[str, str],
    metric: str,
    height: int = 360,
    x: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    groups: dict[str, str] | None = None,
    band: str = "minmax",
) -> ChartResult:
    """A metric over steps (or time) for some runs: one line per run, coloured by run.

    Args:
        history: ``run_id, key, step, timestamp, value`` as :func:`podium.store.load_metric_history` gives.
        labels: Run id -> label shown in the legend.
        metric: The metric's name, for titles.
        x: ``"step"``, ``"relative"`` (seconds since each run's first value) or ``"wall"`` (clock).
        smoothing: 0 to 0.99, TensorBoard's debiased moving average; the raw values stay faint behind.
        log_y: A log y axis (values ≤ 0 are not drawn, and the subtitle says how many).
        groups: ``{run id: group label}`` of runs repeating one configuration over seeds
            (:func:`podium.curves.seed_groups`): each group is one mean line with a band.
        band: ``"minmax"`` or ``"sd"`` (mean ± one standard deviation) for the groups' bands.
    """
    from podium import curves

    total = history["run_id"].nunique()
    value = history["value"].astype(float)
    finite = np.isfinite(value) & (value.abs() < sys.float_info.max)  # SQL stores keep ±inf as ±float max
    dropped = int((~finite).sum())
    notes = [f"{dropped:,} NaN/inf values not drawn."] if dropped else []
    data = curves.prepare(history, x=x, smoothing=smoothing)
    if log_y:
        bad = data["value"] <= 0
        if bad.any():
            notes.append(f"{int(bad.sum()):,} values ≤ 0 not drawn on the log axis.")
        data = data[~bad]
    groups = {r: g for r, g in (groups or {}).items() if r in set(data["run_id"])}
    data["series"] = data["run_id"].map(lambda r: groups.get(r) or labels.get(r, r[:8]))
    few = data.groupby("run_id").size().max() if len(data) else 0
    x_type = "T" if x == "wall" else "Q"
    x_axis = alt.Axis(format="d", tickMinStep=1) if x == "step" else alt.Undefined
    X = alt.X(f"x:{x_type}", title=curves.X_TITLES[x], axis=x_axis)
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color("series:N", title="Run", legend=alt.Legend(labelLimit=0, orient="bottom", columns=2))
    layers = []
    single = data[~data["run_id"].isin(set(groups))]
    if smoothing > 0 and len(single):
        layers.append(alt.Chart(single[["series", "x", "value"]]).mark_line(opacity=0.25, strokeWidth=1)
                      .encode(x=X, y=alt.Y("value:Q", scale=y_scale), color=color, detail="series:N"))
    if len(single):
        layers.append(alt.Chart(single[["series", "x", "y", "step"]]).mark_line(point=bool(few and few <= 30)).encode(
            x=X, y=alt.Y("y:Q", title=metric + (" (log)" if log_y else ""), scale=y_scale), color=color,
            tooltip=[alt.Tooltip("series:N", title="Run"), alt.Tooltip("step:Q", title="Step"),
                     alt.Tooltip("y:Q", title=metric, format=".5~g")]))
    if groups:
        stats = curves.band(data, groups, band)
        stats = stats.rename(columns={"group": "series"})
        if log_y:
            stats = stats.assign(lo=stats["lo"].where(stats["lo"] > 0))
        band_title = "min–max" if band == "minmax" else "±1 sd"
        layers.append(alt.Chart(stats).mark_area(opacity=0.2).encode(x=X, y=alt.Y("lo:Q", scale=y_scale, title=metric), y2="hi:Q", color=color))
        layers.append(alt.Chart(stats).mark_line(strokeWidth=2.5).encode(
            x=X, y=alt.Y("mean:Q", scale=y_scale, title=metric), color=color,
            tooltip=[alt.Tooltip("series:N", title="Runs"), alt.Tooltip("step:Q", title="Step"),
                     alt.Tooltip("mean:Q", title="Mean", format=".5~g"), alt.Tooltip("lo:Q", title="Low", format=".5~g"),
                     alt.Tooltip("hi:Q", title="High", format=".5~g"), alt.Tooltip("n:Q", title="Runs")]))
        notes.append(f"{len(set(groups.values()))} group{'s' * (len(set(groups.values())) > 1)} of runs repeating one configuration over seeds: mean line, {band_title} band.")
    if smoothing > 0:
        notes.append(f"Smoothed (weight {smoothing:g}); raw values faint.")
    if not layers:
        layers.append(alt.Chart(pd.DataFrame({"x": [], "y": []})).mark_line())
    by = {"step": "by step", "relative": "by time since start", "wall": "by wall time"}[x]
    title = alt.TitleParams(text=f"{metric} {by}", subtitle=notes or [""], anchor="start", fontSize=14)
    # Streamlit fits title, legend and plot into the height: make room for the legend's rows.
    legend_rows = math.ceil(data["series"].nunique() / 2) if len(data) else 0
    chart = alt.layer(*layers).properties(height=height + 22 * legend_rows + 16 * len(notes), title=title, usermeta=CANVAS)
    return ChartResult(chart, total=total, drawn=data["run_id"].nunique(), notes=notes)
