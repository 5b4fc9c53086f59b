"""The naive baseline of ``bench/browser_interactions.py``: what 20 lines of Streamlit give.

``streamlit run bench/naive_app.py -- <tracking uri> <experiment name>``: ``mlflow.search_runs``
(cached, as anyone would), a filter box (a pandas ``DataFrame.query`` on the cached frame, the
fastest filter such an app can have: column names in backticks), the runs in ``st.dataframe``
with row selection, an x-axis select and two Altair scatters of the filtered runs' metrics.
"""

import sys

import altair as alt
import mlflow
import streamlit as st

uri, experiment = sys.argv[1], sys.argv[2]
alt.data_transformers.disable_max_rows()


@st.cache_data
def runs(uri: str, experiment: str):
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


df = runs(uri, experiment)
typed = st.text_input("Filter", key="naive_filter", placeholder="`metrics.f1` > 0.5")
shown = df.query(typed) if typed.strip() else df
metrics = sorted(c for c in df.columns if c.startswith("metrics."))
x = st.selectbox("x axis", metrics, index=metrics.index("metrics.latency_ms"), key="naive_x")
picked = st.dataframe(shown, key="naive_table", on_select="rerun", selection_mode="multi-row", height=320)
st.caption(f"{len(shown):,} of {len(df):,} runs, {len(picked.selection.rows)} selected")
data = shown[["run_id", *metrics]].rename(columns=lambda c: c.removeprefix("metrics."))
left, right = st.columns(2)
for col, y in ((left, "f1"), (right, "loss")):
    col.altair_chart(alt.Chart(data).mark_circle(size=12).encode(x=x.removeprefix("metrics."), y=y, tooltip=["run_id"]),
                     width="stretch", key=f"naive_scatter_{y}")
