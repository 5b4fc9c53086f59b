"""Champion: rank runs (or configurations repeated over seeds) by an explicit policy, weigh the best
against the current champion with evidence, promote, follow the lineage, roll back.

Read-only until the user ticks a confirmation and presses Promote or Roll back.
"""

import streamlit as st

from app_pages import _champion_parts as parts
from app_pages import _champion_writes as writes
from app_pages import _state as state
from app_pages._widgets import runs_or_stop, show_store_error
from podium.errors import PodiumError
from podium.text import inert

uri, experiments = state.page_store()  # read by the shell (app.py), which also drew the title
st.caption("Pick the model to ship by an explicit policy and evidence, promote it in the MLflow registry, keep the trail.")
try:
    names = [e.name for e in experiments]
    models = parts.cached_models(uri)
except PodiumError as exc:
    show_store_error(exc, key="champion_store")
    st.stop()

if "champion_experiments" not in st.session_state:
    st.session_state["champion_experiments"] = (
        state.shared_experiments(names)
        or [n for n in parts.cached_model_experiments(uri, models[0] if models else "") if n in names] or names[:1])
left, right = st.columns(2)
chosen = left.multiselect("Experiments", names, key="champion_experiments", placeholder="Choose experiments")
model_name = right.selectbox("Registered model", models, key="champion_model", accept_new_options=True,
                             placeholder="Choose or type a model name", index=0 if models else None)
if not chosen or not model_name:
    st.info("Choose experiments and a registered model.", icon=":material/arrow_upward:")
    st.stop()

runs = runs_or_stop(uri, chosen, experiments, key="champion")
if not any(c.startswith("metrics.") for c in runs.columns):
    st.info("These experiments have no metrics to rank runs by.", icon=":material/inbox:")
    st.stop()

try:
    policy, alias = parts.policy_form(runs)
    token = (len(runs), tuple(runs["run_id"].head(50)), str(runs["start_time"].max()) if len(runs) else "")
    gathered = parts.cached_gather(uri, tuple(chosen), parts.gather_key(policy), model_name, alias, runs, token)
    ranking = gathered.rank(policy)
except PodiumError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.caption(f"Policy: {inert(policy.describe())}")
writes.show_result()

st.subheader("Current champion vs. best candidate")
parts.decision(ranking, model_name, alias)
if ranking.comparison is not None:
    with st.expander("Every metric, best run vs. the champion's run", icon=":material/table_chart:"):
        st.dataframe(ranking.comparison_frame(), key="champion_comparison", hide_index=True, width="stretch",
                     column_config={"delta": st.column_config.NumberColumn("delta (challenger − champion)", format="%+.4g"),
                                    "challenger": st.column_config.NumberColumn(format="%.4g"),
                                    "champion": st.column_config.NumberColumn(format="%.4g")})

kind = "configurations" if policy.repeats_by else "eligible"
st.subheader(f"Ranking: {len(ranking.candidates)} {kind}, {len(ranking.excluded)} runs excluded")
if ranking.candidates:
    parts.ranking_table(ranking)
else:
    st.warning("No eligible run under this policy: see why each run is out below.", icon=":material/block:")
with st.expander(f"Excluded runs and why ({len(ranking.excluded)})", icon=":material/filter_alt_off:",
                 expanded=not ranking.candidates):
    st.dataframe(ranking.excluded_frame(), key="champion_excluded", hide_index=True, width="stretch")

st.subheader("Promote")
if ranking.winner is None:
    st.caption("Nothing to promote.")
else:
    writes.promote(uri, ranking, model_name, alias)

st.subheader("Lineage and rollback")
writes.lineage(uri, model_name, alias, policy.metric)
