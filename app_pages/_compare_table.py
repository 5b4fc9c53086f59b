"""Compare's runs table: sortable, a column chooser, metric summaries; selecting rows selects runs."""

from __future__ import annotations

import hashlib

import streamlit as st

from app_pages._widgets import run_columns_config, shown_numbers
from app_pages._compare_parts import keep_valid
from podium import analysis
from podium.columns import column_label
from podium.links import LINK_DISPLAY_REGEX, run_links


def runs_table(runs, ui_base: str | None, selected: list[str], summaries=None, labels=None) -> None:
    """The sortable runs table with a column chooser; selecting rows selects runs.

    The table's key follows the rows it shows and selections made elsewhere: new rows (another
    filter) or runs picked in the scatter make a fresh table whose ticked rows are the current
    selection, rather than an emptied or stale one. ``labels`` (run id -> label, the page's labels
    of every loaded run) name the runs; by default ``analysis.run_labels(runs)``.
    """
    from podium.runs_table import key_columns

    all_cols = [c for c in runs.columns if c not in ("run_id", "run_name", "experiment_id", "artifact_uri")]
    keep_valid("compare_columns", all_cols, lambda: [c for c in key_columns(runs, max_params=20, max_metrics=20) if c != "run_name"])
    with st.expander("Columns", icon=":material/view_column:"):
        shown = st.multiselect("Columns shown", all_cols, key="compare_columns",
                               format_func=lambda c: column_label(c, runs.columns))
    table = runs[["run_id", "run_name"] + shown].copy()
    # Unnamed runs (every MLflow 1.x run) are labelled by a short run id, never left blank.
    table["run_name"] = labels.reindex(runs["run_id"]).values if labels is not None else analysis.run_labels(runs).values
    config = {"run_id": None, **run_columns_config(shown, runs.columns)}
    if summaries is not None and len(summaries.columns):
        # Right after the run's name, where a reader looks first (the table scrolls sideways).
        table = table[["run_id", "run_name"]].join(summaries, on="run_id").join(table.drop(columns=["run_name"]).set_index("run_id"), on="run_id")
        config.update({c: st.column_config.NumberColumn(c.removeprefix("metrics."), format="%d" if c.endswith(("(n)", "(best step)")) else "%.4g",
                                                        help="From the metric's whole history") for c in summaries.columns})
    if ui_base:
        table["run_name"] = run_links(runs, ui_base).values
        config["run_name"] = st.column_config.LinkColumn("Run", display_text=LINK_DISPLAY_REGEX, pinned=True,
                                                         help="Opens the run in the MLflow UI")
    else:
        config["run_name"] = st.column_config.TextColumn("Run", pinned=True)
    ids = list(table["run_id"])
    epoch = st.session_state.get("compare_table_epoch", 0)
    key = f"compare_table_{hashlib.sha1(chr(31).join(ids).encode()).hexdigest()[:12]}_{epoch}"
    chosen = set(selected)
    if key != st.session_state.get("compare_table_key") or "compare_table_default" not in st.session_state:
        # A new table starts at its default rows: that is what it will report as "selected" from
        # now on, so it is what was last seen, not a change for merge_selection to act on.
        st.session_state["compare_table_seen"] = [r for r in ids if r in chosen]
        st.session_state["compare_table_default"] = [i for i, r in enumerate(ids) if r in chosen]
    # The same table keeps its first default (the browser keeps its own ticks): an unchanged
    # element is not sent again, and the grid is not rebuilt on every tick.
    default = {"selection": {"rows": st.session_state["compare_table_default"], "columns": []}}
    st.session_state["compare_table_ids"], st.session_state["compare_table_key"] = ids, key
    st.dataframe(shown_numbers(table), key=key, hide_index=True, column_config=config, on_select="rerun",
                 selection_mode="multi-row", selection_default=default, height=min(38 + 35 * max(len(table), 1), 320),
                 placeholder="—")
