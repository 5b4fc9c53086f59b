"""Every session key more than one page (or module) reads, with typed accessors.

Nothing else names one of these keys as a string. A widget's own ``key=`` that only its page
reads stays beside the widget.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import streamlit as st

from podium import store
from podium.config import resolve_tracking_uri

STORE_KEY = "podium_tracking_uri"  # the store (team mode: a StoreRef naming the signed-in user)
SELECTED_RUNS_KEY = "podium_selected_runs"  # run ids chosen on Runs/Compare, used by Report/Champion
EXPERIMENTS_KEY = "podium_experiments"  # experiment names chosen last, shared across pages
UI_BASE_KEY = "podium_mlflow_ui"  # the MLflow UI address a user typed, for run links on every page
GOOD_FILTER_KEY = "compare_good_filter"  # Compare's last filter MLflow accepted; Report starts from it
LOGGED_REPORT_KEY = "report_logged_run"  # the run a report was logged to; Champion links it
REFRESH_NOTE_KEY = "podium_refresh_note"  # what a Refresh found, shown once on the next run
PAGE_STORE_KEY = "podium_page_store"  # (store, experiments) the shell read for this run of a page


def team_mode() -> bool:
    """True when the app serves a team: every user signs in with their MLflow credentials."""
    return os.environ.get("PODIUM_AUTH", "").strip().lower() == "mlflow"


def tracking_uri() -> str:
    """The store this browser session looks at: the signed-in user's (team mode), the
    sidebar's choice, else the store the app was started on. In team mode it is a
    :class:`~podium.store.StoreRef` whose string names the user, so every cache keyed by it is
    keyed by identity."""
    if STORE_KEY not in st.session_state:
        st.session_state[STORE_KEY] = resolve_tracking_uri()
    return st.session_state[STORE_KEY]


def signed_in_user() -> str | None:
    """The signed-in MLflow user (team mode), else None."""
    uri = st.session_state.get(STORE_KEY)
    return uri.credentials.username if isinstance(uri, store.StoreRef) and team_mode() else None


class PageStore(NamedTuple):
    uri: str
    experiments: list  # store.Experiment, newest activity first


def page_store() -> PageStore:
    """The store and its experiments, read once by the shell (``_shell.open_page``) for this run."""
    return st.session_state[PAGE_STORE_KEY]


def set_page_store(uri: str, experiments: list) -> None:
    st.session_state[PAGE_STORE_KEY] = PageStore(uri, list(experiments))


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
