"""Runs: the home page. Pick experiments, see their runs and the key params and metrics."""

import streamlit as st

from app_pages import _state as state
from app_pages._widgets import known_experiments, refresh_controls, run_columns_config, runs_or_stop, shown_numbers
from podium.analysis import run_labels
from podium.permalink import CompareQuery
from podium.runs_table import key_columns, summary

uri, experiments = state.page_store()  # read by the shell (app.py), which also drew the title
if not experiments or all(e.run_count == 0 for e in experiments):
    st.info(
        "This store has no runs yet. Seed it with real scikit-learn training runs:\n\n"
        "`python -m podium demo --tracking-uri <your store>`  (or run `make run` with no "
        "`MLFLOW_TRACKING_URI` set, which seeds `sqlite:///mlflow.db`).",
        icon=":material/inbox:",
    )
    st.stop()

names = [e.name for e in experiments]
by_name = {e.name: e for e in experiments}
if "runs_experiments" not in st.session_state:
    # The URL's `exp` (as on /compare) first, then the experiments chosen on another page, then
    # the experiment with the newest activity.
    asked = CompareQuery.from_params({"exp": st.query_params.get_all("exp")}, names).experiments
    shared = state.shared_experiments(by_name)
    st.session_state["runs_experiments"] = (known_experiments(asked, names) or shared
                                            or [next(e.name for e in experiments if e.run_count)])
top, refresh = st.columns([6, 1.5], vertical_alignment="bottom")
chosen = top.multiselect(
    "Experiments",
    names,
    key="runs_experiments",
    format_func=lambda n: f"{n}  ({by_name[n].run_count} runs)",
    help="Experiments are listed by last activity, newest first.",
)
refresh_controls(refresh, uri, chosen, key="runs")

if st.query_params.get_all("exp") != chosen:  # a copied address opens the same experiments
    if chosen:
        st.query_params["exp"] = chosen
    else:
        del st.query_params["exp"]
if not chosen:
    st.info("Pick one or more experiments to see their runs.", icon=":material/arrow_upward:")
    st.stop()
state.set_shared_experiments(chosen)

runs = runs_or_stop(uri, chosen, experiments, key="runs")

if runs.empty:
    st.info("No runs in the chosen experiments yet.", icon=":material/inbox:")
    st.stop()

counts = summary(runs)
by_status = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if k != "total")
info, link = st.columns([4, 1], vertical_alignment="center")
info.caption(f"{counts['total']} runs ({by_status})")
link.page_link("app_pages/compare.py", label="Compare these runs", icon=":material/compare_arrows:",
               query_params={"exp": chosen})

columns = key_columns(runs)
table = shown_numbers(runs[columns])
if "run_name" in table:  # unnamed runs (all of MLflow 1.x's) show their short id, as on Compare
    table["run_name"] = run_labels(runs).values
st.dataframe(
    table,
    key="runs_table",
    hide_index=True,
    height=min(38 + 35 * len(runs), 640),
    placeholder="—",
    column_config={**run_columns_config(columns), "run_name": st.column_config.TextColumn("Run", pinned=True)},
)
