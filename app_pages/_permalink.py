"""Compare's state in the URL: read it into the widgets whenever it is not the URL this page
wrote (a first visit, a link from Runs, a pasted permalink, a saved view: the URL wins), and
write the widgets' state back so a copied address opens the same view.

The parameters are :class:`podium.permalink.CompareQuery`'s (``exp``, ``filter``, ``axes``,
``color``, ``x``, ``y``, ``runs``) plus this page's ``brush`` and ``value``.
"""

from __future__ import annotations

import streamlit as st

from app_pages import _state as state
from app_pages._selection import BOX_KEY
from app_pages._state import EXPERIMENTS_KEY, set_selected_runs
from app_pages._widgets import known_experiments
from podium import analysis
from podium import brush as brushing
from podium.permalink import CompareQuery

_READ = "compare_query_read"
_WRITTEN = "compare_url_written"  # the query this page last wrote: any other URL is read again
BRUSH_KEY = "compare_brush"  # {column: podium.brush.Range}: ranges dragged on the parallel coordinates
VALUE_KEY = "compare_value"  # which value of each metric's history the page shows (last/min/max/best)


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
    for key in ("compare_axes", "compare_color", "compare_x", "compare_y", BOX_KEY, state.GOOD_FILTER_KEY):
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
