"""The page layer's shared wiring: which store, cached core calls, errors as messages.

Pages import this module; the core (``src/podium``) never does. Caching lives here, around core
calls, keyed by (store, experiments, filter), never inside the core.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator

import pandas as pd
import streamlit as st

from podium import store
from podium.config import redact_uri, resolve_tracking_uri
from podium.filters import column_label
from podium.errors import PodiumError
from podium.text import inert

from app_pages._state import (  # noqa: F401  (re-exported: pages import them from here)
    EXPERIMENTS_KEY,
    REFRESH_NOTE_KEY,
    SELECTED_RUNS_KEY,
    STORE_KEY,
    selected_runs,
    set_selected_runs,
)


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


def team_mode() -> bool:
    """True when the app serves a team: every user signs in with their MLflow credentials."""
    return os.environ.get("PODIUM_AUTH", "").strip().lower() == "mlflow"


def can_change_store() -> bool:
    """"Change store" only for a single user on their own machine: not in team mode, not with
    --lock-store, and only while the app listens on loopback (a visitor could otherwise make
    the server open any file, database or address)."""
    host = os.environ.get("PODIUM_HOST", "127.0.0.1").strip() or "127.0.0.1"
    locked = bool(os.environ.get("PODIUM_LOCK_STORE", "").strip())
    return not team_mode() and not locked and host in ("127.0.0.1", "localhost", "::1")


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


@st.cache_data(ttl=300, show_spinner=False)
def cached_experiments(uri: str) -> list[store.Experiment]:
    return store.list_experiments(uri)


# Loaded runs frames, shared by every session like st.cache_data, but kept so that Refresh can
# bring one up to date incrementally (store.refresh_runs) instead of reading everything again.
RUNS_TTL_S = 300  # after this, the next use reads everything again (edits to finished runs show)
RUNS_MAX_FRAMES = 16


@dataclass
class _Frame:
    runs: pd.DataFrame
    loaded_at: float  # time.monotonic() of the last full load
    stale: bool = False  # a Refresh happened elsewhere: bring it up to date on next use


class _RunsCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: OrderedDict[tuple, _Frame] = OrderedDict()

    def get(self, key: tuple) -> _Frame | None:
        with self.lock:
            entry = self.frames.get(key)
            if entry is not None and time.monotonic() - entry.loaded_at > RUNS_TTL_S:
                del self.frames[key]
                return None
            if entry is not None:
                self.frames.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: _Frame) -> None:
        with self.lock:
            self.frames[key] = entry
            self.frames.move_to_end(key)
            while len(self.frames) > RUNS_MAX_FRAMES:
                self.frames.popitem(last=False)

    def mark_stale(self, uri: str) -> None:
        with self.lock:
            for key, entry in self.frames.items():
                if key[0] == uri:
                    entry.stale = True

    def forget(self, key: tuple) -> None:
        with self.lock:
            self.frames.pop(key, None)

    def forget_store(self, uri: str) -> None:
        with self.lock:
            for key in [k for k in self.frames if k[0] == uri]:
                del self.frames[key]

    def clear(self) -> None:
        with self.lock:
            self.frames.clear()


@st.cache_resource(show_spinner=False)
def _runs_cache() -> _RunsCache:
    return _RunsCache()


def cached_runs(
    uri: str,
    experiments: tuple[str, ...],
    filter_string: str = "",
    include_deleted: bool = False,
    progress: store.Progress | None = None,
) -> pd.DataFrame:
    """The runs of ``experiments``, read once and then kept (see :func:`refresh_runs`).

    Returns a shallow copy (pandas copy-on-write): a page changing it never changes the kept frame.
    """
    key = (uri, tuple(experiments), filter_string, include_deleted)
    cache = _runs_cache()
    entry = cache.get(key)
    if entry is None:
        entry = _Frame(store.load_runs(uri, list(experiments), filter_string, include_deleted, progress=progress),
                       time.monotonic())
        cache.put(key, entry)
    elif entry.stale:
        result = store.refresh_runs(uri, list(experiments), entry.runs, filter_string, include_deleted, progress=progress)
        entry = _Frame(result.runs, time.monotonic() if result.full_reload else entry.loaded_at)
        cache.put(key, entry)
    return entry.runs.copy(deep=False)


def refresh_runs(uri: str, experiments: tuple[str, ...], filter_string: str = "", include_deleted: bool = False) -> store.RunsRefresh:
    """Refresh: read only new runs and runs that were running into the kept frame (a full read
    when there is none), and mark the store's other kept frames for the same on their next use."""
    key = (uri, tuple(experiments), filter_string, include_deleted)
    cache = _runs_cache()
    cache.mark_stale(uri)
    entry = cache.get(key)
    try:
        result = store.refresh_runs(uri, list(experiments), entry.runs if entry else None, filter_string, include_deleted)
    except PodiumError:
        cache.forget(key)  # the page's own load then shows the error with a retry
        raise
    loaded_at = entry.loaded_at if entry is not None and not result.full_reload else time.monotonic()
    cache.put(key, _Frame(result.runs, loaded_at))
    return result


def clear_caches(uri: str | None = None) -> None:
    """Forget what was loaded from this session's store (never another user's or store's)."""
    uri = tracking_uri() if uri is None else uri
    cached_experiments.clear(uri)
    _runs_cache().forget_store(uri)


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


def store_caption(uri: str) -> str:
    return f"Store: `{redact_uri(uri)}`"


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
