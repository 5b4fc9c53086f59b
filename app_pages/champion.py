"""Champion: rank runs by an explicit policy, compare with the current champion, promote.

Read-only until the user ticks the confirmation under the dry run and presses Promote.
"""

import re

import streamlit as st

from app_pages._common import EXPERIMENTS_KEY, cached_experiments, cached_runs, show_store_error, store_sidebar, tracking_uri
from podium import champion as ch
from podium import store
from podium.errors import PodiumError

RESULT_KEY = "champion_result"


def md(text) -> str:
    """Run data shown inside Markdown: every Markdown character escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_ranking(uri, experiments, policy, model_name, alias):
    return ch.evaluate(uri, list(experiments), policy, model_name, alias)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_models(uri):
    return store.registered_model_names(uri)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_model_experiments(uri, model_name):
    """Experiments holding the runs of a model's versions: a newcomer's sensible default."""
    run_ids = [v.run_id for v in store.model_versions(uri, model_name) if v.run_id] if model_name else []
    runs = store.get_runs(uri, run_ids[:20])
    return sorted(set(runs["experiment_name"].dropna())) if len(runs) else []


def clear():
    cached_ranking.clear()
    cached_models.clear()
    cached_model_experiments.clear()


uri = tracking_uri()
store_sidebar()
st.title("Champion")
st.caption("Pick the model to ship by an explicit policy, promote it in the MLflow registry, keep the trail.")
try:
    names = [e.name for e in cached_experiments(uri)]
    models = cached_models(uri)
except PodiumError as exc:
    show_store_error(exc, key="champion_store")
    st.stop()

if "champion_experiments" not in st.session_state:
    st.session_state["champion_experiments"] = (
        [n for n in st.session_state.get(EXPERIMENTS_KEY, []) if n in names]
        or [n for n in cached_model_experiments(uri, models[0] if models else "") if n in names] or names[:1])
left, right = st.columns(2)
chosen = left.multiselect("Experiments", names, key="champion_experiments", placeholder="Choose experiments")
model_name = right.selectbox("Registered model", models, key="champion_model", accept_new_options=True,
                             placeholder="Choose or type a model name", index=0 if models else None)
if not chosen or not model_name:
    st.info("Choose experiments and a registered model.", icon=":material/arrow_upward:")
    st.stop()

try:
    runs_metrics = sorted({c.removeprefix("metrics.") for c in cached_runs(uri, tuple(chosen)).columns if c.startswith("metrics.")})
except PodiumError as exc:
    show_store_error(exc, key="champion_load")
    st.stop()
if not runs_metrics:
    st.info("These experiments have no metrics to rank runs by.", icon=":material/inbox:")
    st.stop()

with st.container(border=True):
    c1, c2, c3 = st.columns([3, 2, 2])
    metric = c1.selectbox("Metric", runs_metrics, key="champion_metric",
                          index=runs_metrics.index("f1") if "f1" in runs_metrics else 0)
    mode = c2.segmented_control("Better is", ["max", "min"], default="max", key="champion_mode",
                                format_func={"max": "higher", "min": "lower"}.get) or "max"
    alias = c3.text_input("Alias", value="champion", key="champion_alias").strip() or "champion"
    c1, c2, _ = st.columns([3, 2, 2])
    second = c1.selectbox("Tie-breaker metric (then the newer run)", [m for m in runs_metrics if m != metric],
                          index=None, key="champion_second", placeholder="none: the newer run wins ties")
    second_mode = c2.segmented_control("Tie-breaker better is", ["max", "min"], default="max", key="champion_second_mode",
                                       format_func={"max": "higher", "min": "lower"}.get, disabled=not second) or "max"
    where = st.text_input("Constraints (MLflow filter syntax)", key="champion_where",
                          placeholder="metrics.predict_latency_ms < 50 and attributes.status = 'FINISHED'")

try:
    policy = ch.ChampionPolicy(metric, mode, where, second, second_mode)
    ranking = cached_ranking(uri, tuple(chosen), policy, model_name, alias)
except PodiumError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.caption(f"Policy: {md(policy.describe())}")
done = st.session_state.pop(RESULT_KEY, None)
if done:
    st.success(md(done), icon=":material/check_circle:")

st.subheader("Current champion vs. best candidate")
comp = ranking.comparison
if ranking.champion is None:
    st.info(f"No version of {md(model_name)} has the alias @{md(alias)} yet.", icon=":material/info:")
elif comp is None:
    st.info(f"Current @{md(alias)}: version {ranking.champion.version} (run {md(ranking.champion.run_id or 'unknown')}); "
            "no eligible run to compare it with.", icon=":material/info:")
if comp is not None:
    champ_run = comp.champion_run_name or comp.champion.run_id or "unknown run"
    m1, m2, m3 = st.columns(3)
    m1.metric(f"Best candidate: {ranking.winner.run_name or ranking.winner.run_id}", f"{ranking.winner.value:.4g}",
              help=f"{metric} of the best eligible run")
    first = comp.rows[0] if comp.rows else None
    m2.metric(f"Champion v{comp.champion.version}: {champ_run}",
              "n/a" if first is None or first.champion != first.champion else f"{first.champion:.4g}")
    m3.metric("Challenger beats champion", "yes" if comp.challenger_beats else "no",
              help=comp.why, delta=None if comp.same_run else ("promote" if comp.challenger_beats else "keep"),
              delta_color="normal" if comp.challenger_beats else "off")
    st.caption(md(comp.why))
    st.dataframe(ranking.comparison_frame(), key="champion_comparison", hide_index=True, width="stretch",
                 column_config={"delta": st.column_config.NumberColumn("delta (challenger − champion)", format="%+.4g"),
                                "challenger": st.column_config.NumberColumn(format="%.4g"),
                                "champion": st.column_config.NumberColumn(format="%.4g")})

st.subheader(f"Ranking: {len(ranking.candidates)} eligible, {len(ranking.excluded)} excluded")
if ranking.candidates:
    st.dataframe(ranking.candidates_frame(), key="champion_ranking", hide_index=True, width="stretch",
                 column_config={metric: st.column_config.NumberColumn(format="%.4g"),
                                "start_time": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm"),
                                "current": st.column_config.TextColumn("registry now", width="medium")})
else:
    st.warning("No eligible run under this policy: see why each run is out below.", icon=":material/block:")
with st.expander(f"Excluded runs and why ({len(ranking.excluded)})", icon=":material/filter_alt_off:",
                 expanded=not ranking.candidates):
    st.dataframe(ranking.excluded_frame(), key="champion_excluded", hide_index=True, width="stretch")

st.subheader("Promote")
if ranking.winner is None:
    st.caption("Nothing to promote.")
else:
    p1, p2 = st.columns(2)
    user = p1.text_input("Promoted by", value=ch.current_user(), key="champion_user")
    report = p2.text_input("Report link or id (optional)", value=st.session_state.get("report_logged_run", ""),
                           key="champion_report")
    try:
        plan = ch.plan_promotion(uri, ranking, model_name, alias, user=user.strip() or None, report=report.strip() or None)
    except PodiumError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    st.markdown(f"**Decision:** {md(plan.decision)}")
    if plan.changes_anything:
        st.caption("Dry run: nothing has changed yet. Promoting will:")
        st.code("\n".join(f"• {c}" for c in plan.changes), language=None, wrap_lines=True)
        sure = st.checkbox(f"Yes, change the registry of {md(model_name)} as listed above", key="champion_confirm")
        if st.button("Promote", key="champion_promote", type="primary", disabled=not sure, icon=":material/trophy:"):
            try:
                result = ch.apply_promotion(uri, plan)
            except PodiumError as exc:
                st.error(str(exc), icon=":material/error:")
                st.stop()
            clear()
            st.session_state[RESULT_KEY] = result.message
            del st.session_state["champion_confirm"]
            st.rerun()

st.subheader("Promotion history")
try:
    history = ch.promotion_history(uri, model_name)
except PodiumError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
if history:
    st.dataframe(ch.history_frame(history), key="champion_history", hide_index=True, width="stretch",
                 column_config={"version": st.column_config.NumberColumn(width="small"),
                                "previous": st.column_config.TextColumn(width="small"),
                                "policy": st.column_config.TextColumn(width="large")})
else:
    st.caption(f"No promotion of {md(model_name)} recorded by Podium yet.")
