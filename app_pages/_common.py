"""The page layer's shared wiring: which store, cached core calls, errors as messages.

Pages import this module; the core (``src/podium``) never does. Caching lives here, around core
calls, keyed by (store, experiments, filter), never inside the core.
"""

from __future__ import annotations

import streamlit as st

from podium import store
from podium.config import redact_uri, resolve_tracking_uri
from podium.errors import PodiumError

# Session-state keys shared between pages.
STORE_KEY = "podium_tracking_uri"
SELECTED_RUNS_KEY = "podium_selected_runs"  # list of run ids chosen on Runs/Compare, used by Report/Champion
EXPERIMENTS_KEY = "podium_experiments"  # experiment names chosen last, shared across pages


def tracking_uri() -> str:
    """The store this browser session looks at: the sidebar's choice, else the resolved default."""
    if STORE_KEY not in st.session_state:
        st.session_state[STORE_KEY] = resolve_tracking_uri()
    return st.session_state[STORE_KEY]


@st.cache_data(ttl=300, show_spinner=False)
def cached_experiments(uri: str) -> list[store.Experiment]:
    return store.list_experiments(uri)


@st.cache_data(ttl=300, show_spinner=False, max_entries=16)
def cached_runs(uri: str, experiments: tuple[str, ...], filter_string: str = "", include_deleted: bool = False):
    return store.load_runs(uri, list(experiments), filter_string, include_deleted)


def clear_caches() -> None:
    cached_experiments.clear()
    cached_runs.clear()


def show_store_error(exc: PodiumError, key: str) -> None:
    """A clear message with the redacted URI and a retry button; never a traceback."""
    st.error(str(exc), icon=":material/cloud_off:")
    if st.button("Retry", key=f"{key}_retry", icon=":material/refresh:"):
        clear_caches()
        st.rerun()


def store_caption(uri: str) -> str:
    return f"Store: `{redact_uri(uri)}`"


def selected_runs() -> list[str]:
    return list(st.session_state.get(SELECTED_RUNS_KEY, []))


def set_selected_runs(run_ids: list[str]) -> None:
    st.session_state[SELECTED_RUNS_KEY] = list(run_ids)


def store_sidebar() -> None:
    """The sidebar's store panel: which store this is (password redacted) and a way to switch."""
    uri = tracking_uri()
    with st.sidebar:
        st.caption("MLflow store")
        st.code(redact_uri(uri), language=None, wrap_lines=True)
        with st.popover("Change store", icon=":material/storage:", width="stretch"):
            new = st.text_input(
                "Tracking URI",
                key="store_uri_input",
                placeholder="sqlite:///mlflow.db, postgresql://…, http://host:5000, ./mlruns",
                type="password",
                help="Stays in this browser session only. A password in it is never shown.",
            )
            if st.button("Open", key="store_uri_open", disabled=not new.strip()):
                st.session_state[STORE_KEY] = new.strip()
                clear_caches()
                st.rerun()
