"""Compare: filter runs, then compare them in parallel coordinates, a scatter, history and a diff.

State lives in URL query parameters (``exp``, ``filter``, ``axes``, ``color``, ``x``, ``y``,
``runs``; see ``podium.filters.CompareQuery``) so a copied URL opens the same view.
"""

import streamlit as st

from app_pages._common import (
    cached_experiments, cached_runs, refresh_controls, runs_progress, selected_runs, show_store_error, store_sidebar,
    tracking_uri,
)
from app_pages._compare_parts import (
    cached_champions, cached_history, first_load, keep_valid, runs_table, select_runs, selection_box, ui_settings,
    write_query,
)
from podium import analysis, charts
from podium.errors import FilterError, PodiumError
from podium.filters import CompareQuery, RunFilter, column_label, varying_columns

uri = tracking_uri()
store_sidebar()
st.title("Compare")
try:
    experiments = cached_experiments(uri)
except PodiumError as exc:
    show_store_error(exc, key="compare_store")
    st.stop()
names = [e.name for e in experiments]
first_load(names, experiments)  # fills widget state from the URL once per session

top, refresh, settings = st.columns([8, 2, 0.7], vertical_alignment="bottom")
chosen = top.multiselect("Experiments", names, key="compare_experiments", persist_state="session", placeholder="Choose experiments")
refresh_controls(refresh, uri, chosen, key="compare")
ui_base = ui_settings(settings, uri)
if not chosen:
    write_query(CompareQuery())
    st.info("Choose one or more experiments above to compare their runs.", icon=":material/arrow_upward:")
    st.stop()
try:
    counts = {e.name: e.run_count for e in experiments}
    with st.spinner("Loading runs…", show_time=True), runs_progress(sum(counts.get(n, 0) for n in chosen)) as report:
        loaded = cached_runs(uri, tuple(chosen), progress=report)
except PodiumError as exc:
    show_store_error(exc, key="compare_load")
    st.stop()
if loaded.empty:
    write_query(CompareQuery(experiments=tuple(chosen)))
    st.info(f"No runs in {', '.join(chosen)} yet.", icon=":material/inbox:")
    st.stop()

# --- filters: a bad filter keeps the last good result on screen -------------------------------
box, quick = st.columns([3, 2])
typed = box.text_input("Filter (MLflow search syntax)", key="compare_filter", persist_state="session",
                       placeholder="metrics.accuracy > 0.9 and params.optimizer = 'adam'")
try:
    RunFilter(typed).validate()
    st.session_state["compare_good_filter"] = typed
except FilterError as exc:
    box.error(f"{exc}\n\nShowing the last filter that worked instead.", icon=":material/filter_alt_off:")
good = st.session_state.get("compare_good_filter", "")
with quick.expander("Quick filters", icon=":material/tune:"):
    statuses = st.multiselect("Status", sorted(loaded["status"].dropna().unique()), key="compare_status")
    days = st.date_input("Started between", value=(), key="compare_dates")
    users = st.multiselect("User", sorted(loaded["user"].dropna().unique()), key="compare_users")
    tag_keys = [c.removeprefix("tags.") for c in loaded.columns if c.startswith("tags.") and not c.startswith("tags.mlflow.")]
    tag_key = st.selectbox("Tag", tag_keys, index=None, key="compare_tag_key", placeholder="Any tag")
    tag_vals = st.multiselect("Tag values", sorted(loaded[f"tags.{tag_key}"].dropna().unique()) if tag_key else [],
                              key="compare_tag_values", disabled=not tag_key)
run_filter = RunFilter(good, tuple(statuses), days[0] if len(days) > 0 else None, days[1] if len(days) > 1 else None,
                       tuple(users), ((tag_key, tuple(tag_vals)),) if tag_key and tag_vals else ())
runs = run_filter.apply(loaded)
st.caption(f"{run_filter.describe(len(runs), len(loaded))} · {len(chosen)} experiment{'s' * (len(chosen) > 1)}")
if runs.empty:
    write_query(CompareQuery(tuple(chosen), good))
    st.warning("No runs match this filter. Loosen it, or clear the quick filters.", icon=":material/filter_alt_off:")
    st.stop()

# --- the model the team ships: marked on the charts, kept in view when the filter leaves it out ---
labels = analysis.run_labels(loaded)
refs = analysis.reference_labels(cached_champions(uri), loaded, runs["run_id"])
if refs:
    r1, r2 = st.columns([4, 1], vertical_alignment="center")
    r1.caption("★ " + "; ".join(f"{label}, run {labels.get(r, r[:8])}" for r, label in refs.items())
               + ": drawn as a black star and a dashed line, the run to beat.")
    r2.button("Select it", key="compare_select_champion", icon=":material/star:", on_click=select_runs, args=(list(refs),),
              disabled=set(refs) <= set(selected_runs()),
              help="Add the champion's run to the selection, for its history and a diff against it.")

# --- selection, shared with the Report and Champion pages -------------------------------------
selected = selection_box(runs, loaded, labels)
varying = varying_columns(runs)
primary = analysis.primary_metric(runs)
columns = analysis.chart_columns(runs)
metrics = [c for c in columns if c.startswith("metrics.")]
fmt = lambda c: column_label(c, runs.columns) if c else "—"  # noqa: E731

# --- runs table --------------------------------------------------------------------------------
runs_table(runs, ui_base, selected)

# --- parallel coordinates ----------------------------------------------------------------------
st.subheader("Parallel coordinates")
keep_valid("compare_axes", columns, analysis.default_axes(runs, varying, primary))
keep_valid("compare_color", metrics, primary)
a1, a2, a3 = st.columns([5, 2, 2])
axes = a1.multiselect("Axes", columns, key="compare_axes", persist_state="session", format_func=fmt)
color = a2.selectbox("Colour by", metrics, key="compare_color", persist_state="session", format_func=fmt, index=None, placeholder="No colour")
keep_valid("compare_log_axes", axes, analysis.suggest_log_axes(runs, axes))
log_axes = a3.multiselect("Log scale", axes, key="compare_log_axes", format_func=fmt)
if axes:
    pc = charts.parallel_coordinates(runs, axes, color=color, selected=selected, log_axes=log_axes,
                                 reference=refs, reference_runs=loaded)
    st.altair_chart(pc.chart, width="stretch", key="compare_parallel")
else:
    st.info("Choose at least one axis.", icon=":material/view_column:")

# --- scatter with Pareto front ---------------------------------------------------------------
st.subheader("Scatter")
dx, dy = analysis.default_scatter(runs, primary, varying)
keep_valid("compare_x", columns, dx)
keep_valid("compare_y", columns, dy)
s = st.columns(4)
x = s[0].selectbox("x", columns, key="compare_x", format_func=fmt, persist_state="session")
y = s[1].selectbox("y", columns, key="compare_y", format_func=fmt, persist_state="session")
keep_valid("compare_scatter_color", [None] + columns, analysis.default_color_param(runs, varying))
s_color = s[2].selectbox("Colour", [None] + columns, key="compare_scatter_color", format_func=fmt)
size = s[3].selectbox("Size", [None] + columns, key="compare_size", format_func=fmt)
t = st.columns([1, 1, 1.3, 1.3, 1.3], vertical_alignment="center")
log_x = t[0].toggle("Log x", key="compare_log_x")
log_y = t[1].toggle("Log y", key="compare_log_y")
use_pareto = t[2].toggle("Pareto front", value=True, key="compare_pareto")
x_dir = t[3].segmented_control(f"Better {fmt(x)}", ["max", "min"], default=analysis.metric_direction(x or ""), key=f"compare_x_dir_{x}", disabled=not use_pareto)
y_dir = t[4].segmented_control(f"Better {fmt(y)}", ["max", "min"], default=analysis.metric_direction(y or ""), key=f"compare_y_dir_{y}", disabled=not use_pareto)
if x and y:
    sc = charts.scatter(runs, x, y, color=s_color, size=size, log_x=log_x, log_y=log_y, selected=selected,
                        pareto=(x_dir or "max", y_dir or "max") if use_pareto else None, tooltip=[primary] if primary else [],
                        reference=refs, reference_runs=loaded)
    st.altair_chart(sc.chart, width="stretch", key="compare_scatter", on_select="rerun", selection_mode="pick")
    st.caption("Click a point to select its run; shift-click to add more; double-click to clear.")
    if sc.pareto is not None and len(sc.pareto):
        with st.expander(f"Pareto front: {len(sc.pareto)} runs", expanded=False):
            st.dataframe(sc.pareto[["run_name", x, y]], hide_index=True, key="compare_pareto_table",
                         column_config={"run_name": "Run", x: fmt(x), y: fmt(y)})

# --- selected runs: metric history and diff ---------------------------------------------------
st.subheader(f"Selected runs ({len(selected)})")
if not selected:
    st.info("Select runs in the table, the scatter or the box above to see their history and a diff.", icon=":material/touch_app:")
else:
    logged = analysis.metrics_logged_by(loaded, selected[:20], metrics)
    keep_valid("compare_history_metric", logged, analysis.default_history_metric(logged, primary))
    h1, _ = st.columns([1, 1])
    hist_metric = h1.selectbox("Metric history", logged, key="compare_history_metric", format_func=fmt,
                               help="Metrics logged by at least one of the selected runs.")
    try:
        hist = cached_history(uri, tuple(selected[:20]), hist_metric.removeprefix("metrics.")) if hist_metric else None
    except PodiumError as exc:
        st.error(str(exc), icon=":material/cloud_off:")
        hist = None
    if hist is not None:
        if len(hist):
            st.altair_chart(charts.metric_history(hist, labels.to_dict(), fmt(hist_metric)).chart, width="stretch", key="compare_history")
        without = [labels.get(r, r) for r in selected[:20] if r not in set(hist["run_id"])]
        if without:
            st.caption(f"No {fmt(hist_metric)} logged by " + ", ".join(without) + ".")
        if len(selected) > 20:
            st.caption(f"History of the first 20 of {len(selected)} selected runs.")
    b1, b2 = st.columns([1, 1], vertical_alignment="bottom")
    keep_valid("compare_baseline", selected, next((r for r in selected if r in refs), selected[0]))
    baseline = b1.selectbox("Baseline for metric deltas", selected, key="compare_baseline", format_func=lambda r: labels.get(r, r),
                            help="The champion's run when it is selected.")
    show_all = b2.toggle("Show params that are the same", key="compare_diff_all")
    diff = analysis.diff_runs(loaded, selected, baseline, only_differing=not show_all)
    st.dataframe(diff.params, key="compare_diff_params", placeholder="—")
    if diff.hidden_params:
        st.caption(f"{diff.hidden_params} param{'s' if diff.hidden_params != 1 else ''} with the same value in every selected run hidden.")
    st.dataframe(diff.metrics, key="compare_diff_metrics", placeholder="—", column_config={c: st.column_config.NumberColumn(format="%+.4g" if c.startswith("Δ ") else "%.4g") for c in diff.metrics.columns})

# --- group by a param or tag ----------------------------------------------------------------
st.subheader("Group runs")
group_cols = [c for c in runs.columns if c.startswith(("params.", "tags.")) and not c.startswith("tags.mlflow.")]
g1, g2 = st.columns([1, 2])
by = g1.selectbox("Group by", group_cols, key="compare_group_by", index=None, format_func=fmt, placeholder="Choose a param or tag")
keep_valid("compare_group_metrics", metrics, [primary] if primary else [])
g_metrics = g2.multiselect("Metrics", metrics, key="compare_group_metrics", format_func=fmt)
if by:
    st.dataframe(analysis.group_stats(runs, by, g_metrics), hide_index=True, key="compare_group_table")

write_query(CompareQuery(tuple(chosen), good, tuple(axes), color or "", x or "", y or "", tuple(selected)))
