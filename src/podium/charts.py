"""Altair specs for the Compare page: parallel coordinates (:mod:`podium.parallel`), scatter with a
Pareto front, metric history.

Every chart is computed in pandas first and handed to Vega-Lite ready to draw. Missing values are
never dropped: a scatter says how many runs it could not place, the parallel coordinates put them
on an ``n/a`` band. The names every chart module shares live in :mod:`podium.chart_common`; this
module re-exports them (and the parallel coordinates), so ``podium.charts`` stays the one place
pages and reports import charts from.
"""

from __future__ import annotations

import math
import sys

import altair as alt
import numpy as np
import pandas as pd

from podium.analysis import metric_direction, normalize_direction, pareto_front, run_labels
from podium.chart_common import (  # noqa: F401  (re-exported)
    CANVAS, MISSING_COLOR, NA_TEXT, PARETO_COLOR, REFERENCE_COLOR, SELECTED_COLOR, SELECTION_DATA, STAR, ChartResult,
    Highlight, _outside_references, built_unvalidated, chart_numbers, nice_ticks,
)
from podium.columns import column_label
from podium.parallel import (  # noqa: F401  (re-exported)
    BEST_SHARE, MAX_CATEGORY_LABELS, MAX_LINES, NA_Y, NEG_INF_Y, POS_INF_Y, TITLE_Y, TOOLTIP_MAX_LINES, AxisLayout,
    choose_lines, layout_axis, parallel_coordinates,
)

def _placed(df: pd.DataFrame, column: str, log: bool) -> tuple[pd.Series, str, bool]:
    """Values of ``column`` for a scatter axis: numbers (finite, > 0 on a log axis) or labels."""
    nums = chart_numbers(df[column]) if column in df else None
    if nums is None:
        text = df[column].astype(object).where(df[column].notna(), None) if column in df else pd.Series([None] * len(df), index=df.index)
        return text, "N", False
    ok = np.isfinite(nums) & ((nums > 0) if log else True)
    return nums.where(ok), "Q", log


@built_unvalidated
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
    labels: pd.Series | None = None,
    max_points: int | None = None,
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
    chart's subtitle says how many. ``labels`` (run id -> label, e.g. a page's labels of every
    loaded run) name the points; by default :func:`podium.analysis.run_labels` of ``df``.

    Selected runs are ringed in a layer of their own (:meth:`ChartResult.select` changes only it).
    Beyond ``max_points`` placed runs the points are a random sample (the subtitle says so); the
    axes, the Pareto front and the rings of selected runs still cover every run.
    """
    n_runs = len(df)
    outside = _outside_references(df, reference, reference_runs)
    if outside is not None:
        df = pd.concat([df, outside], ignore_index=True)
    all_cols = list(df.columns)
    xl, yl = column_label(x, all_cols), column_label(y, all_cols)
    ids = df["run_id"].astype(str)
    names = labels.reindex(ids.values).to_numpy() if labels is not None and len(df) else None
    if names is None or pd.isna(names).any():
        names = run_labels(df).to_numpy() if len(df) else []
    data = pd.DataFrame({"run_id": ids.values, "run": names})
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

    # The domains of the drawn points, given explicitly: otherwise every layer's data counts, and a
    # new selection (the rings' data) would remake the scales and re-encode every point.
    domains = {}
    for name in ("x", "y"):
        values = pd.to_numeric(pd.concat([shown[name], starred[name]]), errors="coerce") if len(shown) + len(starred) else pd.Series([], dtype=float)
        lo, hi = (float(values.min()), float(values.max())) if values.notna().any() else (math.nan, math.nan)
        domains[name] = [lo, hi] if hi > lo else alt.Undefined

    def axis(field_name: str, kind: str, title: str, log: bool):
        enc = alt.X if field_name == "x" else alt.Y
        domain = domains[field_name] if kind == "Q" else alt.Undefined
        scale = alt.Scale(type="log", domain=domain) if log else alt.Scale(zero=False, domain=domain)
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
    plotted = shown
    if max_points is not None and len(shown) > max_points:
        # Each point costs the browser an interpreted encoding: a seeded sample, in the runs' order.
        at = np.sort(np.random.default_rng(0).choice(len(shown), size=max_points, replace=False))
        plotted = shown.iloc[at]
        notes.append(f"Points: a random sample of {max_points:,} of the {len(shown):,} runs placed; the axes, "
                     "the Pareto front and selected runs cover them all.")
    many = len(shown) > 1500
    enc["opacity"] = alt.condition(pick, alt.value(0.45 if many else 0.85), alt.value(0.12 if many else 0.25))
    points = alt.Chart(plotted).mark_circle(size=18 if many else 60).encode(**enc).add_params(pick)
    # Ringed in a layer of their own, so a new selection leaves the points' data as it is.
    highlight = Highlight.over(shown[["run_id", "x", "y"]], ["run_id", "x", "y"], selected)
    rings = alt.Chart(highlight.frame).mark_point(size=260, strokeWidth=2.5, color=SELECTED_COLOR, filled=False).encode(
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
    return ChartResult(chart, total=n_runs, drawn=len(plotted), notes=notes, pareto=front, highlight=highlight)


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
