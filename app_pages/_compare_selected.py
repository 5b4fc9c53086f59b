"""Compare's selected runs: metric history (x by step or time, smoothing, log y, seed bands) and a diff."""

from __future__ import annotations

import streamlit as st

from app_pages._compare_parts import cached_history, keep_valid
from podium import analysis, charts, curves
from podium.errors import PodiumError
from podium.text import inert

MAX_HISTORY_RUNS = 20
X_LABELS = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}


@st.fragment
def history_section(uri, loaded, selected, metrics, primary, labels, fmt) -> None:
    """The selected runs' history of one metric; its options redraw only this part."""
    shown = selected[:MAX_HISTORY_RUNS]
    logged = analysis.metrics_logged_by(loaded, shown, metrics)
    keep_valid("compare_history_metric", logged, analysis.default_history_metric(logged, primary))
    h = st.columns([3, 3], vertical_alignment="bottom")
    metric = h[0].selectbox("Metric history", logged, key="compare_history_metric", format_func=fmt,
                            help="Metrics logged by at least one of the selected runs.")
    x = h[1].segmented_control("x axis", list(X_LABELS), format_func=X_LABELS.get, default="step", key="compare_history_x") or "step"
    o = st.columns([3, 1.2, 1.6, 2.2], vertical_alignment="center")
    smoothing = o[0].slider("Smoothing", 0.0, 0.99, 0.0, 0.01, key="compare_history_smooth",
                            help="A debiased moving average (as TensorBoard's); the raw values stay faint.")
    log_y = o[1].toggle("Log y", key="compare_history_log")
    groups = curves.seed_groups(loaded, shown)
    use_groups = o[2].toggle("Seed groups", key="compare_history_seeds", disabled=not groups, value=bool(groups),
                             help="Runs repeating one configuration over seeds (params equal except seed, random_state, "
                                  "random_seed) as one mean line with a band.")
    band = "minmax"
    if groups and use_groups:
        band = o[3].segmented_control("Band", ["minmax", "sd"], default="minmax", key="compare_history_band",
                                      format_func={"minmax": "min–max", "sd": "±1 sd"}.get) or "minmax"
    if not metric:
        return
    try:
        hist = cached_history(uri, tuple(shown), metric.removeprefix("metrics."))
    except PodiumError as exc:
        st.error(inert(str(exc)), icon=":material/cloud_off:")
        return
    if len(hist):
        chart = charts.metric_history(hist, labels.to_dict(), fmt(metric), x=x, smoothing=smoothing, log_y=log_y,
                                      groups=groups if use_groups else None, band=band)
        st.altair_chart(chart.chart, width="stretch", key="compare_history")
    without = [labels.get(r, r) for r in shown if r not in set(hist["run_id"])]
    if without:
        st.caption(inert(f"No {fmt(metric)} logged by " + ", ".join(without) + "."))
    if len(selected) > MAX_HISTORY_RUNS:
        st.caption(f"History of the first {MAX_HISTORY_RUNS} of {len(selected)} selected runs.")


def diff_section(loaded, selected, refs, labels) -> None:
    """The selected runs side by side: params that differ, metrics with deltas to a baseline."""
    b1, b2 = st.columns([1, 1], vertical_alignment="bottom")
    keep_valid("compare_baseline", selected, next((r for r in selected if r in refs), selected[0]))
    baseline = b1.selectbox("Baseline for metric deltas", selected, key="compare_baseline", format_func=lambda r: labels.get(r, r),
                            help="The champion's run when it is selected.")
    show_all = b2.toggle("Show params that are the same", key="compare_diff_all")
    diff = analysis.diff_runs(loaded, selected, baseline, only_differing=not show_all)
    st.dataframe(diff.params, key="compare_diff_params", placeholder="—")
    if diff.hidden_params:
        st.caption(f"{diff.hidden_params} param{'s' if diff.hidden_params != 1 else ''} with the same value in every selected run hidden.")
    st.dataframe(diff.metrics, key="compare_diff_metrics", placeholder="—",
                 column_config={c: st.column_config.NumberColumn(format="%+.4g" if c.startswith("Δ ") else "%.4g") for c in diff.metrics.columns})
