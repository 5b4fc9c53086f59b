"""Champion: pick the model to ship by an explicit policy, promote it, keep the trail.

Three stages, each plain data: :func:`rank` orders the runs under a :class:`ChampionPolicy` and
says why every other run is out; :func:`plan_promotion` describes what promoting the winner would
change in the registry (a dry run: it only reads); :func:`apply_promotion` makes exactly those
changes and writes the audit trail as ``podium.*`` tags on the promoted version, which
:func:`promotion_history` reads back. All MLflow access goes through :mod:`podium.store`.

CLI: ``python -m podium champion --tracking-uri URI --experiment NAME --metric NAME
--model-name NAME [--mode max|min] [--where FILTER] [--alias champion] [--apply]``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from podium import store
from podium.errors import NotFoundError, PodiumError
from podium.search import filter_mask, parse_filter

MODES = ("max", "min")
DEFAULT_ALIAS = "champion"

# The audit trail, as tags on the promoted model version.
TAG_BY = "podium.promoted_by"
TAG_AT = "podium.promoted_at"
TAG_ALIAS = "podium.alias"
TAG_POLICY = "podium.policy"
TAG_PREVIOUS = "podium.previous_version"
TAG_DELTAS = "podium.metric_deltas"
TAG_RUN = "podium.run_id"
TAG_REPORT = "podium.report"
# Some backends keep model version tag values in a 5,000-character column.
MAX_TAG_VALUE = 5000


@dataclass(frozen=True)
class ChampionPolicy:
    """How the champion is chosen.

    Attributes:
        metric: The primary metric (``f1`` or ``metrics.f1``).
        mode: ``max`` or ``min`` for the primary metric.
        constraints: MLflow filter syntax every eligible run must match, e.g.
            ``metrics.latency_ms < 50 and attributes.status = 'FINISHED'``.
        second_metric: Breaks ties on the primary metric; then the newer run wins.
        second_mode: ``max`` or ``min`` for ``second_metric``.
    """

    metric: str
    mode: str = "max"
    constraints: str = ""
    second_metric: str | None = None
    second_mode: str = "max"

    def __post_init__(self):
        object.__setattr__(self, "metric", _bare_metric(self.metric))
        object.__setattr__(self, "second_metric", _bare_metric(self.second_metric) or None)
        object.__setattr__(self, "constraints", (self.constraints or "").strip())
        if not self.metric:
            raise PodiumError("The policy needs a metric.")
        for mode in (self.mode, self.second_mode):
            if mode not in MODES:
                raise PodiumError(f"Mode must be 'max' or 'min', got {mode!r}.")

    def describe(self) -> str:
        """One sentence: ``highest f1; ties: highest roc_auc, then newer run; where metrics.x < 5``."""
        word = {"max": "highest", "min": "lowest"}
        text = f"{word[self.mode]} {self.metric}; ties: "
        if self.second_metric:
            text += f"{word[self.second_mode]} {self.second_metric}, then "
        text += "newer run; only runs with a logged model"
        if self.constraints:
            text += f" where {self.constraints}"
        return text

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _bare_metric(name: str | None) -> str:
    name = (name or "").strip()
    return name[len("metrics."):] if name.startswith("metrics.") else name


@dataclass(frozen=True)
class Candidate:
    """An eligible run, in policy order (``rank`` 1 is the winner)."""

    rank: int
    run_id: str
    run_name: str | None
    experiment_name: str | None
    start_time: pd.Timestamp | None
    value: float
    second_value: float | None
    model: store.RunModel


@dataclass(frozen=True)
class Excluded:
    """A run that cannot be champion, and every reason why."""

    run_id: str
    run_name: str | None
    experiment_name: str | None
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class MetricDelta:
    metric: str
    challenger: float
    champion: float

    @property
    def delta(self) -> float:
        return self.challenger - self.champion


@dataclass(frozen=True)
class Comparison:
    """The winner against the current champion, every metric side by side."""

    champion: store.RegistryVersion
    champion_run_name: str | None
    rows: tuple[MetricDelta, ...]
    same_run: bool
    challenger_beats: bool
    why: str


@dataclass
class Ranking:
    """What :func:`rank` found: eligible candidates in order, excluded runs, the comparison."""

    policy: ChampionPolicy
    candidates: list[Candidate]
    excluded: list[Excluded]
    champion: store.RegistryVersion | None = None
    comparison: Comparison | None = None

    @property
    def winner(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def candidates_frame(self) -> pd.DataFrame:
        p = self.policy
        rows = [{
            "rank": c.rank, "run_name": c.run_name, "experiment": c.experiment_name, p.metric: c.value,
            **({p.second_metric: c.second_value} if p.second_metric else {}),
            "start_time": c.start_time, "model": c.model.evidence, "current": self._current_label(c.run_id), "run_id": c.run_id,
        } for c in self.candidates]
        cols = (["rank", "run_name", "experiment", p.metric] + ([p.second_metric] if p.second_metric else [])
                + ["start_time", "model", "current", "run_id"])
        return pd.DataFrame(rows, columns=list(dict.fromkeys(cols)))

    def _current_label(self, run_id: str) -> str:
        """``v4 @champion`` on the current champion's run, empty elsewhere."""
        c = self.champion
        if c is None or c.run_id != run_id:
            return ""
        return f"v{c.version} " + " ".join(f"@{a}" for a in c.aliases)

    def excluded_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"run_name": e.run_name, "experiment": e.experiment_name, "reason": e.reason, "run_id": e.run_id}
                             for e in self.excluded], columns=["run_name", "experiment", "reason", "run_id"])

    def comparison_frame(self) -> pd.DataFrame:
        rows = self.comparison.rows if self.comparison else ()
        return pd.DataFrame([{"metric": r.metric, "challenger": r.challenger, "champion": r.champion, "delta": r.delta} for r in rows],
                            columns=["metric", "challenger", "champion", "delta"])


# --------------------------------------------------------------------------------------------
# Ranking


def constraint_clauses(constraints: str) -> list[tuple[str, dict]]:
    """Split a filter into ``(clause text as written, parsed clause)`` pairs with MLflow's parser.

    Raises:
        FilterError: MLflow rejects the filter (its own message).
    """
    parsed = parse_filter(constraints)
    if not parsed:
        return []
    import sqlparse
    from sqlparse.sql import Comparison as SqlComparison

    from mlflow.utils.search_utils import _join_in_comparison_tokens

    # The same tokens MLflow's parser turns into clauses, so the texts line up with `parsed`.
    tokens = _join_in_comparison_tokens(sqlparse.parse(constraints)[0].tokens)
    texts = [str(t).strip() for t in tokens if isinstance(t, SqlComparison)]
    if len(texts) != len(parsed):
        texts = [f"{c['type']}.{c['key']} {c['comparator']} {c['value']!r}" for c in parsed]
    return list(zip(texts, parsed))


_ATTRIBUTE_COLUMNS = {"status": "status", "run_name": "run_name", "user_id": "user", "run_id": "run_id",
                      "artifact_uri": "artifact_uri", "start_time": "start_time", "end_time": "end_time"}


def _clause_column(clause: dict) -> str | None:
    kind = clause["kind"]
    if kind == "metric":
        return f"metrics.{clause['key']}"
    if kind == "param":
        return f"params.{clause['key']}"
    if kind == "tag":
        return f"tags.{clause['key']}"
    return _ATTRIBUTE_COLUMNS.get(clause["key"])


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "missing"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _policy_reasons(df: pd.DataFrame, policy: ChampionPolicy, clauses: list[tuple[str, dict]]) -> list[list[str]]:
    """Per row of ``df``: why it breaks the policy's metric and constraints (empty: it does not)."""
    reasons: list[list[str]] = [[] for _ in range(len(df))]
    column = f"metrics.{policy.metric}"
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float) if column in df else np.full(len(df), np.nan)
    for i, v in enumerate(values):
        if math.isnan(v):
            reasons[i].append(f"metric {policy.metric} missing (NaN)")
        elif abs(v) >= sys.float_info.max:  # SQL stores keep ±inf as ±float max
            reasons[i].append(f"metric {policy.metric} is {'-' if v < 0 else ''}inf (not a finite number)")
    for text, clause in clauses:
        mask = filter_mask(df, [clause])
        col = _clause_column(clause)
        for i in np.flatnonzero(~mask):
            hint = ""
            if col in df.columns and col not in ("start_time", "end_time"):
                name = col.split(".", 1)[-1]
                hint = f" ({name} {_shown(df[col].iloc[i])})" if col == "status" else f" ({name} = {_shown(df[col].iloc[i])})"
            reasons[i].append(f"fails constraint: {text}{hint}")
    return reasons


def _order_key(policy: ChampionPolicy, value: float, second: float | None, start, run_id: str) -> tuple:
    primary = -value if policy.mode == "max" else value
    if second is None or math.isnan(second):
        second_key = (1, 0.0)
    else:
        second_key = (0, -second if policy.second_mode == "max" else second)
    start_ms = start.value if isinstance(start, pd.Timestamp) and not pd.isna(start) else -math.inf
    return (primary, second_key, -start_ms, run_id)


def _row_key(policy: ChampionPolicy, row: pd.Series) -> tuple:
    second = None
    if policy.second_metric:
        second = _float(row.get(f"metrics.{policy.second_metric}"))
    return _order_key(policy, _float(row.get(f"metrics.{policy.metric}")), second, row.get("start_time"), row["run_id"])


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def check_metrics(df: pd.DataFrame, policy: ChampionPolicy) -> None:
    """Raise NotFoundError when the policy names a metric no loaded run has."""
    known = sorted(c[len("metrics."):] for c in df.columns if c.startswith("metrics."))
    for name in filter(None, (policy.metric, policy.second_metric)):
        if f"metrics.{name}" not in df.columns:
            hint = f" Known metrics: {', '.join(known[:20])}." if known else " The runs have no metrics."
            raise NotFoundError(f"No run logged a metric named {name!r}.{hint}")


def rank(
    runs: pd.DataFrame,
    policy: ChampionPolicy,
    models: dict[str, store.RunModel],
    current_champion: store.RegistryVersion | None = None,
    champion_run: pd.DataFrame | None = None,
) -> Ranking:
    """Order ``runs`` under ``policy``; say why every other run is out; compare with the champion.

    Args:
        runs: A runs frame (:func:`podium.store.load_runs`).
        policy: The policy.
        models: The model each run carries (:func:`podium.store.run_models`); runs without one
            are not eligible.
        current_champion: The version behind the alias now, if any.
        champion_run: The champion's run as a one-row frame, when it is not among ``runs``.

    Raises:
        NotFoundError: the policy names a metric no run has.
        FilterError: the constraints are not valid MLflow filter syntax.
    """
    clauses = constraint_clauses(policy.constraints)
    if len(runs):
        check_metrics(runs, policy)
    reasons = _policy_reasons(runs, policy, clauses)
    eligible, excluded = [], []
    for i, (_, row) in enumerate(runs.iterrows()):
        why = list(reasons[i])
        if row["run_id"] not in models:
            why.insert(0, "no logged model")
        if why:
            excluded.append(Excluded(row["run_id"], row.get("run_name"), row.get("experiment_name"), tuple(why)))
        else:
            eligible.append(row)
    eligible.sort(key=lambda r: _row_key(policy, r))
    second = f"metrics.{policy.second_metric}" if policy.second_metric else None
    candidates = [
        Candidate(n, r["run_id"], r.get("run_name"), r.get("experiment_name"), r.get("start_time"),
                  _float(r[f"metrics.{policy.metric}"]), _float(r[second]) if second else None, models[r["run_id"]])
        for n, r in enumerate(eligible, 1)
    ]
    ranking = Ranking(policy, candidates, excluded, current_champion)
    if current_champion is not None and candidates:
        ranking.comparison = _compare(runs, policy, clauses, candidates[0], current_champion, champion_run)
    return ranking


def _compare(runs, policy, clauses, winner: Candidate, champion: store.RegistryVersion, champion_run) -> Comparison:
    challenger = runs[runs["run_id"] == winner.run_id].iloc[0]
    frame = runs[runs["run_id"] == champion.run_id] if champion.run_id else runs.iloc[0:0]
    if not len(frame) and champion_run is not None and len(champion_run):
        frame = champion_run.reset_index(drop=True)
    same = champion.run_id == winner.run_id
    if not len(frame):
        why = f"version {champion.version}'s run is not in the store" if champion.run_id else f"version {champion.version} has no source run"
        return Comparison(champion, None, _deltas(policy, challenger, None), same, not same, why + "; its metrics are unknown")
    row = frame.iloc[0]
    rows = _deltas(policy, challenger, row)
    if same:
        return Comparison(champion, row.get("run_name"), rows, True, False, "the best run is already the champion")
    champion_reasons = _policy_reasons(frame.iloc[[0]].reset_index(drop=True), policy, clauses)[0]
    if champion_reasons:
        return Comparison(champion, row.get("run_name"), rows, False, True, "the champion breaks the policy: " + "; ".join(champion_reasons))
    beats = _row_key(policy, challenger) < _row_key(policy, row)
    return Comparison(champion, row.get("run_name"), rows, False, beats, _why(policy, challenger, row, beats))


def _why(policy: ChampionPolicy, a: pd.Series, b: pd.Series, beats: bool) -> str:
    m = f"metrics.{policy.metric}"
    va, vb = _float(a[m]), _float(b[m])
    sign = {True: ">", False: "<"}
    if va != vb:
        better = (va > vb) if policy.mode == "max" else (va < vb)
        return f"{policy.metric} {va:g} {sign[va > vb]} {vb:g} ({'better' if better else 'worse'} under {policy.mode})"
    if policy.second_metric:
        s = f"metrics.{policy.second_metric}"
        sa, sb = _float(a.get(s)), _float(b.get(s))
        if not (math.isnan(sa) and math.isnan(sb)) and sa != sb:
            return f"tie on {policy.metric} ({va:g}); {policy.second_metric} {_shown(sa)} vs {_shown(sb)}"
    return f"tie on {policy.metric} ({va:g}); the {'challenger' if beats else 'champion'} is the newer run"


def _deltas(policy: ChampionPolicy, challenger: pd.Series, champion: pd.Series | None) -> tuple[MetricDelta, ...]:
    names = {c[len("metrics."):] for c in challenger.index if c.startswith("metrics.") and not pd.isna(challenger[c])}
    if champion is not None:
        names |= {c[len("metrics."):] for c in champion.index if c.startswith("metrics.") and not pd.isna(champion[c])}
    first = [n for n in (policy.metric, policy.second_metric) if n]
    order = list(dict.fromkeys(first + sorted(names - set(first))))
    return tuple(
        MetricDelta(n, _float(challenger.get(f"metrics.{n}")), _float(champion.get(f"metrics.{n}")) if champion is not None else math.nan)
        for n in order
    )


def evaluate(tracking_uri: str | None, experiments: list[str], policy: ChampionPolicy, model_name: str,
             alias: str = DEFAULT_ALIAS) -> Ranking:
    """Load the runs of ``experiments`` and the registry state of ``model_name``, then :func:`rank`.

    Read-only: nothing is written to the store.
    """
    constraint_clauses(policy.constraints)  # a bad filter fails before anything is loaded
    runs = store.load_runs(tracking_uri, experiments)
    if len(runs):
        check_metrics(runs, policy)
    champion = store.version_by_alias(tracking_uri, model_name, alias) if model_name else None
    # Listing artifacts costs a request per run: only for runs that could otherwise win.
    plain = pd.Series([not r for r in _policy_reasons(runs, policy, constraint_clauses(policy.constraints))], dtype=bool) if len(runs) else pd.Series([], dtype=bool)
    models = store.run_models(tracking_uri, sorted(set(runs["experiment_id"])) if len(runs) else [], runs)
    scan = [rid for rid, ok in zip(runs["run_id"], plain) if ok and rid not in models]
    if scan:
        models = store.run_models(tracking_uri, [], runs, scan_run_ids=scan) | models
    champion_run = None
    if champion is not None and champion.run_id and champion.run_id not in set(runs["run_id"]):
        champion_run = store.get_runs(tracking_uri, [champion.run_id])
    return rank(runs, policy, models, champion, champion_run)


# --------------------------------------------------------------------------------------------
# Promotion


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

    @property
    def changes_anything(self) -> bool:
        return bool(self.changes)


def _json_number(value: float):
    return None if value is None or not math.isfinite(value) else value


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
    previous = current.version if current else None
    plan = PromotionPlan(model_name, alias, winner.run_id, winner.run_name, winner.model, not exists, existing, previous, {})
    comparison = ranking.comparison
    if current is not None and existing is not None and current.version == existing:
        plan.decision = f"Keep: version {existing} (run {winner.run_name or winner.run_id}) is already @{alias}. Nothing to change."
        return plan
    if comparison is not None and not comparison.same_run and not comparison.challenger_beats:
        plan.decision = (f"Keep: the current @{alias} (version {current.version if current else '?'}) still wins under the policy "
                         f"({comparison.why}). Nothing to change.")
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
        TAG_POLICY: ranking.policy.to_json(),
        TAG_PREVIOUS: str(previous) if previous is not None else "",
        TAG_DELTAS: deltas_json,
        TAG_RUN: winner.run_id,
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
    move = f" (from version {previous})" if previous is not None else ""
    plan.changes.append(f"set alias @{alias} on {target}{move}")
    plan.changes.append(f"write audit tags {', '.join(sorted(plan.tags))} on {target}")
    why = f": {comparison.why}" if comparison is not None else (": no current champion" if current is None else "")
    plan.decision = f"Promote run {name} ({ranking.policy.metric} = {winner.value:g}) to @{alias}{why}."
    return plan


def current_user() -> str:
    """The login name of whoever runs Podium (the default 'who' of the audit trail)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


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


def apply_promotion(tracking_uri: str | None, plan: PromotionPlan) -> PromotionResult:
    """Make the plan's changes: create the model if planned, register, set the alias, tag.

    Idempotent: a run that already has a version of the model is never registered again, and a
    plan whose winner is already behind the alias changes nothing.
    """
    if not plan.changes_anything:
        return PromotionResult(plan.existing_version, False, False, plan.decision)
    if plan.create_model:
        store.create_registered_model(tracking_uri, plan.model_name)
    current = store.version_by_alias(tracking_uri, plan.model_name, plan.alias)
    version, created = store.register_run_model(tracking_uri, plan.model_name, plan.model)
    if current is not None and current.version == version.version:
        return PromotionResult(version.version, created, created, f"Version {version.version} is already @{plan.alias}.")
    tags = dict(plan.tags)
    tags[TAG_AT] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tags[TAG_PREVIOUS] = str(current.version) if current is not None else ""
    # Tags first: an interrupted promotion leaves a tagged version, never an unexplained alias.
    store.set_version_tags(tracking_uri, plan.model_name, version.version, tags)
    store.set_model_alias(tracking_uri, plan.model_name, plan.alias, version.version)
    return PromotionResult(version.version, True, created,
                           f"Version {version.version} of {plan.model_name!r} is now @{plan.alias}.")


@dataclass(frozen=True)
class PromotionRecord:
    """One past promotion, read back from a version's audit tags."""

    version: int
    run_id: str | None
    promoted_at: str
    promoted_by: str
    alias: str
    previous_version: str
    policy: str
    deltas: dict
    report: str | None
    current: bool


def promotion_history(tracking_uri: str | None, model_name: str) -> list[PromotionRecord]:
    """Past promotions of ``model_name`` recorded by Podium, newest first."""
    out = []
    for v in store.model_versions(tracking_uri, model_name):
        t = v.tags
        if TAG_AT not in t:
            continue
        try:
            deltas = json.loads(t.get(TAG_DELTAS) or "{}")
        except ValueError:
            deltas = {}
        alias = t.get(TAG_ALIAS, "")
        out.append(PromotionRecord(v.version, v.run_id, t[TAG_AT], t.get(TAG_BY, ""), alias, t.get(TAG_PREVIOUS, ""),
                                   t.get(TAG_POLICY, ""), deltas, t.get(TAG_REPORT), alias in v.aliases))
    return sorted(out, key=lambda r: (r.promoted_at, r.version), reverse=True)


def history_frame(records: list[PromotionRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        try:
            policy = ChampionPolicy(**json.loads(r.policy)).describe()
        except Exception:  # a hand-edited tag: show it as it is
            policy = r.policy
        rows.append({"when": r.promoted_at, "version": r.version, "alias": r.alias + (" (current)" if r.current else ""),
                     "by": r.promoted_by, "previous": r.previous_version, "policy": policy, "report": r.report, "run_id": r.run_id})
    return pd.DataFrame(rows, columns=["when", "version", "alias", "by", "previous", "policy", "report", "run_id"])


# --------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", required=True, help="the MLflow store")
    parser.add_argument("--experiment", action="append", required=True, help="experiment name (repeatable)")
    parser.add_argument("--metric", required=True, help="primary metric, e.g. f1")
    parser.add_argument("--mode", choices=MODES, default="max", help="maximise or minimise the metric (default max)")
    parser.add_argument("--where", default="", metavar="FILTER", help="constraints in MLflow filter syntax")
    parser.add_argument("--second-metric", default=None, help="tie-breaker metric (then the newer run wins)")
    parser.add_argument("--second-mode", choices=MODES, default="max", help="direction of --second-metric")
    parser.add_argument("--model-name", required=True, help="registered model to promote in")
    parser.add_argument("--alias", default=DEFAULT_ALIAS, help="alias to set (default champion)")
    parser.add_argument("--report", default=None, help="report link or id to record in the audit trail")
    parser.add_argument("--create-model", action="store_true", help="create --model-name when it does not exist")
    parser.add_argument("--apply", action="store_true", help="make the change (default: dry run)")


def _fmt(value) -> str:
    return _shown(_float(value)) if not isinstance(value, str) else value


def format_ranking(ranking: Ranking, top: int = 20) -> str:
    """The ranking as plain text lines, run names included."""
    p = ranking.policy
    lines = [f"Policy: {p.describe()}", f"Eligible runs: {len(ranking.candidates)}; excluded: {len(ranking.excluded)}"]
    for c in ranking.candidates[:top]:
        second = f"  {p.second_metric}={_fmt(c.second_value)}" if p.second_metric else ""
        lines.append(f"  #{c.rank:<3} {c.run_name or c.run_id}  {p.metric}={_fmt(c.value)}{second}  [{c.experiment_name}] {c.run_id}")
    if len(ranking.candidates) > top:
        lines.append(f"  … and {len(ranking.candidates) - top} more")
    if ranking.excluded:
        lines.append("Excluded:")
        for e in ranking.excluded[:top]:
            lines.append(f"  {e.run_name or e.run_id}: {e.reason}")
        if len(ranking.excluded) > top:
            lines.append(f"  … and {len(ranking.excluded) - top} more")
    comp = ranking.comparison
    if ranking.champion is None:
        lines.append("Current champion: none")
    elif comp is not None:
        lines.append(f"Current champion: version {comp.champion.version} (run {comp.champion_run_name or comp.champion.run_id})")
        for r in comp.rows:
            lines.append(f"  {r.metric:<24} challenger {_fmt(r.challenger):>10}  champion {_fmt(r.champion):>10}  delta {_fmt(r.delta):>10}")
        lines.append(f"  challenger beats champion: {'yes' if comp.challenger_beats else 'no'} ({comp.why})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    policy = ChampionPolicy(args.metric, args.mode, args.where, args.second_metric, args.second_mode)
    constraint_clauses(policy.constraints)
    if not args.create_model and not store.registered_model_exists(args.tracking_uri, args.model_name):
        raise NotFoundError(f"No registered model named {args.model_name!r} (pass --create-model to create it).")
    ranking = evaluate(args.tracking_uri, args.experiment, policy, args.model_name, args.alias)
    print(format_ranking(ranking))
    plan = plan_promotion(args.tracking_uri, ranking, args.model_name, args.alias, report=args.report,
                          create_model=args.create_model)
    print(f"Decision: {plan.decision}")
    if not plan.changes_anything:
        return 0
    if not args.apply:
        print("Dry run, nothing changed. With --apply this would:")
        for change in plan.changes:
            print(f"  - {change}")
        return 0
    result = apply_promotion(args.tracking_uri, plan)
    print(result.message)
    return 0
