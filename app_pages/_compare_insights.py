"""Compare's insights: which params explain a metric, sweeps (parent runs and their children), groups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._compare_parts import keep_valid
from podium import analysis, insight_charts, sweeps
from podium.text import inert


AUTO_MAX_RUNS = 1000  # beyond this, importance waits for a click (a few seconds of fitting)


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def cached_importance(frame: pd.DataFrame, metric: str, params: tuple[str, ...]) -> pd.DataFrame:
    return analysis.parameter_importance(frame, metric, list(params))


@st.fragment
def importance_section(runs, metrics, varying, primary, fmt) -> None:
    """Parameter importance for one metric over the runs shown (a fragment: its widgets redraw only it)."""
    st.subheader("Which params matter")
    params = [c for c in runs.columns if c.startswith("params.") and runs[c].notna().any()]
    keep_valid("compare_importance_metric", metrics, primary)
    keep_valid("compare_importance_params", params,
               lambda: analysis.informative_params(runs, [v for v in varying if v.startswith("params.")]))
    c1, c2 = st.columns([1, 2])
    metric = c1.selectbox("Metric to explain", metrics, key="compare_importance_metric", format_func=fmt)
    chosen = c2.multiselect("Params", params, key="compare_importance_params", format_func=fmt,
                            help="Numbers are used as numbers, other values as categories, a missing value as a value of its own.")
    if not metric or not chosen:
        st.info("Choose a metric and at least one param.", icon=":material/insights:")
        return
    frame = runs[["run_id", "run_name", metric, *chosen]]
    if len(frame) > AUTO_MAX_RUNS and not st.toggle(f"Compute for these {len(frame):,} runs", key="compare_importance_on",
                                                     help="Fitting the forest takes a few seconds on this many runs."):
        return
    with st.spinner("Fitting a random forest…"):
        result = cached_importance(frame, metric, tuple(chosen))
    if result.empty:
        st.info(inert(result.attrs.get("note", "Nothing to show.")), icon=":material/info:")
        return
    st.altair_chart(insight_charts.importance_chart(result, fmt(metric), list(runs.columns)).chart, width="stretch",
                    key="compare_importance_chart")
    st.caption("Permutation importance of a random forest fitted to these runs: how much the fit drops when a param's values "
               "are shuffled. Blue: higher values go with a higher metric; red: with a lower one (rank correlation).")


@st.fragment
def sweep_section(runs, selected, labels, fmt) -> None:
    """A parent run's children as a search: best so far, slices, spread."""
    found = sweeps.find_sweeps(runs)
    if not found:
        return
    st.subheader("Sweeps")
    by_id = {s.parent_id: s for s in found}
    keep_valid("compare_sweep", list(by_id), found[0].parent_id)
    c1, c2 = st.columns([2, 1])
    pid = c1.selectbox("Sweep", list(by_id), key="compare_sweep",
                       format_func=lambda p: f"{by_id[p].label} · {by_id[p].children} children · {by_id[p].experiment}")
    kids = sweeps.children(runs, pid)
    kid_metrics = [c for c in kids.columns if c.startswith("metrics.") and kids[c].notna().any()]
    if not kid_metrics:
        st.info("The children of this sweep logged no metric.", icon=":material/info:")
        return
    keep_valid("compare_sweep_metric", kid_metrics, analysis.primary_metric(kids) or kid_metrics[0])
    metric = c2.selectbox("Metric", kid_metrics, key="compare_sweep_metric", format_func=fmt)
    direction = analysis.metric_direction(metric)
    curve = sweeps.best_so_far(kids, metric, direction)
    left, right = st.columns([3, 2])
    left.altair_chart(insight_charts.best_so_far_chart(curve, labels.to_dict(), fmt(metric)).chart, width="stretch", key="compare_sweep_best")
    spread = sweeps.spread(kids, metric)
    with right:
        st.markdown(f"**Spread of {inert(fmt(metric))} over {spread['n']} children** ({'higher' if direction == 'max' else 'lower'} is better)")
        st.dataframe(pd.DataFrame([spread]).rename(columns={"n": "children"}), hide_index=True, key="compare_sweep_spread",
                     column_config={k: st.column_config.NumberColumn(format="%.4g") for k in ("mean", "sd", "min", "median", "max")})
        best = curve.loc[curve["value"].idxmax() if direction == "max" else curve["value"].idxmin()] if curve["value"].notna().any() else None
        if best is not None:
            st.caption(inert(f"Best child: {labels.get(best['run_id'], best['run_id'][:8])} (trial {int(best['trial'])})."))
    swept = sweeps.swept_params(kids)
    if swept:
        st.altair_chart(insight_charts.slice_chart(kids, metric, swept[:9], selected).chart, key="compare_sweep_slices")
    else:
        st.caption("The children share every param: no slice to draw.")


def group_section(runs, metrics, primary, fmt) -> None:
    """Count, mean, min and max of metrics per value of a param or tag."""
    st.subheader("Group runs")
    group_cols = [c for c in runs.columns if c.startswith(("params.", "tags.")) and not c.startswith("tags.mlflow.")]
    g1, g2 = st.columns([1, 2])
    by = g1.selectbox("Group by", group_cols, key="compare_group_by", index=None, format_func=fmt, placeholder="Choose a param or tag")
    keep_valid("compare_group_metrics", metrics, [primary] if primary else [])
    g_metrics = g2.multiselect("Metrics", metrics, key="compare_group_metrics", format_func=fmt)
    if by:
        st.dataframe(analysis.group_stats(runs, by, g_metrics), hide_index=True, key="compare_group_table")
