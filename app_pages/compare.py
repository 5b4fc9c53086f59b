"""Compare: filter and brush runs, then compare them: parallel coordinates, scatter, scatter matrix,
history, diff, which params matter, sweeps, groups.

State lives in URL query parameters (``exp``, ``filter``, ``axes``, ``color``, ``x``, ``y``,
``runs``; see ``podium.permalink.CompareQuery``; plus ``brush`` and ``value``) so a copied URL
opens the same view, and a saved view (``podium.views``) is that URL's query kept in MLflow.
"""

import streamlit as st

from app_pages import _state as state
from app_pages._state import selected_runs
from app_pages._widgets import refresh_controls, runs_or_stop
from app_pages._compare_charts import brush_caption, matrix_section, parallel_section, scatter_section
from app_pages._compare_insights import group_section, importance_section, sweep_section
from app_pages._compare_parts import cached_champions, run_labels, ui_settings
from app_pages._permalink import BRUSH_KEY, first_load, write_query
from app_pages._selection import select_runs, selection_box
from app_pages._compare_selected import diff_section, history_section
from app_pages._compare_table import runs_table
from app_pages._compare_views import metric_values, value_note, views_section
from podium.text import inert
from podium import analysis
from podium import brush as brushing
from podium.errors import FilterError
from podium.columns import column_label, varying_columns
from podium.filters import RunFilter
from podium.permalink import CompareQuery

uri, experiments = state.page_store()  # read by the shell (app.py), which also drew the title
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
loaded = runs_or_stop(uri, chosen, experiments, key="compare")
if loaded.empty:
    write_query(CompareQuery(experiments=tuple(chosen)))
    st.info("No runs in " + inert(", ".join(chosen)) + " yet.", icon=":material/inbox:")
    st.stop()

# --- filters: a bad filter keeps the last good result on screen -------------------------------
box, quick = st.columns([3, 2])
typed = box.text_input("Filter (MLflow search syntax)", key="compare_filter", persist_state="session",
                       placeholder="metrics.accuracy > 0.9 and params.optimizer = 'adam'")
try:
    RunFilter(typed).validate()
    state.set_good_filter(typed)
except FilterError as exc:
    box.error(f"{exc}\n\nShowing the last filter that worked instead.", icon=":material/filter_alt_off:")
good = state.good_filter()
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
columns = analysis.chart_columns(runs)
metrics = [c for c in columns if c.startswith("metrics.")]
shown_names = {c: column_label(c, runs.columns) for c in runs.columns}  # each widget's format_func looks them up
fmt = lambda c: (shown_names.get(c) or column_label(c, runs.columns)) if c else "—"  # noqa: E731
counts_col, values_col, views_col = st.columns([6, 1.4, 1.1], vertical_alignment="center")
counts_col.caption(inert(run_filter.describe(len(runs), len(loaded))) + f" · {len(chosen)} experiment{'s' * (len(chosen) > 1)}")
with views_col:
    views_section(uri, experiments, chosen, {k: st.query_params.get_all(k) for k in st.query_params})
if runs.empty:
    write_query(CompareQuery(tuple(chosen), good))
    st.warning("No runs match this filter. Loosen it, or clear the quick filters.", icon=":material/filter_alt_off:")
    st.stop()

primary = analysis.primary_metric(runs)
with values_col:
    runs, summaries = metric_values(uri, runs, metrics, primary, fmt)
if value_note():
    counts_col.caption(value_note())
brushed = brushing.apply(runs, st.session_state.get(BRUSH_KEY) or {})
brush_caption(len(runs), len(brushed), fmt)

# --- the model the team ships: marked on the charts, kept in view when the filter leaves it out ---
labels = run_labels(loaded)  # once per kept frame, not on every rerun
refs = analysis.reference_labels(cached_champions(uri), loaded, brushed["run_id"])
if refs:
    r1, r2 = st.columns([4, 1], vertical_alignment="center")
    r1.caption("★ " + "; ".join(f"{label}, run {labels.get(r, r[:8])}" for r, label in refs.items())
               + ": drawn as a black star and a dashed line, the run to beat.")
    r2.button("Select it", key="compare_select_champion", icon=":material/star:", on_click=select_runs, args=(list(refs),),
              disabled=set(refs) <= set(selected_runs()),
              help="Add the champion's run to the selection, for its history and a diff against it.")

# --- selection (shared with the Report and Champion pages), table, charts ------------------------
# One fragment from here to the sweeps: a selection, an axis, any widget there reruns only this part,
# with the runs the page computed above (the filters, the store's frame and the brush are not read
# again). A brush changed in here needs the page's runs anew: that reruns the whole page.
@st.fragment
def compare_view(runs, brushed, varying, summaries, brush_used: dict) -> None:
    if (st.session_state.get(BRUSH_KEY) or {}) != brush_used:
        st.rerun()
    selected = selection_box(brushed, loaded, labels)
    runs_table(brushed, ui_base, selected, summaries, labels)
    axes, color = parallel_section(uri, runs, loaded, columns, metrics, varying, primary, selected, refs, fmt)
    x = y = None
    if brushed.empty:
        st.warning("No run is inside the brushed ranges. Clear the brush, or an axis's range, above.", icon=":material/brush:")
    else:
        x, y = scatter_section(uri, brushed, loaded, labels, columns, varying, primary, selected, refs, fmt)
        matrix_section(brushed, columns, metrics, varying, primary, selected, fmt)

        st.subheader(f"Selected runs ({len(selected)})")
        if not selected:
            st.info("Select runs in the table, the scatter or the box above to see their history and a diff.", icon=":material/touch_app:")
        else:
            history_section(uri, loaded, selected, metrics, primary, labels, fmt)
            diff_section(loaded, selected, refs, labels)
        sweep_section(brushed, selected, labels, fmt)

    write_query(CompareQuery(tuple(chosen), good, tuple(axes), color or "", x or "", y or "", tuple(selected)))


# "Which params matter" and "Group runs" read neither the selection nor the charts' widgets: a
# fragment of their own, after the one above, so a selection, an axis or a table tick (a rerun of
# compare_view only) leaves their ~15 elements as they are instead of sending them again.
@st.fragment
def insights_view(brushed, varying) -> None:
    importance_section(brushed, metrics, varying, primary, fmt)
    group_section(brushed, metrics, primary, fmt)


varying = varying_columns(runs)
compare_view(runs, brushed, varying, summaries, dict(st.session_state.get(BRUSH_KEY) or {}))
if not brushed.empty:
    insights_view(brushed, varying)
