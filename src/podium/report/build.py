"""Compute a team report: the data only (plain dataclasses), no rendering.

``build_report`` reads the store, ranks the runs and gathers everything both renderers need:
provenance, leaderboard with deltas against the current champion, chart specs (from
:mod:`podium.charts`, the same as the Compare page's) and a reproducibility card per top run.
Every string in the result is untrusted run data; the renderers escape it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from podium import __version__, store
from podium.analysis import default_axes, default_scatter, normalize_direction, reference_labels
from podium.config import redact_uri
from podium.errors import NotFoundError, PodiumError
from podium.filters import RunFilter, mlflow_ui_base, run_url, varying_columns

# MLflow's run ids are hex; only ids of this shape ever become part of a link.
_RUN_ID = re.compile(r"^[0-9a-zA-Z]{1,64}$")
_EXP_ID = re.compile(r"^[0-9a-zA-Z-]{1,64}$")
MAX_KEY_PARAMS = 5
MAX_KEY_METRICS = 5
MAX_CARD_PARAMS = 40
_SEED = re.compile(r"(seed|random_state)", re.IGNORECASE)


@dataclass
class Provenance:
    """Where the report's data came from."""

    store: str  # redacted
    experiments: list[str]
    filter_string: str
    filter_words: str
    runs_total: int
    runs_filtered: int
    runs_without_metric: int
    selected_runs: int | None = None  # when the report covers chosen runs only


@dataclass
class ChampionInfo:
    """The current champion: a registered model version behind an alias, and its run."""

    model_name: str
    alias: str
    version: str
    run_id: str | None
    run_name: str | None
    metrics: dict[str, float]
    url: str | None = None
    in_leaderboard: bool = False


@dataclass
class LeaderRow:
    """One run of the leaderboard."""

    rank: int
    run_id: str
    run_name: str
    experiment_name: str
    status: str
    score: float
    params: dict[str, str | None]
    metrics: dict[str, float]
    deltas: dict[str, float]  # metric column -> this run minus the champion
    is_champion: bool = False
    url: str | None = None


@dataclass
class ChartSpec:
    """A chart ready to draw: a Vega-Lite spec (JSON-able dict) and what to tell the reader."""

    key: str
    title: str
    spec: dict
    notes: list[str] = field(default_factory=list)


@dataclass
class ModelCard:
    name: str
    uri: str
    load_code: str
    env_files: list[str]
    files: list[str]


@dataclass
class DatasetCard:
    name: str
    digest: str
    context: str


@dataclass
class ReproCard:
    """What it takes to reproduce one run, and what is missing for that."""

    run_id: str
    run_name: str
    experiment_name: str
    params: dict[str, str]
    params_hidden: int
    git_commit: str | None
    source_name: str | None
    source_type: str | None
    entry_point: str | None
    user: str | None
    start_time: datetime | None
    duration_s: float | None
    datasets: list[DatasetCard]
    models: list[ModelCard]
    missing: list[str]
    url: str | None = None


@dataclass
class Report:
    """Everything a team report shows; rendered by ``render_markdown`` and ``render_html``."""

    title: str
    author: str
    summary: str  # the user's own Markdown; renderers make it safe
    generated_at: datetime
    podium_version: str
    mlflow_version: str
    metric: str  # column name, e.g. "metrics.f1"
    mode: str  # "max" or "min"
    top: int
    provenance: Provenance
    key_params: list[str]
    key_metrics: list[str]
    leaderboard: list[LeaderRow]
    champion: ChampionInfo | None
    charts: list[ChartSpec]
    cards: list[ReproCard]
    ui_base: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def metric_name(self) -> str:
        return self.metric.removeprefix("metrics.")


def build_report(
    tracking_uri: str,
    experiments: list[str],
    metric: str,
    mode: str = "max",
    top: int = 5,
    filter_string: str = "",
    run_ids: list[str] | None = None,
    title: str = "",
    author: str = "",
    summary: str = "",
    model_name: str | None = None,
    alias: str = "champion",
    ui_url: str | None = None,
    charts: bool = True,
    now: datetime | None = None,
) -> Report:
    """Read the store and compute a :class:`Report`.

    Args:
        tracking_uri: The store (never shown unredacted).
        experiments: Experiment names or ids.
        metric: The ranking metric, with or without the ``metrics.`` prefix.
        mode: ``"max"`` or ``"min"``: which direction is better.
        top: How many runs the leaderboard and the reproducibility cards show.
        filter_string: MLflow search syntax applied in the store.
        run_ids: Restrict the report to these runs (e.g. those chosen on the Compare page).
        title, author, summary: Shown at the top; ``summary`` is Markdown, made safe when rendered.
        model_name: Registered model whose ``alias`` version is the champion; by default the
            first registered model (by name) whose ``alias`` version came from one of these runs.
        alias: The champion alias.
        ui_url: The MLflow UI's address, for links; by default the tracking server's for http(s).
        charts: Compute chart specs (the page's preview may skip them).
        now: The generation time (tests pass a fixed one).

    Raises:
        NotFoundError: unknown experiment or metric, or no runs.
        FilterError: the filter is invalid (MLflow's message).
        StoreError: the store cannot be read.
    """
    import mlflow

    mode = _mode(mode)
    if top < 1:
        raise PodiumError(f"--top must be at least 1, not {top}.")
    metric_col = metric if metric.startswith("metrics.") else f"metrics.{metric}"
    run_filter = RunFilter(filter_string=filter_string or "")
    run_filter.validate()
    all_runs = store.load_runs(tracking_uri, experiments, "")
    runs = store.load_runs(tracking_uri, experiments, filter_string) if filter_string.strip() else all_runs
    exp_names = list(store.resolve_experiments(tracking_uri, experiments).values())
    selected = None
    if run_ids:
        runs = runs[runs["run_id"].isin(list(run_ids))].reset_index(drop=True)
        selected = len(runs)
    if metric_col not in all_runs.columns:
        known = sorted(c.removeprefix("metrics.") for c in all_runs.columns if c.startswith("metrics."))
        hint = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else "none"
        raise NotFoundError(f"No metric {metric_col.removeprefix('metrics.')!r} in these experiments (metrics: {hint}).")
    ranked = _rank(runs, metric_col, mode) if metric_col in runs.columns else runs.iloc[0:0]
    without = len(runs) - len(ranked)
    best = ranked.head(top)

    ui_base = mlflow_ui_base(tracking_uri, ui_url)
    champion = _champion(tracking_uri, alias, model_name, set(all_runs["run_id"]), ui_base)
    key_params = _key_params(best if len(best) > 1 else runs)
    key_metrics = _key_metrics(best, metric_col)
    champ_metrics = champion.metrics if champion else {}
    rows = []
    for i, (_, r) in enumerate(best.iterrows(), start=1):
        metrics = {m: _num(r.get(m)) for m in key_metrics}
        deltas = {m: metrics[m] - champ_metrics[m] for m in key_metrics if m in champ_metrics} if champion else {}
        rows.append(LeaderRow(
            rank=i, run_id=str(r["run_id"]), run_name=_text(r["run_name"]) or str(r["run_id"])[:8],
            experiment_name=_text(r["experiment_name"]) or "", status=_text(r["status"]) or "",
            score=_num(r[metric_col]), params={p: _text(r.get(p)) for p in key_params},
            metrics=metrics, deltas=deltas,
            is_champion=bool(champion and champion.run_id == r["run_id"]),
            url=_url(ui_base, r["experiment_id"], r["run_id"]),
        ))
    if champion:
        champion.in_leaderboard = any(row.is_champion for row in rows)

    notes = []
    if without:
        notes.append(f"{without:,} of {len(runs):,} runs have no value for {metric_col.removeprefix('metrics.')} "
                     "and are not ranked (they are in the charts' n/a band).")
    if not len(runs):
        notes.append("No run matches: the leaderboard is empty.")
    # The champion is marked on the charts (dashed line, star), even when the filter leaves it out.
    refs = reference_labels([champion] if champion else [], all_runs, runs["run_id"])
    chart_specs = _charts(runs, metric_col, mode, list(best["run_id"]), refs, all_runs) if charts and len(runs) else []
    cards = _cards(tracking_uri, best, ui_base) if len(best) else []
    return Report(
        title=title.strip() or f"Best runs by {metric_col.removeprefix('metrics.')}",
        author=author.strip(),
        summary=summary or "",
        generated_at=(now or datetime.now(timezone.utc)).replace(microsecond=0),
        podium_version=__version__,
        mlflow_version=mlflow.__version__,
        metric=metric_col,
        mode=mode,
        top=top,
        provenance=Provenance(
            store=redact_uri(tracking_uri),
            experiments=exp_names,
            filter_string=filter_string.strip(),
            filter_words=run_filter.describe(matched=len(runs), total=len(all_runs)) if filter_string.strip() else "all runs",
            runs_total=len(all_runs),
            runs_filtered=len(runs),
            runs_without_metric=without,
            selected_runs=selected,
        ),
        key_params=key_params,
        key_metrics=key_metrics,
        leaderboard=rows,
        champion=champion,
        charts=chart_specs,
        cards=cards,
        ui_base=ui_base,
        notes=notes,
    )


def _mode(mode: str) -> str:
    try:
        return normalize_direction(mode)
    except ValueError as exc:
        raise PodiumError(str(exc)) from None


def _rank(runs: pd.DataFrame, metric_col: str, mode: str) -> pd.DataFrame:
    """Runs with a value for the metric, best first; ties: newer run first, then run id.

    ±inf are values like any other (a +inf loss ranks last under ``min``); only NaN is unranked.
    """
    values = pd.to_numeric(runs[metric_col], errors="coerce")
    has = runs[values.notna()].assign(_v=values[values.notna()])
    ordered = has.sort_values(["_v", "start_time", "run_id"], ascending=[mode == "min", False, True],
                              kind="stable", na_position="last")
    return ordered.drop(columns=["_v"]).reset_index(drop=True)


def _key_params(df: pd.DataFrame) -> list[str]:
    """Params that differ between the runs shown, most common first (all params if none differ)."""
    params = [c for c in df.columns if c.startswith("params.") and df[c].notna().any()]
    varying = [c for c in varying_columns(df, ("params.",)) if c in params]
    chosen = varying or params
    # Seeds say little about a model; they go last, like on the Compare page's axes.
    chosen = sorted(chosen, key=lambda c: (bool(_SEED.search(c.removeprefix("params."))), -int(df[c].notna().sum()), c))
    return chosen[:MAX_KEY_PARAMS]


def _key_metrics(df: pd.DataFrame, metric_col: str) -> list[str]:
    others = [c for c in df.columns if c.startswith("metrics.") and c != metric_col and df[c].notna().any()]
    others = sorted(others, key=lambda c: (-int(df[c].notna().sum()), c))
    return [metric_col] + others[: MAX_KEY_METRICS - 1]


def _champion(uri: str, alias: str, model_name: str | None, run_ids: set[str], ui_base: str | None) -> ChampionInfo | None:
    versions = store.champion_versions(uri, alias, model_name)
    if not model_name:
        # Without a model name, the champion is one whose run belongs to the report's experiments.
        versions = [v for v in versions if v.run_id in run_ids]
    if not versions:
        return None
    v = versions[0]
    run_name, metrics, url = None, {}, None
    if v.run_id:
        frame = store.get_runs(uri, [v.run_id])
        if len(frame):
            r = frame.iloc[0]
            run_name = _text(r["run_name"])
            metrics = {c: _num(r[c]) for c in frame.columns if c.startswith("metrics.") and not _isnan(r[c])}
            url = _url(ui_base, r["experiment_id"], r["run_id"])
    return ChampionInfo(v.model_name, v.alias, v.version, v.run_id, run_name, metrics, url)


def _charts(runs: pd.DataFrame, metric_col: str, mode: str, best_ids: list[str], refs: dict[str, str],
            all_runs: pd.DataFrame) -> list[ChartSpec]:
    from podium import charts

    varying = varying_columns(runs, ("params.",))
    out = []
    axes = default_axes(runs, varying, metric_col)
    if len(axes) >= 2:
        result = charts.parallel_coordinates(runs, axes, color=metric_col, selected=best_ids, height=380,
                                             reference=refs, reference_runs=all_runs)
        out.append(ChartSpec("parallel", "Parallel coordinates", _spec(result), list(result.notes)))
    x, y = default_scatter(runs, metric_col, varying)
    if x and y and x != y:
        from podium.analysis import metric_direction

        x_dir = metric_direction(x) if x.startswith("metrics.") else None
        pareto = (x_dir, mode) if x_dir else None
        result = charts.scatter(runs, x, y, color=metric_col, selected=best_ids, pareto=pareto,
                                tooltip=["run_name", metric_col, x], height=360, reference=refs, reference_runs=all_runs)
        out.append(ChartSpec("scatter", "Scatter", _spec(result), list(result.notes)))
    return out


def _spec(result) -> dict:
    spec = result.to_dict()
    # Reports are read at any width; let the chart fill its container.
    if "width" not in spec or isinstance(spec.get("width"), (int, float)):
        spec["width"] = "container"
    spec.pop("usermeta", None)
    return spec


def _cards(uri: str, best: pd.DataFrame, ui_base: str | None) -> list[ReproCard]:
    records = store.run_records(uri, list(best["run_id"]))
    cards = []
    for _, r in best.iterrows():
        rec = records.get(r["run_id"])
        tags = rec.tags if rec else {}
        params = {c.removeprefix("params."): str(r[c]) for c in best.columns
                  if c.startswith("params.") and _text(r[c]) is not None}
        keys = sorted(params)
        shown = {k: params[k] for k in keys[:MAX_CARD_PARAMS]}
        datasets = [DatasetCard(d.name, d.digest, d.context) for d in (rec.datasets if rec else ())]
        models = []
        for m in rec.models if rec else ():
            models.append(ModelCard(
                name=m.name, uri=m.uri, load_code=f'mlflow.pyfunc.load_model("{m.uri}")',
                env_files=[f for f in store.ENV_FILES if f in m.files], files=list(m.files)))
        commit = tags.get("mlflow.source.git.commit")
        source = tags.get("mlflow.source.name")
        missing = []
        if not commit:
            missing.append("no code version recorded")
        if not source:
            missing.append("no source recorded")
        if not datasets:
            missing.append("no dataset logged")
        if not models:
            missing.append("no model logged")
        elif not any(m.env_files for m in models):
            missing.append("no environment file with the model")
        start = r["start_time"]
        cards.append(ReproCard(
            run_id=str(r["run_id"]), run_name=_text(r["run_name"]) or str(r["run_id"])[:8],
            experiment_name=_text(r["experiment_name"]) or "",
            params=shown, params_hidden=len(keys) - len(shown),
            git_commit=commit, source_name=source, source_type=tags.get("mlflow.source.type"),
            entry_point=tags.get("mlflow.project.entryPoint"),
            user=_text(r["user"]), start_time=None if pd.isna(start) else start.to_pydatetime(),
            duration_s=None if _isnan(r["duration_s"]) else float(r["duration_s"]),
            datasets=datasets, models=models, missing=missing,
            url=_url(ui_base, r["experiment_id"], r["run_id"]),
        ))
    return cards


def _url(ui_base: str | None, experiment_id, run_id) -> str | None:
    if not ui_base or not _EXP_ID.match(str(experiment_id)) or not _RUN_ID.match(str(run_id)):
        return None
    return run_url(ui_base, str(experiment_id), str(run_id))


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _isnan(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
