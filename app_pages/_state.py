"""Every session key more than one page (or module) reads, with typed accessors.

Nothing else names one of these keys as a string. A widget's own ``key=`` that only its page
reads stays beside the widget.
"""

from __future__ import annotations

import streamlit as st

STORE_KEY = "podium_tracking_uri"  # the store (team mode: a StoreRef naming the signed-in user)
SELECTED_RUNS_KEY = "podium_selected_runs"  # run ids chosen on Runs/Compare, used by Report/Champion
EXPERIMENTS_KEY = "podium_experiments"  # experiment names chosen last, shared across pages
UI_BASE_KEY = "podium_mlflow_ui"  # the MLflow UI address a user typed, for run links on every page
GOOD_FILTER_KEY = "compare_good_filter"  # Compare's last filter MLflow accepted; Report starts from it
LOGGED_REPORT_KEY = "report_logged_run"  # the run a report was logged to; Champion links it
REFRESH_NOTE_KEY = "podium_refresh_note"  # what a Refresh found, shown once on the next run


def shared_experiments(known: list[str] | set[str]) -> list[str]:
    """The experiments chosen last on any page that this store has."""
    known = set(known)
    return [n for n in st.session_state.get(EXPERIMENTS_KEY, []) if n in known]


def set_shared_experiments(names: list[str]) -> None:
    st.session_state[EXPERIMENTS_KEY] = list(names)


def selected_runs() -> list[str]:
    return list(st.session_state.get(SELECTED_RUNS_KEY, []))


def set_selected_runs(run_ids: list[str]) -> None:
    st.session_state[SELECTED_RUNS_KEY] = list(run_ids)


def ui_base() -> str | None:
    return st.session_state.get(UI_BASE_KEY) or None


def good_filter() -> str:
    return st.session_state.get(GOOD_FILTER_KEY, "")


def set_good_filter(text: str) -> None:
    st.session_state[GOOD_FILTER_KEY] = text


def logged_report_run() -> str:
    return st.session_state.get(LOGGED_REPORT_KEY, "")


def set_logged_report_run(run_id: str) -> None:
    st.session_state[LOGGED_REPORT_KEY] = run_id
