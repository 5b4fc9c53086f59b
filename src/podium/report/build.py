"""Compute a team report: the data only (plain dataclasses), no rendering.

Three stages: :mod:`podium.report.gather` reads the store (the runs once, then the champion
and the top runs' records); :func:`build` computes on those frames, without I/O: provenance,
leaderboard with deltas against the current champion, chart specs (from :mod:`podium.charts`,
the same as the Compare page's, compacted by :mod:`podium.report.chartdata`) and a
reproducibility card per top run; the renderers draw it. The title, author and summary are put
on at the end (:meth:`Report.with_words`), so editing them never reads or computes again.
:func:`build_report` does all three for the CLI and scripts.

Every string in the result is untrusted run data, made visible
(:func:`podium.report.safe.visible`); the renderers escape it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata

import pandas as pd

from podium import __version__, ranking, store
from podium.analysis import default_axes, default_scatter, normalize_direction, reference_labels
from podium.config import redact_uri
from podium.errors import NotFoundError, PodiumError
from podium.columns import varying_columns
from podium.filters import RunFilter
from podium.links import mlflow_ui_base, run_url
from podium.report import chartdata
from podium.report.gather import Extras, ReportQuery, read_extras, select_runs, top_runs
from podium.report.safe import visible

# MLflow's run ids are hex; only ids of this shape ever become part of a link.
_RUN_ID = re.compile(r"^[0-9a-zA-Z]{1,64}$")
_EXP_ID = re.compile(r"^[0-9a-zA-Z-]{1,64}$")
MAX_KEY_PARAMS = 5
MAX_KEY_METRICS = 5
MAX_CARD_PARAMS = 40
# A static chart needs fewer lines than the Compare page to show the shape of a sweep; the
# subtitle says when runs were sampled (the best ones are always drawn).
MAX_CHART_LINES = 2000
FINISHED = "FINISHED"
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
    status: str  # MLflow's: FINISHED, FAILED, RUNNING, SCHEDULED, KILLED
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
    files_checked: bool = True  # False: named by the log-model tag, its files not listed


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
    status: str = FINISHED
    unreadable: str | None = None  # why MLflow could not read the run's records (datasets, models)


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

    @property
    def default_title(self) -> str:
        return f"Best runs by {visible(self.metric_name)}"

    def with_words(self, title: str = "", author: str = "", summary: str = "") -> "Report":
        """This report with a title, author and summary (a copy; nothing is computed again).

        A blank title gives "Best runs by <metric>". The summary is the user's Markdown, made safe
        when rendered.
        """
        return dataclasses.replace(
            self, title=visible(title).strip() or self.default_title, author=visible(author).strip(),
            summary=visible(summary or ""),
        )


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
    """Read the store once and compute a :class:`Report` (gather, then :func:`build`).

    Args:
        tracking_uri: The store (never shown unredacted).
        experiments: Experiment names or ids.
        metric: The ranking metric, with or without the ``metrics.`` prefix.
        mode: ``"max"`` or ``"min"``: which direction is better.
        top: How many runs the leaderboard and the reproducibility cards show.
        filter_string: MLflow search syntax, applied to the loaded runs.
        run_ids: Restrict the report to these runs (e.g. those chosen on the Compare page).
        title, author, summary: Shown at the top; ``summary`` is Markdown, made safe when rendered.
        model_name: Registered model whose ``alias`` version is the champion; by default the
            first registered model (by name) whose ``alias`` version came from one of these runs.
        alias: The champion alias.
        ui_url: The MLflow UI's address, for links; by default the tracking server's for http(s).
        charts: Compute chart specs.
        now: The generation time (tests pass a fixed one).

    Raises:
        NotFoundError: unknown experiment or metric, or registered model.
        FilterError: the filter is invalid (MLflow's message).
        StoreError: the store cannot be read.
    """
    query = ReportQuery(metric, _mode(mode), top, filter_string or "", tuple(run_ids) if run_ids else None,
                        model_name, alias, ui_url, charts)
    RunFilter(filter_string=query.filter_string).validate()
    names = store.resolve_experiments(tracking_uri, experiments)
    all_runs = store.load_runs(tracking_uri, experiments, "")
    check_metric(all_runs, query.metric)
    runs = select_runs(tracking_uri, experiments, all_runs, query.filter_string, query.run_ids)
    extras = read_extras(tracking_uri, all_runs, top_runs(runs, query), query)
    report = build(all_runs, runs, query, extras, experiments=list(names.values()),
                   store_label=redact_uri(tracking_uri), ui_base=mlflow_ui_base(tracking_uri, query.ui_url), now=now)
    return report.with_words(title, author, summary)


def check_metric(all_runs: pd.DataFrame, metric_col: str) -> None:
    """Raise NotFoundError when no loaded run has ``metric_col``; the message lists the known ones."""
    if metric_col not in all_runs.columns:
        known = sorted(c.removeprefix("metrics.") for c in all_runs.columns if c.startswith("metrics."))
        hint = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else "none"
        raise NotFoundError(f"No metric {metric_col.removeprefix('metrics.')!r} in these experiments (metrics: {hint}).")


def build(
    all_runs: pd.DataFrame,
    runs: pd.DataFrame,
    query: ReportQuery,
    extras: Extras,
    *,
    experiments: list[str],
    store_label: str,
    ui_base: str | None = None,
    now: datetime | None = None,
) -> Report:
    """Compute a :class:`Report` from frames already read (no I/O); its words are added later.

    Args:
        all_runs: Every run of the experiments (the charts mark the champion even outside the filter).
        runs: The runs the report covers (:func:`podium.report.gather.select_runs`).
        query: What the report is about.
        extras: The champion and records :func:`podium.report.gather.read_extras` read.
        experiments: The experiments' names, as the report names them.
        store_label: The store, redacted (:func:`podium.config.redact_uri`).
        ui_base: The MLflow UI's address for links (:func:`podium.links.mlflow_ui_base`), if any.
        now: The generation time.

    Raises:
        NotFoundError: no loaded run has the metric.
    """
    metric_col, mode, top = query.metric, _mode(query.mode), query.top
    check_metric(all_runs, metric_col)
    ranked = ranking.rank_runs(runs, metric_col, mode)
    without = len(runs) - len(ranked)
    best = ranked.head(top)

    champion = _champion(extras, all_runs, ui_base)
    key_params = _key_params(best if len(best) > 1 else runs)
    key_metrics = _key_metrics(best, metric_col)
    champ_metrics = champion.metrics if champion else {}
    rows = []
    for i, (_, r) in enumerate(best.iterrows(), start=1):
        metrics = {visible(m): ranking.as_number(r.get(m)) for m in key_metrics}
        deltas = {m: _delta(v, champ_metrics[m]) for m, v in metrics.items() if m in champ_metrics} if champion else {}
        rows.append(LeaderRow(
            rank=i, run_id=str(r["run_id"]), run_name=_label(r), experiment_name=_text(r["experiment_name"]) or "",
            status=_text(r["status"]) or "", score=ranking.as_number(r[metric_col]),
            params={visible(p): _text(r.get(p)) for p in key_params}, metrics=metrics, deltas=deltas,
            is_champion=bool(champion and champion.run_id == r["run_id"]),
            url=_url(ui_base, r["experiment_id"], r["run_id"]),
        ))
    if champion:
        champion.in_leaderboard = any(row.is_champion for row in rows)

    notes = []
    name = visible(metric_col.removeprefix("metrics."))
    if without:
        notes.append(f"{without:,} of {len(runs):,} runs have no value for {name} "
                     "and are not ranked (they are in the charts' n/a band).")
    if not len(runs):
        notes.append("No run matches: the leaderboard is empty.")
    unfinished = [row for row in rows if row.status and row.status != FINISHED]
    if unfinished:
        which = ", ".join(f"#{row.rank} {row.status}" for row in unfinished)
        notes.append(f"{len(unfinished)} of the top {len(rows)} runs did not finish ({which}): "
                     "their values may be partial.")
    notes += extras.notes
    # The champion is marked on the charts (dashed line, star), even when the filter leaves it out.
    champion_versions = [extras.champion] if champion else []
    refs = reference_labels(champion_versions, all_runs, runs["run_id"])
    chart_specs = _charts(runs, metric_col, mode, list(best["run_id"]), refs, all_runs) if query.charts and len(runs) else []
    cards = _cards(best, extras, ui_base) if len(best) else []
    run_filter = RunFilter(filter_string=query.filter_string)
    return Report(
        title=f"Best runs by {name}",
        author="",
        summary="",
        generated_at=(now or datetime.now(timezone.utc)).replace(microsecond=0),
        podium_version=__version__,
        mlflow_version=_mlflow_version(),
        metric=visible(metric_col),
        mode=mode,
        top=top,
        provenance=Provenance(
            store=store_label,
            experiments=[visible(e) for e in experiments],
            filter_string=visible(query.filter_string),
            filter_words=visible(run_filter.describe(matched=len(runs), total=len(all_runs))) if query.filter_string else "all runs",
            runs_total=len(all_runs),
            runs_filtered=len(runs),
            runs_without_metric=without,
            selected_runs=len(runs) if query.run_ids else None,
        ),
        key_params=[visible(p) for p in key_params],
        key_metrics=[visible(m) for m in key_metrics],
        leaderboard=rows,
        champion=champion,
        charts=chart_specs,
        cards=cards,
        ui_base=ui_base,
        notes=notes,
    )


def _mlflow_version() -> str:
    # The installed version, without importing MLflow (seconds) when the store never needed it.
    try:
        return metadata.version("mlflow")
    except metadata.PackageNotFoundError:  # pragma: no cover - MLflow is a dependency
        import mlflow

        return mlflow.__version__


def _mode(mode: str) -> str:
    try:
        return normalize_direction(mode)
    except ValueError as exc:
        raise PodiumError(str(exc)) from None


def _delta(value: float, champion: float) -> float:
    if math.isinf(value) and math.isinf(champion) and (value > 0) == (champion > 0):
        return 0.0  # the same infinity: no difference
    return value - champion


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


def _champion(extras: Extras, all_runs: pd.DataFrame, ui_base: str | None) -> ChampionInfo | None:
    v = extras.champion
    if v is None:
        return None
    run_name, metrics, url = None, {}, None
    frame = all_runs[all_runs["run_id"] == v.run_id] if v.run_id and len(all_runs) else None
    if (frame is None or not len(frame)) and extras.champion_run is not None:
        frame = extras.champion_run
    if v.run_id and frame is not None and len(frame):
        r = frame.iloc[0]
        run_name = _label(r)
        metrics = {visible(c): ranking.as_number(r[c]) for c in frame.columns if c.startswith("metrics.") and not _isnan(r[c])}
        url = _url(ui_base, r["experiment_id"], r["run_id"])
    return ChampionInfo(visible(v.model_name), visible(v.alias), visible(v.version), v.run_id, run_name, metrics, url)


def _charts(runs: pd.DataFrame, metric_col: str, mode: str, best_ids: list[str], refs: dict[str, str],
            all_runs: pd.DataFrame) -> list[ChartSpec]:
    from podium import charts
    from podium.analysis import metric_direction

    varying = varying_columns(runs, ("params.",))
    out = []
    axes = default_axes(runs, varying, metric_col)
    if len(axes) >= 2:
        result = charts.parallel_coordinates(runs, axes, color=metric_col, selected=best_ids, height=380,
                                             max_lines=MAX_CHART_LINES, reference=refs, reference_runs=all_runs)
        out.append(ChartSpec("parallel", "Parallel coordinates", _spec(result), [visible(n) for n in result.notes]))
    x, y = default_scatter(runs, metric_col, varying)
    if x and y and x != y:
        x_dir = metric_direction(x) if x.startswith("metrics.") else None
        pareto = (x_dir, mode) if x_dir else None
        # The point's label (the run name, else a short id) is already in every tooltip.
        result = charts.scatter(runs, x, y, color=metric_col, selected=best_ids, pareto=pareto,
                                height=360, reference=refs, reference_runs=all_runs)
        out.append(ChartSpec("scatter", "Scatter", _spec(result), [visible(n) for n in result.notes]))
    return out


def _spec(result) -> dict:
    """The chart's Vega-Lite spec, its data compacted (:func:`podium.report.chartdata.compact`).

    Each layer's frame is lifted out before Altair serialises the chart (Altair would turn every
    row into a dict, only for :mod:`~podium.report.chartdata` to undo it), and the spec is not
    validated again: :mod:`podium.charts` builds it with Altair's own classes.
    """
    import altair as alt

    chart = result.chart.copy(deep=False)
    frames: dict[int, tuple[str, pd.DataFrame]] = {}
    for view in [chart, *(getattr(chart, "layer", None) or [])]:
        data = getattr(view, "data", alt.Undefined)
        if isinstance(data, pd.DataFrame):
            name, _ = frames.setdefault(id(data), (f"data-{len(frames)}", data))
            view.data = alt.NamedData(name=name)
    spec = chart.to_dict(validate=False)
    spec["datasets"] = {name: frame for name, frame in frames.values()}
    # Reports are read at any width; let the chart fill its container.
    if "width" not in spec or isinstance(spec.get("width"), (int, float)):
        spec["width"] = "container"
    spec.pop("usermeta", None)
    return chartdata.compact(spec)


def _cards(best: pd.DataFrame, extras: Extras, ui_base: str | None) -> list[ReproCard]:
    cards = []
    for _, r in best.iterrows():
        run_id = str(r["run_id"])
        rec = extras.records.get(run_id)
        # The frame holds the run's tags; the record adds what the frame cannot (datasets, models).
        tags = {c.removeprefix("tags."): _text(r[c]) for c in best.columns if c.startswith("tags.") and _text(r[c]) is not None}
        tags.update(rec.tags if rec else {})
        params = {visible(c.removeprefix("params.")): _text(r[c]) for c in best.columns
                  if c.startswith("params.") and _text(r[c]) is not None}
        keys = sorted(params)
        shown = {k: params[k] for k in keys[:MAX_CARD_PARAMS]}
        datasets = [DatasetCard(visible(d.name), visible(d.digest), visible(d.context)) for d in (rec.datasets if rec else ())]
        models = []
        for m in rec.models if rec else ():
            models.append(ModelCard(
                name=visible(m.name), uri=visible(m.uri), load_code=f'mlflow.pyfunc.load_model("{visible(m.uri)}")',
                env_files=[f for f in store.ENV_FILES if f in m.files], files=[visible(f) for f in m.files],
                files_checked=m.files_checked))
        tagged = extras.tag_models.get(run_id)
        if not models and tagged is not None:
            # MLflow 2 names each logged model in the run's mlflow.log-model.history tag.
            uri = f"runs:/{run_id}/{visible(tagged.name)}"
            models.append(ModelCard(name=visible(tagged.name), uri=uri, load_code=f'mlflow.pyfunc.load_model("{uri}")',
                                    env_files=[], files=[], files_checked=False))
        unreadable = extras.unreadable.get(run_id)
        commit = tags.get("mlflow.source.git.commit")
        source = tags.get("mlflow.source.name")
        missing = []
        if not commit:
            missing.append("no code version recorded")
        if not source:
            missing.append("no source recorded")
        if not datasets and not unreadable:
            missing.append("no dataset logged")
        if not models and not unreadable:
            missing.append("no model logged")
        elif models and all(m.files_checked for m in models) and not any(m.env_files for m in models):
            missing.append("no environment file with the model")
        start = r["start_time"]
        cards.append(ReproCard(
            run_id=run_id, run_name=_label(r), experiment_name=_text(r["experiment_name"]) or "",
            params=shown, params_hidden=len(keys) - len(shown),
            git_commit=visible(commit) if commit else None, source_name=visible(source) if source else None,
            source_type=_text(tags.get("mlflow.source.type")), entry_point=_text(tags.get("mlflow.project.entryPoint")),
            user=_text(r["user"]), start_time=None if pd.isna(start) else start.to_pydatetime(),
            duration_s=None if _isnan(r["duration_s"]) else float(r["duration_s"]),
            datasets=datasets, models=models, missing=missing,
            url=_url(ui_base, r["experiment_id"], r["run_id"]),
            status=_text(r["status"]) or "", unreadable=unreadable,
        ))
    return cards


def _url(ui_base: str | None, experiment_id, run_id) -> str | None:
    if not ui_base or not _EXP_ID.match(str(experiment_id)) or not _RUN_ID.match(str(run_id)):
        return None
    return run_url(ui_base, str(experiment_id), str(run_id))


def _label(r) -> str:
    """A run's name, or the first 8 characters of its id when it has none (MLflow 1.x runs)."""
    name = _text(r.get("run_name"))
    return name if name and name.strip() else str(r["run_id"])[:8]


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return visible(value)


def _isnan(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
