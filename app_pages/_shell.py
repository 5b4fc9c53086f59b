"""The app shell: what every page shares before its own content. ``app.py`` calls :func:`open_page`
after navigation and sign-in: it resolves the session's store, draws the sidebar (store,
signed-in user, Change store) and the page title, and loads the experiment list once; a store
that cannot be read shows a clear message with a retry instead of the page. Pages read the
result with :func:`app_pages._state.page_store`.
"""

from __future__ import annotations

import os

import streamlit as st

from app_pages import _state as state
from app_pages._cache import cached_experiments, clear_caches
from app_pages._state import STORE_KEY, signed_in_user, team_mode, tracking_uri
from app_pages._widgets import show_store_error
from podium import store
from podium.config import redact_uri
from podium.errors import PodiumError
from podium.text import inert


def open_page(title: str, key: str) -> None:
    """The shell around a page: store, sidebar, title, the experiment list (``key`` names the
    page's widgets, e.g. ``compare`` gives the retry button ``compare_store_retry``)."""
    uri = tracking_uri()
    store_sidebar()
    st.title(title)
    try:
        experiments = cached_experiments(uri)
    except PodiumError as exc:
        show_store_error(exc, key=f"{key}_store")
        st.stop()
    state.set_page_store(uri, experiments)


def can_change_store() -> bool:
    """"Change store" only for a single user on their own machine: not in team mode, not with
    --lock-store, and only while the app listens on loopback (a visitor could otherwise make
    the server open any file, database or address)."""
    host = os.environ.get("PODIUM_HOST", "127.0.0.1").strip() or "127.0.0.1"
    locked = bool(os.environ.get("PODIUM_LOCK_STORE", "").strip())
    return not team_mode() and not locked and host in ("127.0.0.1", "localhost", "::1")


def store_sidebar() -> None:
    """The sidebar's store panel: which store this is (credentials redacted), who is signed in
    (team mode) with Sign out, and, for a single user on loopback, a way to switch stores."""
    uri = tracking_uri()
    with st.sidebar:
        st.caption("MLflow store")
        st.code(store.target(uri).shown if team_mode() else redact_uri(str(uri)), language=None, wrap_lines=True)
        user = signed_in_user()
        if user is not None:
            st.caption(f"Signed in as **{inert(user)}**")
            if st.button("Sign out", key="sign_out", icon=":material/logout:", width="stretch"):
                clear_caches(uri)
                for key in list(st.session_state.keys()):
                    del st.session_state[key]
                st.rerun()
        if not can_change_store():
            return
        with st.popover("Change store", icon=":material/storage:", width="stretch"):
            new = st.text_input(
                "Tracking URI",
                key="store_uri_input",
                placeholder="sqlite:///mlflow.db, postgresql://…, http://host:5000, ./mlruns",
                type="password",
                help="Stays in this browser session only. A password in it is never shown.",
            )
            if st.button("Open", key="store_uri_open", disabled=not new.strip()):
                st.session_state[STORE_KEY] = typed_store(new.strip())
                clear_caches(st.session_state[STORE_KEY])
                st.rerun()


def typed_store(uri: str) -> str:
    """A store a visitor typed: it gets the credentials it carries itself, never the server's
    own ``MLFLOW_TRACKING_*`` ones."""
    try:
        t = store.target(uri)
    except PodiumError:
        return uri  # the page shows the error with the redacted URI
    return store.StoreRef(t.uri, t.credentials or store.Credentials())
