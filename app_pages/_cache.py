"""The page layer's caches, around core calls, keyed by (store, experiments, filter); never inside
the core. The store key is the session's store (team mode: a ``StoreRef`` naming the signed-in
user), so nothing cached for one user is served to another.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app_pages._state import tracking_uri
from podium import store
from podium.errors import PodiumError


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
