"""Compare's shared views (saved in MLflow as experiment tags) and metric-value choices."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._permalink import VALUE_KEY, extras, reopen
from podium import analysis, store, views
from podium.errors import PodiumError
from podium.text import inert

_PENDING = "compare_view_pending"  # ("save" | "delete", name) awaiting confirmation
_DONE = "compare_view_done"  # what the last confirmed write did, shown once on the run after it


@st.cache_data(ttl=300, show_spinner=False, max_entries=16)
def cached_summaries(uri: str, run_ids: tuple[str, ...], keys: tuple[str, ...]) -> pd.DataFrame:
    return store.metric_summaries(uri, list(run_ids), list(keys))


def metric_values(uri, runs, metrics, primary, fmt):
    """The "value" choice (last/min/max/best of each history) and the summary columns for the
    table. Returns (runs with the chosen values, summary columns or None); the page says which
    value it shows (``value_note``)."""
    value = st.session_state.get(VALUE_KEY, "last")
    with st.popover("Metric values", icon=":material/functions:"):
        st.segmented_control("Value of each metric", list(analysis.VALUE_CHOICES), key=VALUE_KEY,
                             help="Charts and table show this value of each metric's history: last (MLflow's), "
                                  "min, max, or best (min for losses, else max).")
        summarised = st.multiselect("Summaries in the table", metrics, key="compare_summary_metrics", format_func=fmt,
                                    help="min, max, last, number of values and the step of the best value per run.")
    value = st.session_state.get(VALUE_KEY) or "last"
    keys = {m.removeprefix("metrics.") for m in summarised}
    if value != "last":
        keys |= {m.removeprefix("metrics.") for m in metrics}
    if not keys:
        return runs, None
    try:
        with st.spinner("Reading metric histories…"):
            summaries = cached_summaries(uri, tuple(runs["run_id"]), tuple(sorted(keys)))
    except PodiumError as exc:
        st.error(inert(str(exc)), icon=":material/cloud_off:")
        return runs, None
    table = analysis.summary_columns(summaries, [m.removeprefix("metrics.") for m in summarised]) if summarised else None
    return analysis.with_metric_values(runs, summaries, value), table


def value_note() -> str:
    """A caption for the page when metrics show another value than MLflow's last one."""
    value = st.session_state.get(VALUE_KEY) or "last"
    return "" if value == "last" else f"Metric values: the {value} of each run's history" + (
        " (min for losses, else max)." if value == "best" else ".")


def _ask(kind: str, name: str) -> None:
    st.session_state[_PENDING] = (kind, name)


def views_section(uri, experiments, chosen, query_params) -> None:
    """Save the view under a name (after a confirmation), list, open and delete the saved ones."""
    done = st.session_state.pop(_DONE, None)
    if done:  # a toast made just before st.rerun() would be dropped with that run's elements
        st.toast(inert(done), icon=":material/check:")
    by_name = {e.name: e for e in experiments}
    home = by_name.get(chosen[0]) if chosen else None
    if home is None:
        return
    with st.popover("Views", icon=":material/bookmarks:"):
        try:
            saved = views.list_views(uri, home)
        except PodiumError as exc:
            st.error(inert(str(exc)), icon=":material/cloud_off:")
            return
        names = [v.name for v in saved]
        if saved:
            pick = st.selectbox("Saved views", names, key="compare_view_pick", help=inert(f"Kept on experiment {home.name}."))
            o, d = st.columns(2)
            if o.button("Open", key="compare_view_open", icon=":material/open_in_new:", width="stretch"):
                reopen(next(v for v in saved if v.name == pick).params())
                st.rerun()
            d.button("Delete…", key="compare_view_delete", icon=":material/delete:", width="stretch", on_click=_ask, args=("delete", pick))
        else:
            st.caption(inert(f"No saved views on {home.name} yet."))
        name = st.text_input("Save this view as", key="compare_view_name", placeholder="e.g. best fraud models")
        problem = None
        if name.strip():
            try:
                views.check_name(name)
            except PodiumError as exc:
                problem = str(exc)
                st.caption(f":red[{inert(problem)}]")
        st.button("Save view…", key="compare_view_save", icon=":material/bookmark_add:", disabled=not name.strip() or bool(problem),
                  on_click=_ask, args=("save", name.strip()))
        pending = st.session_state.get(_PENDING)
        if pending:
            kind, target = pending
            verb = "Replace" if kind == "save" and target in names else ("Save" if kind == "save" else "Delete")
            st.warning(inert(f"{verb} the view '{target}' on experiment {home.name}? This writes the tag podium.view.{target} "
                             "to the MLflow store, for every user of it."), icon=":material/edit_note:")
            y, n = st.columns(2)
            if y.button("Confirm", key="compare_view_confirm", type="primary", width="stretch"):
                try:
                    if kind == "save":
                        views.save_view(uri, home, target, views.query_string({**query_params, **extras()}))
                    else:
                        views.delete_view(uri, home, target)
                    st.session_state.pop(_PENDING, None)
                    st.session_state[_DONE] = f"View '{target}' {'saved' if kind == 'save' else 'deleted'}."
                    st.rerun()
                except PodiumError as exc:
                    st.error(inert(str(exc)), icon=":material/error:")
            n.button("Cancel", key="compare_view_cancel", width="stretch", on_click=lambda: st.session_state.pop(_PENDING, None))
