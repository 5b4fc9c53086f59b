"""Page-layer pieces of the Compare page: cached reads, run labels and input digests computed once
per frame, widget-state upkeep, settings. The URL state is in ``_permalink``, the run selection
in ``_selection``.

Widgets only; every decision is a core call (``podium.filters``, ``podium.analysis``).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app_pages import _state as state
from podium import analysis, store
from podium.links import mlflow_ui_base


@st.cache_data(ttl=300, show_spinner=False, max_entries=32)
def cached_history(uri: str, run_ids: tuple[str, ...], metric: str):
    return store.load_metric_history(uri, list(run_ids), metric)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_champions(uri: str) -> list[store.AliasedVersion]:
    """Versions behind ``@champion`` in every registered model, for the charts to mark. The mark is
    an extra: a store without a registry, or one that refuses, shows the page without it."""
    try:
        return store.champion_versions(uri)
    except Exception:  # noqa: BLE001 - any registry failure only drops the mark
        return []


_PER_OBJECT: dict[tuple[str, int], tuple[weakref.ref, object]] = {}
_PER_OBJECT_LOCK = threading.Lock()


def per_object(kind: str, obj, compute: Callable):
    """``compute(obj)``, once per ``kind`` and live object (a fragment's arguments are the same
    objects on each of its reruns; a cached Series is the same object on every rerun)."""
    key = (kind, id(obj))
    hit = _PER_OBJECT.get(key)
    if hit is not None and hit[0]() is obj:
        return hit[1]
    value = compute(obj)
    with _PER_OBJECT_LOCK:
        for k in [k for k, (ref, _) in _PER_OBJECT.items() if ref() is None]:
            del _PER_OBJECT[k]
        _PER_OBJECT[key] = (weakref.ref(obj), value)
    return value


@st.cache_resource(max_entries=8, ttl=600, show_spinner=False)
def _labels(token: str, _loaded: pd.DataFrame) -> pd.Series:
    return analysis.run_labels(_loaded)


def run_labels(loaded: pd.DataFrame) -> pd.Series:
    """``analysis.run_labels`` of a runs frame, computed once per frame's run ids and names (the
    table, the charts, the selection box, history and diff all name runs by it)."""
    return _labels(frame_token(loaded, ["run_id", "run_name"]), loaded)


def label_names(labels: pd.Series) -> dict[str, str]:
    """``labels`` as a dict (a format function's lookups in a Series cost ~10 µs each)."""
    return per_object("names", labels, lambda s: s.to_dict())


def frame_token(frame: pd.DataFrame | pd.Series, columns=None) -> str:
    """A digest of ``frame``'s values (``columns`` of them, in row order; a Series with its index):
    the cache key of what is computed from them, a few ms for 10,000 runs."""
    if isinstance(frame, pd.Series):
        hashed = pd.util.hash_pandas_object(frame, index=True)
        digest = hashlib.sha1(b"series")
    else:
        cols = [c for c in dict.fromkeys(frame.columns if columns is None else columns) if c and c in frame.columns]
        hashed = pd.util.hash_pandas_object(frame[cols], index=False)
        digest = hashlib.sha1(repr(cols).encode())
    digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()


def label_token(labels: pd.Series) -> str:
    """:func:`frame_token` of a kept frame's labels, once per labels."""
    return per_object("token", labels, frame_token)


def keep_valid(key: str, options: list, default) -> None:
    """Keep a widget's state within ``options`` (experiments change the columns); else ``default``
    (a function giving it, called only when it is needed: some defaults cost a scan of every run)."""
    value_of = default if callable(default) else (lambda: default)
    if key not in st.session_state:
        st.session_state[key] = value_of()
        return
    value = st.session_state[key]
    if isinstance(value, list):
        kept = [v for v in value if v in options]
        if kept or not value:
            st.session_state[key] = kept
        else:
            fallback = value_of()
            st.session_state[key] = fallback if isinstance(fallback, list) else []
    elif value is not None and value not in options:
        st.session_state[key] = value_of()


def ui_settings(container, uri: str) -> str | None:
    """A small settings popover: the MLflow UI address used for run links."""
    with container.popover("", icon=":material/settings:", help="Settings", width="stretch"):
        st.text_input("MLflow UI address", key=state.UI_BASE_KEY, persist_state="session", placeholder="http://mlflow.example.com:5000",
                      help="Run names in the table link to this MLflow UI. For an http(s) store, its own address is used.")
    return mlflow_ui_base(uri, state.ui_base())
