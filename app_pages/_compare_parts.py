"""Page-layer pieces of the Compare page: URL state, run selection, the runs table, settings.

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
from app_pages._state import EXPERIMENTS_KEY, SELECTED_RUNS_KEY, set_selected_runs
from app_pages._widgets import known_experiments
from podium import analysis, store
from podium import brush as brushing
from podium.filters import CompareQuery, mlflow_ui_base

_READ = "compare_query_read"
_WRITTEN = "compare_url_written"  # the query this page last wrote: any other URL is read again
BRUSH_KEY = "compare_brush"  # {column: podium.brush.Range}: ranges dragged on the parallel coordinates
VALUE_KEY = "compare_value"  # which value of each metric's history the page shows (last/min/max/best)
MAX_PICK_OPTIONS = 1000  # runs the "Selected runs" box lists beside the selected ones


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


def select_runs(run_ids: list[str]) -> None:
    """Add runs to the selection and make the first the diff's baseline (a button's callback:
    runs before the page draws)."""
    merged = list(dict.fromkeys(st.session_state.get(SELECTED_RUNS_KEY, []) + list(run_ids)))
    set_selected_runs(merged)
    st.session_state["compare_selected"] = merged
    if run_ids:
        st.session_state["compare_baseline"] = run_ids[0]
    st.session_state["compare_table_epoch"] = st.session_state.get("compare_table_epoch", 0) + 1


def first_load(names: list[str], experiments) -> CompareQuery:
    """Put the URL's state into the widgets: on a session's first visit and whenever the URL is
    not the one this page last wrote (a link from Runs, a pasted permalink): the URL wins.
    Unknown experiments are named."""
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    query = CompareQuery.from_params(params, names)
    if st.session_state.get(_READ) and st.session_state.get(_WRITTEN) == params:
        return query
    st.session_state[_READ] = True
    # Seen now, not only when written: a run interrupted by the user's next click must not make
    # the next run read the old URL back over what they just typed.
    st.session_state[_WRITTEN] = params
    chosen = known_experiments(query.experiments, names)
    if not query.experiments:
        shared = [e for e in st.session_state.get(EXPERIMENTS_KEY, []) if e in names]
        with_runs = [e.name for e in experiments if e.run_count]  # newest activity first
        chosen = shared or with_runs[:1]
    st.session_state["compare_experiments"] = chosen
    st.session_state["compare_filter"] = query.filter_string
    for key, value in (("compare_axes", list(query.axes)), ("compare_color", query.color),
                       ("compare_x", query.x), ("compare_y", query.y)):
        if value:
            st.session_state[key] = value
    if query.runs:
        set_selected_runs(list(query.runs))
    st.session_state[BRUSH_KEY] = brushing.from_params(params.get("brush", []))
    value = (params.get("value") or ["last"])[-1]
    st.session_state[VALUE_KEY] = value if value in analysis.VALUE_CHOICES else "last"
    return query


def reopen(params: dict) -> None:
    """Open a saved view: its query becomes the URL and the widgets read it again on the rerun."""
    st.query_params.from_dict(params)
    st.session_state[_READ] = False
    for key in ("compare_axes", "compare_color", "compare_x", "compare_y", "compare_selected", state.GOOD_FILTER_KEY):
        st.session_state.pop(key, None)


def extras() -> dict:
    """Query parameters of this page beyond ``CompareQuery``: the brush and the metric value."""
    out = {}
    b = st.session_state.get(BRUSH_KEY) or {}
    if b:
        out["brush"] = brushing.to_params(b)
    if st.session_state.get(VALUE_KEY, "last") != "last":
        out["value"] = st.session_state[VALUE_KEY]
    return out


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


def write_query(query: CompareQuery) -> None:
    """Mirror the page's state into the URL so a copied address opens the same view."""
    wanted = query.to_params()
    if query.experiments:
        wanted.update(extras())
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    normal = {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in wanted.items()}
    if current != normal:
        st.query_params.from_dict(wanted)
    st.session_state[_WRITTEN] = {k: st.query_params.get_all(k) for k in st.query_params}
    if query.experiments:
        st.session_state[EXPERIMENTS_KEY] = list(query.experiments)


def _event_ids(key: str, ids_key: str) -> list[str] | None:
    """Run ids selected by the last table/chart interaction (None when there was none)."""
    state = st.session_state.get(key) if key else None
    if not state:
        return None
    selection = state.get("selection", {}) if hasattr(state, "get") else {}
    if ids_key:
        shown = st.session_state.get(ids_key, [])
        return [shown[i] for i in selection.get("rows", []) if i < len(shown)]
    return [p["run_id"] for p in selection.get("pick", []) if "run_id" in p]


def selection_box(runs, loaded, labels) -> list[str]:
    """The selected runs: merged from the table, the scatter and the box, shared across pages."""
    known = set(loaded["run_id"])
    current = [r for r in st.session_state.get(SELECTED_RUNS_KEY, []) if r in known]
    table_key = st.session_state.get("compare_table_key", "")
    table, chart = _event_ids(table_key, "compare_table_ids"), _event_ids("compare_scatter", "")
    merged = analysis.merge_selection(
        current, st.session_state.get("compare_selected"), table, st.session_state.get("compare_table_seen"),
        chart, st.session_state.get("compare_pick_seen"),
    )
    merged = [r for r in merged if r in known]
    if merged != current and (table is None or table == (st.session_state.get("compare_table_seen") or [])):
        # Chosen elsewhere (box, scatter): redraw the table so its ticked rows show the selection.
        st.session_state["compare_table_epoch"] = st.session_state.get("compare_table_epoch", 0) + 1
    st.session_state["compare_table_seen"], st.session_state["compare_pick_seen"] = table, chart
    set_selected_runs(merged)
    st.session_state["compare_selected"] = merged
    # Every option is formatted, sent and kept by the browser on each rerun: the selected runs and
    # the first runs of the table, not all 50,000; the table and the scatter select any run.
    listed = runs["run_id"].iloc[:MAX_PICK_OPTIONS].tolist()
    options = list(dict.fromkeys(merged + listed))
    names = label_names(labels)
    more = f" Lists the first {MAX_PICK_OPTIONS:,} of these {len(runs):,} runs; select others in the table or the scatter." \
        if len(runs) > MAX_PICK_OPTIONS else ""
    picked = st.multiselect("Selected runs", options, key="compare_selected", format_func=lambda r: names.get(r) or r[:8],
                            placeholder="Select runs in the table or the scatter, or pick them here",
                            help="Shared with the Report and Champion pages." + more)
    return list(picked)


def ui_settings(container, uri: str) -> str | None:
    """A small settings popover: the MLflow UI address used for run links."""
    with container.popover("", icon=":material/settings:", help="Settings", width="stretch"):
        st.text_input("MLflow UI address", key=state.UI_BASE_KEY, persist_state="session", placeholder="http://mlflow.example.com:5000",
                      help="Run names in the table link to this MLflow UI. For an http(s) store, its own address is used.")
    return mlflow_ui_base(uri, state.ui_base())
