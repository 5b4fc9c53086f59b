"""Champion page parts: cached reads, the policy form, the decision and the ranking table.

Everything shown that comes from the store goes through ``inert``. The writes (promote, roll
back) live in ``_champion_writes``.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from podium import champion as ch
from podium import evidence as ev
from podium import store
from podium.analysis import metric_direction, primary_metric
from podium.text import inert

CONFIDENCES = [0.0, 0.9, 0.95, 0.99]  # 0: no test, the mean decides
NO_REPEATS = "(none)"


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_gather(uri, experiments, policy, model_name, alias, _runs, runs_token):
    """The registry side of a ranking; the runs frame is the page's (keyed by ``runs_token``)."""
    return ch.gather(uri, list(experiments), policy, model_name, alias, runs=_runs)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_models(uri):
    return store.registered_model_names(uri)


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_model_experiments(uri, model_name):
    """Experiments holding the runs of a model's versions: a newcomer's sensible default."""
    run_ids = [v.run_id for v in store.model_versions(uri, model_name) if v.run_id] if model_name else []
    runs = store.get_runs(uri, run_ids[:20])
    return sorted(set(runs["experiment_name"].dropna())) if len(runs) else []


@st.cache_data(ttl=60, show_spinner=False, max_entries=8)
def cached_history(uri, model_name):
    return ch.promotion_history(uri, model_name)


def clear() -> None:
    for f in (cached_gather, cached_models, cached_model_experiments, cached_history):
        f.clear()


def gather_key(policy: ch.ChampionPolicy) -> ch.ChampionPolicy:
    """What the gather step depends on: gates and directions change only the (instant) ranking."""
    return dataclasses.replace(policy, mode="max", second_mode="max", confidence=None, min_gain=None)


def _follow_metric() -> None:
    st.session_state["champion_mode"] = metric_direction(st.session_state["champion_metric"])


def policy_form(runs: pd.DataFrame) -> tuple[ch.ChampionPolicy, str]:
    """The policy widgets; returns (policy, alias). The metric defaults to the one Compare and
    Report headline, its direction to the metric's name (lower for losses and errors)."""
    metrics = sorted({c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics.")})
    if st.session_state.get("champion_metric") not in metrics:
        primary = (primary_metric(runs) or "").removeprefix("metrics.")
        st.session_state["champion_metric"] = primary if primary in metrics else metrics[0]
        _follow_metric()
    if "champion_repeats" not in st.session_state:
        st.session_state["champion_repeats"] = ev.default_repeats_param(runs) or NO_REPEATS
    repeat_options = [NO_REPEATS, *ev.repeat_candidates(runs)]
    if st.session_state["champion_repeats"] not in repeat_options:
        st.session_state["champion_repeats"] = NO_REPEATS
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
        metric = c1.selectbox("Metric", metrics, key="champion_metric", on_change=_follow_metric)
        mode = c2.segmented_control("Better is", ["max", "min"], key="champion_mode",
                                    format_func={"max": "higher", "min": "lower"}.get) or "max"
        aggregate = c3.segmented_control("Value of each run", list(ch.AGGREGATES), default="last", key="champion_aggregate",
                                         format_func={"last": "last", "min": "lowest", "max": "highest"}.get,
                                         help="last: the value MLflow shows; lowest/highest: the best of the run's history "
                                              "(early stopping)") or "last"
        alias = c4.text_input("Alias", value="champion", key="champion_alias").strip() or "champion"
        c1, c2, c3, c4 = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
        repeats = c1.selectbox("Repeats of one configuration differ in", repeat_options, key="champion_repeats",
                               format_func=lambda p: "none: every run stands alone" if p == NO_REPEATS else p,
                               help="Runs that differ only in this param (a seed) form one configuration, ranked by its mean.")
        confidence = c2.selectbox("Confidence", CONFIDENCES, index=2, key="champion_confidence",
                                  format_func=lambda c: f"{c:.0%} (Welch t-test)" if c else "off: the mean decides")
        gain = c3.text_input("Minimum gain", key="champion_min_gain", placeholder="0.01 or 2%",
                             help="A smaller improvement keeps the champion: metric units, or % of the champion's value.")
        stage = c4.checkbox("Production stage", key="champion_stage",
                            help="For registries that use the legacy stages: when no version has the alias, the newest version "
                                 "in the Production stage is the current champion.")
        c1, c2, c3 = st.columns([3, 2, 5])
        second = c1.selectbox("Tie-breaker metric (then the newer run)", [m for m in metrics if m != metric],
                              index=None, key="champion_second", placeholder="none: the newer run wins ties")
        second_mode = c2.segmented_control("Tie-breaker better is", ["max", "min"], default="max", key="champion_second_mode",
                                           format_func={"max": "higher", "min": "lower"}.get, disabled=not second) or "max"
        where = c3.text_input("Constraints (MLflow filter syntax)", key="champion_where",
                              placeholder="metrics.predict_latency_ms < 50 and attributes.status = 'FINISHED'")
    policy = ch.ChampionPolicy(metric, mode, where, second, second_mode, None if repeats == NO_REPEATS else repeats,
                               confidence or None, gain.strip() or None, aggregate,
                               "Production" if stage else None)
    return policy, alias


def _side(summary: ev.Summary | None, value: float) -> str:
    if summary is None or summary.n < 2:
        return ev.fmt(value)
    return f"{ev.fmt(summary.mean)} ± {ev.fmt(summary.std)}"


def decision(ranking: ch.Ranking, model_name: str, alias: str) -> None:
    """The best candidate against the champion, with the evidence sentence."""
    p, comp, win = ranking.policy, ranking.comparison, ranking.winner
    if ranking.champion is None:
        st.info(f"No version of {inert(model_name)} has the alias @{inert(alias)} yet"
                + (" (nor the Production stage)." if p.champion_stage else "."), icon=":material/info:")
    elif comp is None:
        st.info(f"Current champion: {inert(ch.version_label(ranking.champion, ranking.champion_via))} "
                f"(run {inert(ranking.champion.run_id or 'unknown')}); no eligible run to compare it with.", icon=":material/info:")
    if win is None:
        return
    if p.repeats_by and all(c.n == 1 for c in ranking.candidates):
        st.warning(f"No configuration has two runs that differ only in {inert(p.repeats_by)}: every run stands alone, "
                   "so no interval or confidence can be given.", icon=":material/info:")
    m1, m2, m3 = st.columns(3)
    best = win.config if p.repeats_by else (win.run_name or win.run_id)
    n = f" ({win.n} runs)" if p.repeats_by else ""
    m1.metric(inert(f"Best: {best}{n}"), _side(win.summary, win.value),
              help=inert(f"{p.metric}: " + ("mean ± sd over the configuration's runs" if p.repeats_by else "the run's value")))
    if comp is not None:
        champ = ch.version_label(comp.champion, ranking.champion_via)
        first = comp.rows[0].champion if comp.rows else float("nan")
        m2.metric(inert(f"Champion {champ}: {comp.champion_run_name or comp.champion.run_id or 'unknown run'}"),
                  _side(comp.champion_summary, comp.champion_summary.mean if comp.champion_summary else first))
        verdict = "replace" if comp.challenger_beats else ("already champion" if comp.same_run else "keep")
        m3.metric("Decision", verdict, delta="promote" if comp.challenger_beats else None)
    box = st.success if comp is None or comp.challenger_beats else st.info
    box(inert(ranking.evidence), icon=":material/balance:")


def ranking_table(ranking: ch.Ranking) -> None:
    p = ranking.policy
    fmt = st.column_config.NumberColumn(format="%.4g")
    config = {p.metric: st.column_config.NumberColumn("mean " + p.metric if p.repeats_by else p.metric, format="%.4g"),
              "sd": fmt, "ci_low": st.column_config.NumberColumn("95% CI low", format="%.4g"),
              "ci_high": st.column_config.NumberColumn("95% CI high", format="%.4g"),
              "run_name": st.column_config.TextColumn("best run" if p.repeats_by else "run"),
              "run_value": st.column_config.NumberColumn("best run's " + p.metric, format="%.4g"),
              "start_time": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm"),
              "current": st.column_config.TextColumn("registry now", width="medium")}
    st.dataframe(ranking.candidates_frame(), key="champion_ranking", hide_index=True, width="stretch", column_config=config)
