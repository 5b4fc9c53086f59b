"""The champion's policy and the ranking under it: pure functions on a loaded runs frame.

:func:`rank` groups repeats of one configuration (runs that differ only in the policy's
``repeats_by`` param), orders the configurations by their mean (a single run stands alone when
there are no repeats), says why every other run is out, and weighs the best configuration against
the current champion's (:mod:`podium.evidence`: Welch's test, minimum gain). No I/O: the store is
read by :func:`podium.champion.gather`.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from podium import evidence as ev
from podium.columns import to_float
from podium import store
from podium.errors import NotFoundError, PodiumError
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


_ATTRIBUTE_COLUMNS = {"status": "status", "run_name": "run_name", "user_id": "user_id", "run_id": "run_id",
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


def policy_reasons(df: pd.DataFrame, policy: ChampionPolicy, clauses: list[tuple[str, dict]],
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
    reasons = policy_reasons(frame, policy, clauses, values)
    keys = ev.config_keys(frame, policy.repeats_by).tolist() if len(frame) else []
    second_col = f"metrics.{policy.second_metric}" if policy.second_metric else None
    seconds = pd.to_numeric(frame[second_col], errors="coerce").to_numpy(dtype=float) if second_col in frame else np.full(len(frame), np.nan)
    starts = [_start_ns(s) for s in frame["start_time"]] if len(frame) else []

    run_ids = frame["run_id"].astype(str).to_numpy(dtype=object)
    has_model = np.array([r in models for r in run_ids], dtype=bool)
    configs: dict[str, _Config] = {}
    for i in np.flatnonzero([not r for r in reasons]) if len(frame) else []:
        config = configs.setdefault(keys[i], _Config(keys[i], [], []))
        config.rows.append(int(i))
        config.values.append(float(values[i]))

    def run_key(i: int) -> tuple:
        return _order_key(policy, float(values[i]), None if second_col is None else float(seconds[i]), starts[i], run_ids[i])

    # A configuration is eligible when one of its runs (in the loaded runs) carries a model; the
    # best of those represents it and is the run registered on promotion.
    representative = {}
    for key, config in configs.items():
        with_model = [j for j in config.rows if j < inside and has_model[j]]
        if with_model:
            representative[key] = min(with_model, key=run_key)
    names = frame["run_name"].to_numpy(dtype=object) if "run_name" in frame else np.full(len(frame), None, dtype=object)
    exps = frame["experiment_name"].to_numpy(dtype=object) if "experiment_name" in frame else np.full(len(frame), None, dtype=object)
    no_model = "no logged model" + (" (nor any repeat of its configuration)" if policy.repeats_by else "")
    excluded = []
    for i in range(inside):
        why = list(reasons[i]) or ([] if keys[i] in representative else [no_model])
        if why:
            excluded.append(Excluded(run_ids[i], names[i], exps[i], tuple(why)))
    eligible = [(configs[key], best) for key, best in representative.items()]

    varying = _varying_params(frame, [frame.iloc[c.rows[0]] for c, _ in eligible], policy.repeats_by) if policy.repeats_by else []
    confidence = policy.confidence or 0.95
    scored = []
    for config, best in eligible:
        summary = ev.summarize(config.values, confidence)
        second = float(np.nanmean(seconds[config.rows])) if second_col and np.isfinite(seconds[config.rows]).any() else (math.nan if second_col else None)
        newest = max(starts[j] for j in config.rows)
        scored.append((_order_key(policy, summary.mean, second, newest, run_ids[best]), config, best, summary, second))
    scored.sort(key=lambda t: t[0])
    start_times = frame["start_time"].to_numpy(dtype=object) if "start_time" in frame else np.full(len(frame), None, dtype=object)
    candidates = []
    for n, (_, config, best, summary, second) in enumerate(scored, 1):
        params = ev.config_params(frame.iloc[config.rows], policy.repeats_by) if policy.repeats_by else {}
        label = ev.config_label({k: params.get(k) for k in varying}, {} if varying else None) if policy.repeats_by else ""
        start = start_times[best]
        candidates.append(Candidate(
            n, run_ids[best], names[best], exps[best], pd.Timestamp(start) if start is not None and not pd.isna(start) else None,
            summary.mean, second, models[run_ids[best]], label, summary, float(values[best]),
            tuple(run_ids[config.rows]), tuple(config.values), params))
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
        MetricDelta(n, to_float(challenger.get(f"metrics.{n}")), to_float(champion.get(f"metrics.{n}")) if champion is not None else math.nan)
        for n in order
    )
