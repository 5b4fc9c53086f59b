"""Champion: pick the model to ship by an explicit policy and evidence, promote it, keep the trail.

Gather -> compute -> apply. :func:`gather` is the only step that reads the store (the runs frame,
unless the caller passes one it already loaded; the models the runs carry; the registry; each
run's metric summaries when the policy ranks by a history's best). :func:`rank` is pure: it groups
repeats of one configuration (runs that differ only in the policy's ``repeats_by`` param), orders
the configurations by their mean, says why every other run is out, and weighs the best one against
the current champion's configuration (:mod:`podium.evidence`: Welch's test, minimum gain).
:func:`plan_promotion` describes what promoting would change (a dry run: it only reads);
:func:`apply_promotion` makes exactly those changes and writes the audit trail (``podium.*`` tags,
:mod:`podium.lineage`), which :func:`promotion_history` reads back.

CLI: ``python -m podium champion --tracking-uri URI --experiment NAME --metric NAME
--model-name NAME [--mode max|min] [--where FILTER] [--repeats-by PARAM] [--confidence 0.95]
[--min-gain 0.01|2%] [--aggregate last|min|max] [--champion-stage Production] [--check]
[--apply] [--notify-url URL] [--rollback]`` (see :mod:`podium.champion_cli`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from podium import evidence as ev
from podium import store
from podium.champion_rank import (  # noqa: F401 (re-exported: the champion's public API)
    AGGREGATES, DEFAULT_ALIAS, MODES, Candidate, ChampionPolicy, Comparison, Excluded, MetricDelta, Ranking,
    check_metrics, constraint_clauses, metric_values, policy_reasons, rank, version_label,
)
from podium.errors import NotFoundError, PodiumError
from podium.lineage import (  # noqa: F401 (re-exported: the champion's public API)
    MAX_TAG_VALUE, TAG_ACTION, TAG_ALIAS, TAG_AT, TAG_BY, TAG_DELTAS, TAG_EVENTS, TAG_EVIDENCE, TAG_POLICY,
    TAG_PREVIOUS, TAG_REPORT, TAG_RUN, TAG_STATS, PromotionRecord, RollbackPlan, apply_rollback, audit_tags, clip,
    current_user, history_frame, lineage_chart, lineage_frame, plan_rollback, promotion_history,
)


# --------------------------------------------------------------------------------------------
# Gather (the only step that reads the store)


@dataclass
class Gathered:
    """Everything :func:`rank` needs, read from the store once."""

    runs: pd.DataFrame
    models: dict[str, store.RunModel]
    champion: store.RegistryVersion | None
    champion_run: pd.DataFrame | None
    summaries: pd.DataFrame | None
    champion_via: str = "alias"

    def rank(self, policy: ChampionPolicy) -> Ranking:
        return rank(self.runs, policy, self.models, self.champion, self.champion_run, self.summaries, self.champion_via)


def current_champion(tracking_uri: str | None, model_name: str, alias: str = DEFAULT_ALIAS,
                     stage: str | None = None) -> tuple[store.RegistryVersion | None, str]:
    """The version behind ``alias``; without one, the newest version in legacy ``stage``.

    Returns ``(version or None, "alias" | "stage")``."""
    if not model_name:
        return None, "alias"
    version = store.version_by_alias(tracking_uri, model_name, alias)
    if version is not None or not stage:
        return version, "alias"
    staged = [v for v in store.model_versions(tracking_uri, model_name)
              if str(getattr(v, "stage", "") or "").lower() == stage.lower()]
    return (max(staged, key=lambda v: v.version), "stage") if staged else (None, "alias")


def gather(tracking_uri: str | None, experiments: list[str], policy: ChampionPolicy, model_name: str,
           alias: str = DEFAULT_ALIAS, runs: pd.DataFrame | None = None) -> Gathered:
    """Read what ranking needs: the runs (unless ``runs`` is given), the models they carry, the
    champion (and its run when it is outside ``runs``), metric summaries for min/max. Read-only."""
    clauses = constraint_clauses(policy.constraints)  # a bad filter fails before anything is loaded
    if runs is None:
        runs = store.load_runs(tracking_uri, experiments)
    if len(runs):
        check_metrics(runs, policy)
    champion, via = current_champion(tracking_uri, model_name, alias, policy.champion_stage)
    champion_run = None
    if champion is not None and champion.run_id and champion.run_id not in set(runs["run_id"]):
        champion_run = store.get_runs(tracking_uri, [champion.run_id])
    summaries = None
    if policy.aggregate != "last":
        ids = list(runs["run_id"]) + ([champion.run_id] if champion_run is not None and len(champion_run) else [])
        summaries = store.metric_summaries(tracking_uri, ids, [policy.metric]) if ids else None
    values = metric_values(runs, policy, summaries)
    # Listing artifacts costs a request per run: only for runs that could otherwise win.
    plain = [not r for r in policy_reasons(runs, policy, clauses, values)] if len(runs) else []
    models = store.run_models(tracking_uri, sorted(set(runs["experiment_id"])) if len(runs) else [], runs)
    scan = [rid for rid, ok in zip(runs["run_id"], plain) if ok and rid not in models]
    if scan:
        models = store.run_models(tracking_uri, [], runs, scan_run_ids=scan) | models
    return Gathered(runs, models, champion, champion_run, summaries, via)


def evaluate(tracking_uri: str | None, experiments: list[str], policy: ChampionPolicy, model_name: str,
             alias: str = DEFAULT_ALIAS, runs: pd.DataFrame | None = None) -> Ranking:
    """:func:`gather` then :func:`rank`. Read-only: nothing is written to the store."""
    return gather(tracking_uri, experiments, policy, model_name, alias, runs).rank(policy)


# --------------------------------------------------------------------------------------------
# Promotion (plan reads, apply writes)


@dataclass
class PromotionPlan:
    """What promoting the winner would change; ``changes`` empty means nothing to do."""

    model_name: str
    alias: str
    run_id: str | None
    run_name: str | None
    model: store.RunModel | None
    create_model: bool
    existing_version: int | None
    previous_version: int | None
    tags: dict[str, str]
    changes: list[str] = field(default_factory=list)
    decision: str = ""
    evidence: str = ""
    policy: str = ""

    @property
    def changes_anything(self) -> bool:
        return bool(self.changes)

    def check_line(self) -> str:
        """One line for ``--check``: whether the champion stands under the policy, and the evidence."""
        if self.changes_anything:
            return f"REPLACE: a challenger would replace the champion: {self.evidence}"
        return f"STANDS: {self.decision.removeprefix('Keep: ')}"


def _json_number(value: float):
    return None if value is None or not math.isfinite(value) else value


def _stats_json(ranking: Ranking) -> str:
    w, p = ranking.winner, ranking.policy
    s = w.summary or ev.summarize([w.value])
    return json.dumps({"metric": p.metric, "aggregate": p.aggregate, "n": s.n, "mean": _json_number(s.mean),
                       "std": _json_number(s.std), "low": _json_number(s.low), "high": _json_number(s.high),
                       "confidence": s.confidence, "run_value": _json_number(w.run_value), "config": w.config,
                       "p_value": ranking.comparison.verdict.p_value if ranking.comparison and ranking.comparison.verdict else None},
                      sort_keys=True)


def plan_promotion(tracking_uri: str | None, ranking: Ranking, model_name: str, alias: str = DEFAULT_ALIAS,
                   user: str | None = None, report: str | None = None, create_model: bool = True) -> PromotionPlan:
    """Describe what :func:`apply_promotion` would do for ``ranking``'s winner. Reads only.

    Args:
        create_model: Allow creating ``model_name`` when it does not exist; when False a missing
            model raises NotFoundError.

    Raises:
        NotFoundError: ``model_name`` does not exist and ``create_model`` is False.
        PodiumError: no run is eligible.
    """
    exists = store.registered_model_exists(tracking_uri, model_name)
    if not exists and not create_model:
        raise NotFoundError(f"No registered model named {model_name!r} (pass --create-model to create it).")
    winner = ranking.winner
    if winner is None:
        raise PodiumError(_no_eligible_message(ranking))
    versions = store.model_versions(tracking_uri, model_name) if exists else []
    mine = [v for v in versions if v.run_id == winner.run_id]
    existing = mine[0].version if mine else None
    current = next((v for v in versions if alias in v.aliases), None)
    staged = ranking.champion if current is None and ranking.champion_via == "stage" else None
    previous = current.version if current else None
    policy_text = ranking.policy.describe()
    plan = PromotionPlan(model_name, alias, winner.run_id, winner.run_name, winner.model, not exists, existing, previous, {},
                         evidence=ranking.evidence, policy=policy_text)
    holder = current or staged
    if holder is not None and existing is not None and holder.version == existing:
        how = f"@{alias}" if current is not None else f"the champion (stage {getattr(holder, 'stage', '')})"
        plan.decision = f"Keep: version {existing} (run {winner.run_name or winner.run_id}) is already {how}. Nothing to change."
        return plan
    comparison = ranking.comparison
    if comparison is not None and not comparison.same_run and not comparison.challenger_beats:
        label = version_label(comparison.champion, ranking.champion_via)
        plan.decision = f"Keep: the current champion ({label}) stands under the policy: {comparison.why}. Nothing to change."
        return plan
    if comparison is not None and comparison.same_run:
        plan.decision = f"Keep: {comparison.why}. Nothing to change."
        if staged is None:
            return plan
    rows = comparison.rows if comparison else ()
    deltas = {r.metric: {"challenger": _json_number(r.challenger), "champion": _json_number(r.champion),
                         "delta": _json_number(r.delta)} for r in rows}
    deltas_json = json.dumps(deltas, sort_keys=True)
    if len(deltas_json) > MAX_TAG_VALUE:  # keep the policy's metrics when all of them do not fit
        keep = [n for n in (ranking.policy.metric, ranking.policy.second_metric) if n]
        deltas_json = json.dumps({k: v for k, v in deltas.items() if k in keep}, sort_keys=True)
    plan.tags = {
        TAG_BY: user or current_user(),
        TAG_AT: "(set when applied)",
        TAG_ALIAS: alias,
        TAG_ACTION: "promote",
        TAG_POLICY: ranking.policy.to_json(),
        TAG_PREVIOUS: str(previous) if previous is not None else (str(staged.version) if staged else ""),
        TAG_DELTAS: deltas_json,
        TAG_RUN: winner.run_id,
        TAG_EVIDENCE: clip(ranking.evidence),
        TAG_STATS: _stats_json(ranking),
    }
    if report:
        plan.tags[TAG_REPORT] = report
    name = winner.run_name or winner.run_id
    if plan.create_model:
        plan.changes.append(f"create registered model {model_name!r}")
    if existing is None:
        plan.changes.append(f"register run {name}'s model ({winner.model.source}) as a new version of {model_name!r}")
        target = "the new version"
    else:
        target = f"version {existing}"
    move = f" (from version {previous})" if previous is not None else (f" (stage champion: version {staged.version})" if staged else "")
    plan.changes.append(f"set alias @{alias} on {target}{move}")
    plan.changes.append(f"write audit tags {', '.join(sorted(plan.tags))} on {target}")
    value = (f"{winner.config}: mean {ranking.policy.metric} = {ev.fmt(winner.value)} over {winner.n} runs" if winner.config
             else f"{ranking.policy.metric} = {ev.fmt(winner.value)}")
    why = f": {comparison.why}" if comparison is not None else (": no current champion" if holder is None else "")
    plan.decision = f"Promote run {name} ({value}) to @{alias}{why}."
    return plan


def _no_eligible_message(ranking: Ranking) -> str:
    counts: dict[str, int] = {}
    for e in ranking.excluded:
        for r in e.reasons:
            key = r.split(" (", 1)[0]
            counts[key] = counts.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    detail = ", ".join(f"{k}: {n}" for k, n in top)
    return f"No eligible run: all {len(ranking.excluded)} runs are excluded" + (f" ({detail})." if detail else ".")


@dataclass(frozen=True)
class PromotionResult:
    version: int | None
    changed: bool
    created_version: bool
    message: str
    previous_version: int | None = None


def apply_promotion(tracking_uri: str | None, plan: PromotionPlan, promoted_by: str | None = None) -> PromotionResult:
    """Make the plan's changes: create the model if planned, register, set the alias, tag.

    Idempotent: a run that already has a version of the model is never registered again, and a
    plan whose winner is already behind the alias changes nothing.

    Args:
        promoted_by: Who promotes (the signed-in user in team mode); default the plan's.
    """
    if not plan.changes_anything:
        return PromotionResult(plan.existing_version, False, False, plan.decision)
    # One promotion of a model at a time in this process: two sessions never register the run twice.
    with store.promotion_lock(tracking_uri, plan.model_name):
        return _apply_promotion(tracking_uri, plan, promoted_by)


def _apply_promotion(tracking_uri: str | None, plan: PromotionPlan, promoted_by: str | None) -> PromotionResult:
    if plan.create_model:
        store.create_registered_model(tracking_uri, plan.model_name)
    current = store.version_by_alias(tracking_uri, plan.model_name, plan.alias)
    version, created = store.register_run_model(tracking_uri, plan.model_name, plan.model)
    if current is not None and current.version == version.version:
        return PromotionResult(version.version, created, created, f"Version {version.version} is already @{plan.alias}.",
                               current.version)
    tags = dict(plan.tags)
    tags[TAG_AT] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    if promoted_by:
        tags[TAG_BY] = promoted_by
    if current is not None:
        tags[TAG_PREVIOUS] = str(current.version)
    # Tags first: an interrupted promotion leaves a tagged version, never an unexplained alias.
    store.set_version_tags(tracking_uri, plan.model_name, version.version, audit_tags(version, tags))
    store.set_model_alias(tracking_uri, plan.model_name, plan.alias, version.version)
    previous = int(tags[TAG_PREVIOUS]) if tags.get(TAG_PREVIOUS, "").isdigit() else None
    return PromotionResult(version.version, True, created,
                           f"Version {version.version} of {plan.model_name!r} is now @{plan.alias}.", previous)


def recorded_evidence(version: store.RegistryVersion | None) -> str | None:
    """The decision sentence recorded when ``version`` was last promoted (``podium.evidence``),
    for the report's "Current champion" section; None when Podium did not promote it."""
    return (version.tags.get(TAG_EVIDENCE) or None) if version is not None else None


def notify_promotion(url: str, plan: PromotionPlan | RollbackPlan, result: PromotionResult, user: str | None = None):
    """POST the promotion's summary to a webhook (:mod:`podium.notify`); returns its NotifyResult.
    Never raises and never undoes anything: a failure is only reported."""
    from podium import notify

    rollback = isinstance(plan, RollbackPlan)
    payload = notify.promotion_payload(
        model=plan.model_name, alias=plan.alias, from_version=result.previous_version, to_version=result.version,
        policy="" if rollback else plan.policy, evidence=plan.tags.get(TAG_EVIDENCE, ""),
        user=user or plan.tags.get(TAG_BY, "") or current_user(), action="rollback" if rollback else "promote",
        run=plan.run_id)
    return notify.post(url, payload)


# --------------------------------------------------------------------------------------------
# CLI (podium.cli calls these two)


def add_arguments(parser) -> None:
    from podium import champion_cli

    champion_cli.add_arguments(parser)


def run(args) -> int:
    from podium import champion_cli

    return champion_cli.run(args)
