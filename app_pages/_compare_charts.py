"""Compare's charts: parallel coordinates with brushing, the scatter, the scatter matrix.

Widgets only; the charts are :mod:`podium.charts` / :mod:`podium.insight_charts` specs and the
brush is :mod:`podium.brush`.

The parallel coordinates and the scatter are built once per input (a digest of the columns they
draw, the axes and options; shared by sessions, keyed by the store) and sent as Vega-Lite dicts
whose data are named frames. The selected runs are a layer of their own: selecting a run, or any
other widget, reruns the page without building either chart again, and the browser receives the
same large datasets (it redraws nothing but the selection layer).
"""

from __future__ import annotations

import functools
import hashlib

import pandas as pd
import streamlit as st

from app_pages._compare_parts import frame_token, keep_valid, label_token, per_object
from app_pages._permalink import BRUSH_KEY
from podium import analysis, charts, insight_charts
from podium import brush as brushing
from podium.text import inert

_EPOCH = "compare_parallel_epoch"
MAX_POINTS = 10_000  # beyond this the scatter draws a sample of points (it says so; the axes span all runs)


def clear_brush(column: str | None = None) -> None:
    """Forget one axis's range (or all): a button's callback."""
    b = dict(st.session_state.get(BRUSH_KEY) or {})
    if column is None:
        b = {}
    else:
        b.pop(column, None)
    st.session_state[BRUSH_KEY] = b
    st.session_state[_EPOCH] = st.session_state.get(_EPOCH, 0) + 1


def _take_brush_event(layouts) -> None:
    """A box dragged on the chart since the last run: add its ranges to the brush and start a
    fresh chart (the box itself is shown as the shaded bands of the new one)."""
    key = f"compare_parallel_{st.session_state.get(_EPOCH, 0)}"
    event = st.session_state.get(key)
    interval = (event or {}).get("selection", {}).get("brush") if hasattr(event, "get") else None
    if not interval:
        return
    added = brushing.from_interval(layouts, dict(interval))
    if added:
        st.session_state[BRUSH_KEY] = {**(st.session_state.get(BRUSH_KEY) or {}), **added}
        st.session_state[_EPOCH] = st.session_state.get(_EPOCH, 0) + 1
        st.rerun()


def _key(uri, runs: pd.DataFrame, columns, loaded: pd.DataFrame, refs: dict, *options) -> str:
    """What a chart is built from: the store, the drawn columns of ``runs``, the reference runs'
    rows (they may lie outside the filter) and the options."""
    ref_rows = loaded[loaded["run_id"].isin(set(refs))] if refs else loaded.iloc[:0]
    # The runs are the same object on every rerun of the fragment that draws the charts: hash once.
    drawn = per_object(f"token {columns!r}", runs, lambda frame: frame_token(frame, columns))
    parts = (str(uri), drawn, frame_token(ref_rows, columns), sorted(refs.items()), options)
    return hashlib.sha1(repr(parts).encode()).hexdigest()


@st.cache_resource(max_entries=12, ttl=600, show_spinner=False)
def _parallel(key: str, _runs: pd.DataFrame, _loaded: pd.DataFrame, _options: dict) -> tuple[charts.ChartResult, dict]:
    """The parallel coordinates without a selection and its spec (never changed: shared by sessions)."""
    # Thousands of lines without tooltips come as one picture: the browser draws an image instead
    # of one interpreted mark per segment (about a second for 4,000 lines on 7 axes).
    pc = charts.parallel_coordinates(_runs, reference_runs=_loaded, brushable=True, raster=True, **_options)
    return pc, pc.spec()


@st.cache_resource(max_entries=12, ttl=600, show_spinner=False)
def _scatter(key: str, _runs: pd.DataFrame, _loaded: pd.DataFrame, _labels: pd.Series, _options: dict) -> tuple[charts.ChartResult, dict]:
    """The scatter without a selection and its spec (never changed: shared by sessions)."""
    sc = charts.scatter(_runs, reference_runs=_loaded, labels=_labels, max_points=MAX_POINTS, **_options)
    return sc, sc.spec()


def brush_caption(runs_before: int, runs_after: int, fmt) -> None:
    """The brush as filter text, with buttons to clear it."""
    b = st.session_state.get(BRUSH_KEY) or {}
    if not b:
        return
    c1, c2 = st.columns([6, 1], vertical_alignment="center")
    c1.caption(":material/brush: Brushed: " + inert(brushing.describe(b, fmt)) + f" · {runs_after:,} of {runs_before:,} runs")
    c2.button("Clear brush", key="compare_clear_brush", icon=":material/ink_eraser:", on_click=clear_brush)


def parallel_section(uri, runs, loaded, columns, metrics, varying, primary, selected, refs, fmt) -> tuple[list[str], str | None]:
    """Parallel coordinates over the filtered runs; dragging a box on an axis brushes it."""
    st.subheader("Parallel coordinates")
    keep_valid("compare_axes", columns, lambda: analysis.default_axes(runs, varying, primary))
    keep_valid("compare_color", metrics, primary)
    a1, a2, a3 = st.columns([5, 2, 2])
    axes = a1.multiselect("Axes", columns, key="compare_axes", persist_state="session", format_func=fmt)
    color = a2.selectbox("Colour by", metrics, key="compare_color", persist_state="session", format_func=fmt, index=None, placeholder="No colour")
    keep_valid("compare_log_axes", axes, lambda: analysis.suggest_log_axes(runs, axes))
    log_axes = a3.multiselect("Log scale", axes, key="compare_log_axes", format_func=fmt)
    if not axes:
        st.info("Choose at least one axis.", icon=":material/view_column:")
        return axes, color
    b = st.session_state.get(BRUSH_KEY) or {}
    options = {"axes": list(axes), "color": color, "log_axes": list(log_axes), "reference": dict(refs), "brush": dict(b)}
    key = _key(uri, runs, ["run_id", "run_name", *axes, color, *b], loaded, refs, axes, color, log_axes, brushing.to_params(b))
    pc, spec = _parallel(key, runs, loaded, options)
    _take_brush_event(pc.axes)
    st.vega_lite_chart(pc.select(spec, selected), width="stretch", key=f"compare_parallel_{st.session_state.get(_EPOCH, 0)}",
                       on_select="rerun", selection_mode="brush")
    st.caption("Drag a box over part of an axis to keep only the runs inside it (again on another axis to narrow more); "
               "double-click to drop a box not yet applied.")
    if b:
        cols = st.columns(min(len(b), 6) + 1)
        for i, column in enumerate(list(b)[:6]):
            cols[i].button(f"✕ {fmt(column)}", key=f"compare_unbrush_{column}", on_click=clear_brush, args=(column,),
                           help="Remove this axis's range")
    return axes, color


def scatter_section(uri, runs, loaded, labels, columns, varying, primary, selected, refs, fmt) -> tuple[str, str]:
    """The scatter with a Pareto front; clicking a point selects its run."""
    st.subheader("Scatter")
    defaults = functools.cache(lambda: analysis.default_scatter(runs, primary, varying))
    keep_valid("compare_x", columns, lambda: defaults()[0])
    keep_valid("compare_y", columns, lambda: defaults()[1])
    s = st.columns(4)
    x = s[0].selectbox("x", columns, key="compare_x", format_func=fmt, persist_state="session")
    y = s[1].selectbox("y", columns, key="compare_y", format_func=fmt, persist_state="session")
    keep_valid("compare_scatter_color", [None] + columns, lambda: analysis.default_color_param(runs, varying))
    s_color = s[2].selectbox("Colour", [None] + columns, key="compare_scatter_color", format_func=fmt)
    size = s[3].selectbox("Size", [None] + columns, key="compare_size", format_func=fmt)
    t = st.columns([1, 1, 1.3, 1.3, 1.3], vertical_alignment="center")
    log_x = t[0].toggle("Log x", key="compare_log_x")
    log_y = t[1].toggle("Log y", key="compare_log_y")
    use_pareto = t[2].toggle("Pareto front", value=True, key="compare_pareto")
    x_dir = t[3].segmented_control(f"Better {fmt(x)}", ["max", "min"], default=analysis.metric_direction(x or ""), key=f"compare_x_dir_{x}", disabled=not use_pareto)
    y_dir = t[4].segmented_control(f"Better {fmt(y)}", ["max", "min"], default=analysis.metric_direction(y or ""), key=f"compare_y_dir_{y}", disabled=not use_pareto)
    if x and y:
        pareto = (x_dir or "max", y_dir or "max") if use_pareto and x != y else None
        options = {"x": x, "y": y, "color": s_color, "size": size, "log_x": log_x, "log_y": log_y, "pareto": pareto,
                   "tooltip": [primary] if primary else [], "reference": dict(refs)}
        key = _key(uri, runs, ["run_id", "experiment_name", x, y, s_color, size, primary], loaded, refs,
                   label_token(labels), x, y, s_color, size, log_x, log_y, pareto, primary)
        sc, spec = _scatter(key, runs, loaded, labels, options)
        st.vega_lite_chart(sc.select(spec, selected), width="stretch", key="compare_scatter", on_select="rerun", selection_mode="pick")
        st.caption(f"{sc.drawn:,} of {sc.total:,} runs drawn. Click a point to select its run; shift-click to add more; "
                   "double-click to clear.")
        if sc.pareto is not None and len(sc.pareto):
            with st.expander(f"Pareto front: {len(sc.pareto)} runs", expanded=False):
                shown = sc.pareto.assign(run_name=analysis.run_labels(sc.pareto).values)[["run_name", *dict.fromkeys([x, y])]]
                st.dataframe(shown, hide_index=True, key="compare_pareto_table", column_config={"run_name": "Run", x: fmt(x), y: fmt(y)})
    else:
        st.info("Choose x and y; these runs have one column with values only." if len(columns) < 2 else "Choose x and y.",
                icon=":material/scatter_plot:")
    return x, y


@st.fragment
def matrix_section(runs, columns, metrics, varying, primary, selected, fmt) -> None:
    """Every pair of up to five chosen metrics/params (a fragment: its widgets redraw only it)."""
    # Built only while open: 10k runs in up to 25 panels cost ~0.3 s of Python and a large message per rerun.
    with st.expander("Scatter matrix", icon=":material/grid_view:", key="compare_matrix_open", on_change="rerun") as box:
        if not box.open:
            return
        params = [c for c in analysis.default_axes(runs, varying, primary) if c in columns and c != primary]
        default = ([primary] if primary else []) + [m for m in metrics if m != primary][:1] + params[:2]
        keep_valid("compare_matrix", columns, default[: insight_charts.MATRIX_MAX])
        chosen = st.multiselect("Columns (up to 5)", columns, key="compare_matrix", format_func=fmt,
                                max_selections=insight_charts.MATRIX_MAX)
        if len(chosen) >= 2:
            m = insight_charts.scatter_matrix(runs, chosen, selected=selected)
            st.altair_chart(m.chart, key="compare_matrix_chart")
        else:
            st.info("Choose two to five columns.", icon=":material/grid_view:")
