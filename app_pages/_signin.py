"""Team mode's sign-in: before any page, a form checks the user's MLflow credentials.

The password lives only in this browser session's memory (inside the session's
:class:`~podium.store.StoreRef`); the form's own field is cleared once it was checked.
"""

from __future__ import annotations

import streamlit as st

from app_pages._state import STORE_KEY, team_mode
from podium import store
from podium.config import resolve_tracking_uri
from podium.errors import PermissionDeniedError, PodiumError
from podium.text import inert

USER_KEY = "signin_username"
PASSWORD_KEY = "signin_password"
ERROR_KEY = "signin_error"


def signed_in() -> bool:
    return isinstance(st.session_state.get(STORE_KEY), store.StoreRef)


def needs_sign_in() -> bool:
    """True while a team-mode session has not signed in."""
    return team_mode() and not signed_in()


def _submit(server: str) -> None:
    """The form's callback (runs before the page): check the credentials, then clear the field."""
    username = (st.session_state.get(USER_KEY) or "").strip()
    password = st.session_state.get(PASSWORD_KEY) or ""
    st.session_state[PASSWORD_KEY] = ""
    if not username or not password:
        st.session_state[ERROR_KEY] = "Enter your MLflow username and password."
        return
    try:
        st.session_state[STORE_KEY] = store.check_credentials(server, username, password)
        st.session_state.pop(ERROR_KEY, None)
    except PermissionDeniedError:
        st.session_state[ERROR_KEY] = "Wrong username or password."
    except PodiumError as exc:
        st.session_state[ERROR_KEY] = str(exc)


def sign_in_gate() -> None:
    """In team mode, stop the run with a sign-in form until this session has signed in."""
    if not needs_sign_in():
        return
    server = resolve_tracking_uri()
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        st.title("Podium")
        st.caption("Sign in with your MLflow user on " + inert(store.target(server).shown) + ".")
        with st.form("signin_form", border=True):
            st.text_input("Username", key=USER_KEY, autocomplete="username")
            st.text_input("Password", key=PASSWORD_KEY, type="password", autocomplete="current-password")
            st.form_submit_button("Sign in", type="primary", icon=":material/login:", on_click=_submit, args=(server,))
        if st.session_state.get(ERROR_KEY):
            st.error(inert(st.session_state[ERROR_KEY]), icon=":material/lock:")
    st.stop()
