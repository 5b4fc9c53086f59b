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
import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from podium import evidence as ev
from podium import store
from podium.errors import NotFoundError, PodiumError
from podium.lineage import (  # noqa: F401 (re-exported: the champion's public API)
    MAX_TAG_VALUE, TAG_ACTION, TAG_ALIAS, TAG_AT, TAG_BY, TAG_DELTAS, TAG_EVENTS, TAG_EVIDENCE, TAG_POLICY,
    TAG_PREVIOUS, TAG_REPORT, TAG_RUN, TAG_STATS, PromotionRecord, RollbackPlan, apply_rollback, audit_tags, clip,
    current_user, history_frame, lineage_chart, lineage_frame, plan_rollback, promotion_history,
)
from podium.search import filter_mask, parse_filter

MODES = ("max", "min")
AGGREGATES = ("last", "min", "max")
DEFAULT_ALIAS = "champion"
_AGGREGATE_WORDS = {"min": "lowest value of each run's history", "max": "highest value of each run's history"}


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
        repeats_by: The param that marks repeats of one configuration (a seed); configurations
            are ranked by their mean. None: every run stands alone.
        confidence: Replace the champion only when the challenger is better under a one-sided
            Welch t-test at this level (e.g. 0.95). None: the mean decides.
        min_gain: The smallest improvement that replaces the champion: ``0.01`` (metric units)
            or ``2%`` (of the champion's value). None: any gain.
        aggregate: Which value of the metric ranks a run: ``last`` (as MLflow shows it), ``min``
            or ``max`` over the run's history (early-stopping runs).
        champion_stage: When no version has the alias, the newest version in this legacy stage
            (e.g. ``Production``) is the current champion.
    """

    metric: str
    mode: str = "max"
    constraints: str = ""
    second_metric: str | None = None
    second_mode: str = "max"
    repeats_by: str | None = None
    confidence: float | None = None
    min_gain: str | None = None
    aggregate: str = "last"
    champion_stage: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "metric", _bare_metric(self.metric))
        object.__setattr__(self, "second_metric", _bare_metric(self.second_metric) or None)
        object.__setattr__(self, "constraints", (self.constraints or "").strip())
        repeats = (self.repeats_by or "").strip()
        object.__setattr__(self, "repeats_by", repeats[len("params."):] if repeats.startswith("params.") else (repeats or None))
        object.__setattr__(self, "champion_stage", (self.champion_stage or "").strip() or None)
        if not self.metric:
            raise PodiumError("The policy needs a metric.")
        for mode in (self.mode, self.second_mode):
            if mode not in MODES:
                raise PodiumError(f"Mode must be 'max' or 'min', got {mode!r}.")
        if self.aggregate not in AGGREGATES:
            raise PodiumError(f"Aggregate must be 'last', 'min' or 'max', got {self.aggregate!r}.")
        if self.confidence is not None:
            try:
                confidence = float(self.confidence)
            except (TypeError, ValueError):
                confidence = math.nan
            if not 0 < confidence < 1:
                raise PodiumError(f"Confidence must be between 0 and 1 (e.g. 0.95), got {self.confidence!r}.")
            object.__setattr__(self, "confidence", confidence)
        gain = ev.parse_min_gain(self.min_gain)
        object.__setattr__(self, "min_gain", gain.describe() if gain else None)

    @property
    def gain(self) -> ev.MinGain | None:
        return ev.parse_min_gain(self.min_gain)

    def describe(self) -> str:
        """One sentence: ``highest f1; ties: highest roc_auc, then newer run; where metrics.x < 5``."""
        word = {"max": "highest", "min": "lowest"}
        text = f"{word[self.mode]} {'mean ' if self.repeats_by else ''}{self.metric}"
        if self.aggregate != "last":
            text += f" ({_AGGREGATE_WORDS[self.aggregate]})"
        if self.repeats_by:
            text += f" over repeats by {self.repeats_by}"
        text += "; ties: "
        if self.second_metric:
            text += f"{word[self.second_mode]} {self.second_metric}, then "
        text += "newer run; only runs with a logged model"
        if self.constraints:
            text += f" where {self.constraints}"
        gates = []
        if self.confidence is not None:
            gates.append(f"better with {self.confidence:.0%} confidence (one-sided Welch t-test)")
        if self.min_gain:
            gates.append(f"by at least {self.min_gain}")
        if gates:
            text += "; replaces the champion only if " + " and ".join(gates)
        if self.champion_stage:
            text += f"; without the alias, the {self.champion_stage} stage is the champion"
        return text

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ChampionPolicy":
        """A policy from its audit tag (keys this version does not know are ignored)."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _bare_metric(name: str | None) -> str:
    name = (name or "").strip()
    return name[len("metrics."):] if name.startswith("metrics.") else name


@dataclass(frozen=True)
class Candidate:
    """An eligible configuration (a single run without repeats), in policy order (``rank`` 1 wins).

    ``run_id`` is its representative, the best of its runs with a logged model: the run that is
    registered on promotion. ``value`` ranks it: the configuration's mean (the run's value alone).
    """

    rank: int
    run_id: str
    run_name: str | None
    experiment_name: str | None
    start_time: pd.Timestamp | None
    value: float
    second_value: float | None
    model: store.RunModel
    config: str = ""
    summary: ev.Summary | None = None
    run_value: float = math.nan
    run_ids: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    params: dict = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        return self.summary.n if self.summary else 1


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
    """The winner against the current champion: every metric side by side, and the verdict."""

    champion: store.RegistryVersion
    champion_run_name: str | None
    rows: tuple[MetricDelta, ...]
    same_run: bool
    challenger_beats: bool
    why: str
    verdict: ev.Verdict | None = None
    champion_summary: ev.Summary | None = None
    champion_config: str = ""


@dataclass
class Ranking:
    """What :func:`rank` found: eligible candidates in order, excluded runs, the comparison."""

    policy: ChampionPolicy
    candidates: list[Candidate]
    excluded: list[Excluded]
    champion: store.RegistryVersion | None = None
    comparison: Comparison | None = None
    champion_via: str = "alias"  # or "stage": the legacy stage stood in for a missing alias

    @property
    def winner(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def evidence(self) -> str:
        """The decision's evidence in one sentence (the ``podium.evidence`` audit tag)."""
        if self.comparison is not None:
            return self.comparison.why
        w = self.winner
        if w is None:
            return "no eligible run"
        return f"no current champion; best {ev.describe_side(_side_label(self.policy, w), w.summary or ev.summarize([w.value]))}"

    def candidates_frame(self) -> pd.DataFrame:
        p = self.policy
        rows = []
        for c in self.candidates:
            s = c.summary or ev.summarize([c.value])
            row = {"rank": c.rank}
            if p.repeats_by:
                row |= {"config": c.config, "n": s.n, p.metric: c.value, "sd": s.std, "ci_low": s.low, "ci_high": s.high,
                        "run_name": c.run_name, "run_value": c.run_value}
            else:
                row |= {"run_name": c.run_name, p.metric: c.value}
            row |= {"experiment": c.experiment_name, **({p.second_metric: c.second_value} if p.second_metric else {}),
                    "start_time": c.start_time, "model": c.model.evidence, "current": self._current_label(c), "run_id": c.run_id}
            rows.append(row)
        cols = (["rank"] + (["config", "n", p.metric, "sd", "ci_low", "ci_high", "run_name", "run_value"] if p.repeats_by
                            else ["run_name", p.metric])
                + ["experiment"] + ([p.second_metric] if p.second_metric else []) + ["start_time", "model", "current", "run_id"])
        return pd.DataFrame(rows, columns=list(dict.fromkeys(cols)))

    def _current_label(self, c: Candidate) -> str:
        """``v4 @champion`` on the current champion's run (``… (config)`` on its configuration)."""
        v = self.champion
        if v is None or not v.run_id or (v.run_id != c.run_id and v.run_id not in c.run_ids):
            return ""
        label = version_label(v, self.champion_via)
        return label if v.run_id == c.run_id else f"{label} (a run of this config)"

    def excluded_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"run_name": e.run_name, "experiment": e.experiment_name, "reason": e.reason, "run_id": e.run_id}
                             for e in self.excluded], columns=["run_name", "experiment", "reason", "run_id"])

    def comparison_frame(self) -> pd.DataFrame:
        rows = self.comparison.rows if self.comparison else ()
        return pd.DataFrame([{"metric": r.metric, "challenger": r.challenger, "champion": r.champion, "delta": r.delta} for r in rows],
                            columns=["metric", "challenger", "champion", "delta"])


def version_label(v: store.RegistryVersion, via: str = "alias") -> str:
    """``v4 @champion``, or ``v4 (stage Production)`` where a legacy stage stands in for the alias."""
    stage = getattr(v, "stage", None)
    if v.aliases and via == "alias":
        return f"v{v.version} " + " ".join(f"@{a}" for a in v.aliases)
    return f"v{v.version}" + (f" (stage {stage})" if stage and stage != "None" else "")


def _side_label(policy: ChampionPolicy, c: Candidate, reference: dict | None = None) -> str:
    if not policy.repeats_by:
        return f"run {c.run_name or c.run_id}"
    return c.config if reference is None else ev.config_label(c.params, reference)


# --------------------------------------------------------------------------------------------
# Ranking (pure: frames in, plain data out)


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


def metric_values(runs: pd.DataFrame, policy: ChampionPolicy, summaries: pd.DataFrame | None = None) -> np.ndarray:
    """The value that ranks each run of ``runs``: the frame's (MLflow's latest) value, or with
    ``aggregate`` min/max the run's best over its history (``store.metric_summaries`` rows)."""
    column = f"metrics.{policy.metric}"
    if policy.aggregate == "last" or summaries is None:
        return pd.to_numeric(runs[column], errors="coerce").to_numpy(dtype=float) if column in runs else np.full(len(runs), np.nan)
    mine = summaries[summaries["key"] == policy.metric] if len(summaries) else summaries
    by_run = dict(zip(mine["run_id"], pd.to_numeric(mine[policy.aggregate], errors="coerce"))) if len(mine) else {}
    return np.array([by_run.get(r, math.nan) for r in runs["run_id"]], dtype=float)


def _policy_reasons(df: pd.DataFrame, policy: ChampionPolicy, clauses: list[tuple[str, dict]],
                    values: np.ndarray | None = None) -> list[list[str]]:
    """Per row of ``df``: why it breaks the policy's metric and constraints (empty: it does not)."""
    reasons: list[list[str]] = [[] for _ in range(len(df))]
    values = metric_values(df, policy) if values is None else values
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


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _start_ns(start) -> float:
    return start.value if isinstance(start, pd.Timestamp) and not pd.isna(start) else -math.inf


def _order_key(policy: ChampionPolicy, value: float, second: float | None, start_ns: float, run_id: str) -> tuple:
    primary = -value if policy.mode == "max" else value
    if second is None or math.isnan(second):
        second_key = (1, 0.0)
    else:
        second_key = (0, -second if policy.second_mode == "max" else second)
    return (primary, second_key, -start_ns, run_id)


def check_metrics(df: pd.DataFrame, policy: ChampionPolicy) -> None:
    """Raise NotFoundError when the policy names a metric (or repeats param) no loaded run has."""
    known = sorted(c[len("metrics."):] for c in df.columns if c.startswith("metrics."))
    for name in filter(None, (policy.metric, policy.second_metric)):
        if f"metrics.{name}" not in df.columns:
            hint = f" Known metrics: {', '.join(known[:20])}." if known else " The runs have no metrics."
            raise NotFoundError(f"No run logged a metric named {name!r}.{hint}")
    if policy.repeats_by and f"params.{policy.repeats_by}" not in df.columns:
        params = sorted(c[len("params."):] for c in df.columns if c.startswith("params."))
        hint = f" Known params: {', '.join(params[:20])}." if params else " The runs have no params."
        raise NotFoundError(f"No run logged a param named {policy.repeats_by!r} (--repeats-by).{hint}")


@dataclass
class _Config:
    key: str
    rows: list[int]  # positions in the combined frame, runs that pass the policy
    values: list[float]


def rank(
    runs: pd.DataFrame,
    policy: ChampionPolicy,
    models: dict[str, store.RunModel],
    current_champion: store.RegistryVersion | None = None,
    champion_run: pd.DataFrame | None = None,
    summaries: pd.DataFrame | None = None,
    champion_via: str = "alias",
) -> Ranking:
    """Order ``runs`` under ``policy``; say why every other run is out; weigh the best against the champion.

    Pure: works on what :func:`gather` read.

    Args:
        runs: A runs frame (:func:`podium.store.load_runs`).
        policy: The policy.
        models: The model each run carries (:func:`podium.store.run_models`); a configuration
            without any is not eligible.
        current_champion: The version behind the alias now, if any.
        champion_run: The champion's run as a one-row frame, when it is not among ``runs``.
        summaries: ``store.metric_summaries`` rows for ``aggregate`` min/max.

    Raises:
        NotFoundError: the policy names a metric or param no run has.
        FilterError: the constraints are not valid MLflow filter syntax.
    """
    clauses = constraint_clauses(policy.constraints)
    if len(runs):
        check_metrics(runs, policy)
    inside = len(runs)
    frame = runs.reset_index(drop=True)
    if champion_run is not None and len(champion_run) and current_champion is not None and \
            current_champion.run_id not in set(frame["run_id"]):
        frame = pd.concat([frame, champion_run.iloc[[0]]], ignore_index=True)
    values = metric_values(frame, policy, summaries)
    reasons = _policy_reasons(frame, policy, clauses, values)
    keys = ev.config_keys(frame, policy.repeats_by).tolist() if len(frame) else []
    second_col = f"metrics.{policy.second_metric}" if policy.second_metric else None
    seconds = pd.to_numeric(frame[second_col], errors="coerce").to_numpy(dtype=float) if second_col in frame else np.full(len(frame), np.nan)
    starts = [_start_ns(s) for s in frame["start_time"]] if len(frame) else []

    configs: dict[str, _Config] = {}
    for i in range(len(frame)):
        if not reasons[i]:
            configs.setdefault(keys[i], _Config(keys[i], [], [])).rows.append(i)
            configs[keys[i]].values.append(float(values[i]))

    def run_key(i: int) -> tuple:
        return _order_key(policy, float(values[i]), None if second_col is None else float(seconds[i]), starts[i], frame["run_id"].iat[i])

    excluded, eligible = [], []
    for i in range(inside):
        row = frame.iloc[i]
        why = list(reasons[i])
        config = configs.get(keys[i])
        with_model = [j for j in config.rows if j < inside and frame["run_id"].iat[j] in models] if config and not why else []
        if not why and not with_model:
            why.insert(0, "no logged model" + (" (nor any repeat of its configuration)" if policy.repeats_by else ""))
        elif row["run_id"] not in models and not why:
            pass  # counted in its configuration, which another run represents
        if why:
            excluded.append(Excluded(row["run_id"], row.get("run_name"), row.get("experiment_name"), tuple(why)))
    for config in configs.values():
        inner = [j for j in config.rows if j < inside]
        with_model = [j for j in inner if frame["run_id"].iat[j] in models]
        if with_model:
            eligible.append((config, min(with_model, key=run_key)))

    varying = _varying_params(frame, [frame.iloc[c.rows[0]] for c, _ in eligible], policy.repeats_by)
    confidence = policy.confidence or 0.95
    scored = []
    for config, best in eligible:
        summary = ev.summarize(config.values, confidence)
        second = float(np.nanmean(seconds[config.rows])) if second_col and np.isfinite(seconds[config.rows]).any() else (math.nan if second_col else None)
        newest = max(starts[j] for j in config.rows)
        scored.append((_order_key(policy, summary.mean, second, newest, frame["run_id"].iat[best]), config, best, summary, second))
    scored.sort(key=lambda t: t[0])
    candidates = []
    for n, (_, config, best, summary, second) in enumerate(scored, 1):
        r = frame.iloc[best]
        params = ev.config_params(frame.iloc[config.rows], policy.repeats_by) if policy.repeats_by else {}
        label = ev.config_label({k: params.get(k) for k in varying}, {} if varying else None) if policy.repeats_by else ""
        candidates.append(Candidate(
            n, r["run_id"], r.get("run_name"), r.get("experiment_name"), r.get("start_time"), summary.mean, second,
            models[r["run_id"]], label, summary, float(values[best]), tuple(frame["run_id"].iloc[config.rows]),
            tuple(config.values), params))
    ranking = Ranking(policy, candidates, excluded, current_champion, champion_via=champion_via)
    if current_champion is not None and candidates:
        ranking.comparison = _compare(frame, policy, reasons, keys, configs, values, seconds, starts, candidates[0],
                                      current_champion, champion_via)
    return ranking


def _varying_params(frame: pd.DataFrame, rows: list[pd.Series], repeats_by: str | None) -> list[str]:
    """Params whose value differs between the eligible configurations (what names them)."""
    if not repeats_by or not rows:
        return []
    cols = [c for c in frame.columns if c.startswith("params.") and c != f"params.{repeats_by}"]
    out = []
    for c in cols:
        seen = {None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in (r.get(c) for r in rows)}
        if len(seen) > 1:
            out.append(c[len("params."):])
    return sorted(out)


def _compare(frame, policy, reasons, keys, configs, values, seconds, starts, winner: Candidate,
             champion: store.RegistryVersion, via: str) -> Comparison:
    challenger = frame[frame["run_id"] == winner.run_id].iloc[0]
    where = np.flatnonzero(frame["run_id"].to_numpy() == champion.run_id) if champion.run_id else []
    same = champion.run_id == winner.run_id
    if not len(where):
        why = (f"version {champion.version}'s run is not in the store" if champion.run_id
               else f"version {champion.version} has no source run")
        return Comparison(champion, None, _deltas(policy, challenger, None), same, not same, why + "; its metrics are unknown")
    i = int(where[0])
    row = frame.iloc[i]
    rows = _deltas(policy, challenger, row)
    if same:
        return Comparison(champion, row.get("run_name"), rows, True, False, "the best run is already the champion")
    if reasons[i]:
        return Comparison(champion, row.get("run_name"), rows, False, True, "the champion breaks the policy: " + "; ".join(reasons[i]))
    config = configs[keys[i]]
    confidence = policy.confidence or 0.95
    champ_summary = ev.summarize(config.values, confidence)
    if policy.repeats_by and champion.run_id in winner.run_ids:
        text = (f"the champion's configuration is still the best: {ev.describe_side('champion config', champ_summary)}")
        return Comparison(champion, row.get("run_name"), rows, False, False, text, None, champ_summary, "champion config")
    champ_second = (float(np.nanmean(seconds[config.rows])) if np.isfinite(seconds[config.rows]).any() else math.nan) if policy.second_metric else None
    champ_key = _order_key(policy, champ_summary.mean, champ_second, max(starts[j] for j in config.rows), champion.run_id)
    win_key = _order_key(policy, winner.value, winner.second_value, max(starts[int(j)] for j in np.flatnonzero(frame["run_id"].isin(winner.run_ids))),
                         winner.run_id)
    if policy.repeats_by:
        champ_params = ev.config_params(frame.iloc[config.rows], policy.repeats_by)
        challenger_label, champion_label = ev.config_label(winner.params, champ_params), "config"
    else:
        challenger_label, champion_label = f"run {winner.run_name or winner.run_id}", f"run {row.get('run_name') or champion.run_id}"
    verdict = ev.decide(winner.summary, champ_summary, policy.mode, challenger_label=challenger_label, champion_label=champion_label,
                        confidence=policy.confidence, min_gain=policy.gain, tie_break=win_key < champ_key,
                        challenger_values=list(winner.values), champion_values=list(config.values), show_n=bool(policy.repeats_by))
    why = verdict.text
    if verdict.gain == 0 and verdict.better_on_mean:
        why += f" (tie on {policy.metric}; " + (f"{policy.second_metric}, then " if policy.second_metric else "") + "the newer run wins)"
    return Comparison(champion, row.get("run_name"), rows, False, verdict.replace, why, verdict, champ_summary, champion_label)


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
    plain = [not r for r in _policy_reasons(runs, policy, clauses, values)] if len(runs) else []
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
    config = f", {winner.config}," if winner.config else ""
    why = f": {comparison.why}" if comparison is not None else (": no current champion" if holder is None else "")
    plan.decision = f"Promote run {name}{config} ({ranking.policy.metric} = {ev.fmt(winner.value)}) to @{alias}{why}."
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
