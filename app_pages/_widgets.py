"""Widgets more than one page draws: runs-table columns, Refresh, the load's progress bar, a
store error with a retry. Widgets only; decisions are core calls.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import pandas as pd
import streamlit as st

from app_pages._cache import cached_experiments, cached_runs, clear_caches, refresh_runs
from app_pages._state import REFRESH_NOTE_KEY
from podium import store
from podium.errors import PodiumError
from podium.columns import column_label
from podium.text import inert


def run_columns_config(columns, among=None) -> dict:
    """Column headers and formats of the runs tables: MLflow's column names shown the same way on
    every page (``params.lr`` as ``lr``, ``duration_s`` as "Duration (s)"); a name kept whole
    where ``among`` (default ``columns``) has it as both a param and a metric."""
    config = {c: column_label(c, among if among is not None else columns) for c in columns}
    config.update({
        "experiment_name": st.column_config.TextColumn("Experiment"),
        "status": st.column_config.TextColumn("Status"),
        "start_time": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm"),
        "end_time": st.column_config.DatetimeColumn("Ended", format="YYYY-MM-DD HH:mm"),
        "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.3g"),
        "user": st.column_config.TextColumn("User"),
    })
    wanted = set(columns)
    return {c: v for c, v in config.items() if c in wanted}


def shown_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """A table for display: ±inf that SQL stores keep as ±float max shown as ±∞ (the frame itself
    keeps MLflow's values, for parity with ``mlflow.search_runs``)."""
    import numpy as np

    big = np.finfo(float).max
    out = table.copy()
    for c in out.columns:
        if c.startswith("metrics.") and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].mask(out[c] >= big, np.inf).mask(out[c] <= -big, -np.inf)
    return out


def known_experiments(asked, names) -> list[str]:
    """The experiments named in a URL that this store has; a warning names the ones it lacks."""
    known = set(names)
    unknown = [e for e in asked if e not in known]
    if unknown:
        st.warning("No experiment named " + ", ".join(inert(repr(u)) for u in unknown) + " in this store.", icon=":material/search_off:")
    return [e for e in asked if e in known]


def refresh_controls(where, uri: str, experiments: list[str], key: str) -> None:
    """Refresh (new and running runs only) and, in a menu beside it, Full reload.

    Either click reruns the page; what the refresh found shows as a toast on that rerun.
    """
    note = st.session_state.pop(REFRESH_NOTE_KEY, None)
    if note:
        st.toast(note, icon=":material/refresh:")
    with where.container(horizontal=True, vertical_alignment="bottom", gap="xsmall", wrap=False):
        if st.button("Refresh", key=f"{key}_refresh", icon=":material/refresh:", width="stretch",
                     help="Load new runs and re-read runs that were still running."):
            if experiments:
                try:
                    st.session_state[REFRESH_NOTE_KEY] = refresh_runs(uri, tuple(experiments)).describe()
                except PodiumError:
                    pass  # shown by the page's own load, with a retry
            cached_experiments.clear()
            st.rerun()
        with st.popover("", icon=":material/more_vert:", key=f"{key}_reload_menu", help="Full reload"):
            st.caption("Refresh reads new runs and runs that were running. Changes to finished runs "
                       "(new tags, renames, deletions over HTTP) show after a full reload.")
            if st.button("Full reload", key=f"{key}_full_reload", icon=":material/sync:"):
                clear_caches()
                st.session_state[REFRESH_NOTE_KEY] = "Reloaded all runs"
                st.rerun()


@contextlib.contextmanager
def runs_progress(expected_total: int | None = None) -> Iterator[store.Progress]:
    """A progress bar with run counts for a load (``store.load_runs(progress=...)``), removed after.

    ``expected_total`` (e.g. the experiments' run counts) stands in when the store cannot tell
    the total (a tracking server's pages).
    """
    slot = st.empty()

    def report(loaded: int, total: int | None) -> None:
        total = total or expected_total
        if total and loaded >= total:
            return  # done: the bar goes away
        if total:
            text = f"Loading {total:,} runs…" if loaded == 0 else f"Loaded {loaded:,} of {total:,} runs"
            slot.progress(loaded / total, text=text)
        else:
            slot.progress(0.0, text=f"Loaded {loaded:,} runs")

    try:
        yield report
    finally:
        slot.empty()


def show_store_error(exc: PodiumError, key: str) -> None:
    """A clear message with the redacted URI and a retry button; never a traceback."""
    st.error(inert(str(exc)), icon=":material/cloud_off:")
    if st.button("Retry", key=f"{key}_retry", icon=":material/refresh:"):
        clear_caches()
        st.rerun()


def runs_or_stop(uri: str, chosen: list[str], experiments, key: str) -> pd.DataFrame:
    """The chosen experiments' runs (the kept frame; a first load shows a progress bar), or a
    store error with a retry (``{key}_load_retry``) and the page stops there."""
    counts = {e.name: e.run_count for e in experiments}
    try:
        with st.spinner("Loading runs…", show_time=True), runs_progress(sum(counts.get(n, 0) for n in chosen)) as report:
            return cached_runs(uri, tuple(chosen), progress=report)
    except PodiumError as exc:
        show_store_error(exc, key=f"{key}_load")
        st.stop()
