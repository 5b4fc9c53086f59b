"""Compare's run selection: one list of run ids, shared with the Report and Champion pages
(``_state.selected_runs``), fed by three widgets — the runs table's ticked rows, points picked
on the scatter and the "Selected runs" box — and by buttons (``select_runs``).

Every session key of that protocol is named here; the table and the scatter keep their widget
state under these keys and this module merges their events (``analysis.merge_selection``).
"""

from __future__ import annotations

import streamlit as st

from app_pages._compare_parts import label_names
from app_pages._state import SELECTED_RUNS_KEY, set_selected_runs
from podium import analysis

BOX_KEY = "compare_selected"  # the "Selected runs" box (its value is the selection)
BASELINE_KEY = "compare_baseline"  # the run the diff compares the others with
SCATTER_KEY = "compare_scatter"  # the scatter's point-pick selection state
TABLE_KEY_KEY = "compare_table_key"  # the runs table's current widget key (changes to redraw it)
TABLE_IDS_KEY = "compare_table_ids"  # run ids in the table's row order
TABLE_EPOCH_KEY = "compare_table_epoch"  # bumped to redraw the table with the selection ticked
TABLE_SEEN_KEY = "compare_table_seen"  # the table's ticked runs as last merged
PICK_SEEN_KEY = "compare_pick_seen"  # the scatter's picked runs as last merged
MAX_PICK_OPTIONS = 1000  # runs the "Selected runs" box lists beside the selected ones


def redraw_table() -> None:
    """Draw the runs table anew on the next run, so its ticked rows show the selection."""
    st.session_state[TABLE_EPOCH_KEY] = st.session_state.get(TABLE_EPOCH_KEY, 0) + 1


def select_runs(run_ids: list[str]) -> None:
    """Add runs to the selection and make the first the diff's baseline (a button's callback:
    runs before the page draws)."""
    merged = list(dict.fromkeys(st.session_state.get(SELECTED_RUNS_KEY, []) + list(run_ids)))
    set_selected_runs(merged)
    st.session_state[BOX_KEY] = merged
    if run_ids:
        st.session_state[BASELINE_KEY] = run_ids[0]
    redraw_table()


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
    table_key = st.session_state.get(TABLE_KEY_KEY, "")
    table, chart = _event_ids(table_key, TABLE_IDS_KEY), _event_ids(SCATTER_KEY, "")
    merged = analysis.merge_selection(
        current, st.session_state.get(BOX_KEY), table, st.session_state.get(TABLE_SEEN_KEY),
        chart, st.session_state.get(PICK_SEEN_KEY),
    )
    merged = [r for r in merged if r in known]
    if merged != current and (table is None or table == (st.session_state.get(TABLE_SEEN_KEY) or [])):
        # Chosen elsewhere (box, scatter): redraw the table so its ticked rows show the selection.
        redraw_table()
    st.session_state[TABLE_SEEN_KEY], st.session_state[PICK_SEEN_KEY] = table, chart
    set_selected_runs(merged)
    st.session_state[BOX_KEY] = merged
    # Every option is formatted, sent and kept by the browser on each rerun: the selected runs and
    # the first runs of the table, not all 50,000; the table and the scatter select any run.
    listed = runs["run_id"].iloc[:MAX_PICK_OPTIONS].tolist()
    options = list(dict.fromkeys(merged + listed))
    names = label_names(labels)
    more = f" Lists the first {MAX_PICK_OPTIONS:,} of these {len(runs):,} runs; select others in the table or the scatter." \
        if len(runs) > MAX_PICK_OPTIONS else ""
    picked = st.multiselect("Selected runs", options, key=BOX_KEY, format_func=lambda r: names.get(r) or r[:8],
                            placeholder="Select runs in the table or the scatter, or pick them here",
                            help="Shared with the Report and Champion pages." + more)
    return list(picked)
