"""The report's reads from the store: the runs (one load), then the few records a report adds.

Everything else a report does works on frames already loaded (:mod:`podium.report.build`), so
the Report page reads the store only when the experiments change or the top runs do, and never
because a title, author or summary was edited.

A report never fails because one run cannot be read (a committed ``mlruns/`` folder lacks the
empty ``artifacts/`` folders git drops; a remote artifact store is out of reach): that run's
card says what could not be read, and the rest of the report is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from podium import ranking, search, store
from podium.config import redact_uri
from podium.errors import NotFoundError, PodiumError
from podium.filters import RunFilter


@dataclass(frozen=True)
class ReportQuery:
    """What a report is about: everything but its words (title, author, summary).

    Hashable, so a page can key its caches on it.
    """

    metric: str  # "metrics.<key>" (a bare key is accepted and prefixed)
    mode: str = "max"
    top: int = 5
    filter_string: str = ""
    run_ids: tuple[str, ...] | None = None  # only these runs (e.g. chosen on the Compare page)
    model_name: str | None = None
    alias: str = "champion"
    ui_url: str | None = None
    charts: bool = True

    def __post_init__(self):
        if not self.metric.startswith("metrics."):
            object.__setattr__(self, "metric", f"metrics.{self.metric}")
        object.__setattr__(self, "filter_string", (self.filter_string or "").strip())
        if self.run_ids is not None:
            object.__setattr__(self, "run_ids", tuple(self.run_ids))
        if self.top < 1:
            raise PodiumError(f"--top must be at least 1, not {self.top}.")


@dataclass
class Extras:
    """What a report reads beyond the runs frame: the champion and the top runs' records."""

    champion: store.AliasedVersion | None = None
    champion_run: pd.DataFrame | None = None  # its row, when it is outside the loaded runs
    records: dict[str, store.RunRecord] = field(default_factory=dict)
    tag_models: dict[str, store.RunModel] = field(default_factory=dict)  # from mlflow.log-model.history
    unreadable: dict[str, str] = field(default_factory=dict)  # run id -> why its records could not be read
    notes: list[str] = field(default_factory=list)


def reason(exc: BaseException) -> str:
    """One line about ``exc`` for a reader: its first line, without any password."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact_uri(text)[:300]


def select_runs(tracking_uri: str, experiments: list[str], all_runs: pd.DataFrame, filter_string: str = "",
                run_ids=None) -> pd.DataFrame:
    """The runs a report covers: ``all_runs`` filtered in memory (MLflow's grammar), then restricted
    to ``run_ids`` when given. Columns are kept as in ``all_runs``.

    Only a filter on ``datasets.*`` reads the store (the runs' dataset inputs are not in the frame).

    Raises:
        FilterError: the filter is invalid (MLflow's own message).
    """
    run_filter = RunFilter(filter_string=filter_string or "")
    run_filter.validate()
    if not filter_string.strip():
        runs = all_runs.reset_index(drop=True)
    elif search.needs_datasets(filter_string):
        matched = store.load_runs(tracking_uri, experiments, filter_string)
        runs = all_runs[all_runs["run_id"].isin(set(matched["run_id"]))].reset_index(drop=True)
    else:
        runs = run_filter.apply(all_runs)
    if run_ids:
        runs = runs[runs["run_id"].isin(list(run_ids))].reset_index(drop=True)
    return runs


def top_runs(runs: pd.DataFrame, query: ReportQuery) -> pd.DataFrame:
    """The leaderboard's runs, best first (:func:`podium.ranking.rank_runs`)."""
    return ranking.rank_runs(runs, query.metric, query.mode).head(query.top)


def read_extras(tracking_uri: str, all_runs: pd.DataFrame, best: pd.DataFrame, query: ReportQuery) -> Extras:
    """The champion behind ``query.alias`` and the records of the ``best`` runs.

    Raises:
        NotFoundError: ``query.model_name`` names no registered model.
    """
    extras = Extras()
    _read_champion(tracking_uri, all_runs, query, extras)
    ids = [str(r) for r in best["run_id"]] if len(best) else []
    if ids:
        _read_records(tracking_uri, ids, extras)
        try:
            extras.tag_models = store.run_models(tracking_uri, [], best)
        except Exception as exc:  # the tag is a convenience; its absence must not cost the report
            extras.notes.append(f"Models named by the runs' mlflow.log-model.history tag could not be read ({reason(exc)}).")
    return extras


def _read_champion(uri: str, all_runs: pd.DataFrame, query: ReportQuery, extras: Extras) -> None:
    try:
        versions = store.champion_versions(uri, query.alias, query.model_name)
    except NotFoundError:
        raise
    except Exception as exc:  # a registry that cannot be read must not cost the report
        extras.notes.append(f"The model registry could not be read, so no champion is shown ({reason(exc)}).")
        return
    if not query.model_name:
        # Without a model name, the champion is one whose run belongs to the report's experiments.
        known = set(all_runs["run_id"]) if len(all_runs) else set()
        versions = [v for v in versions if v.run_id in known]
    if not versions:
        return
    extras.champion = versions[0]
    run_id = versions[0].run_id
    if run_id and (not len(all_runs) or run_id not in set(all_runs["run_id"])):
        try:
            extras.champion_run = store.get_runs(uri, [run_id])
        except Exception as exc:
            extras.notes.append(f"The champion's run {run_id} could not be read ({reason(exc)}).")


def _read_records(uri: str, ids: list[str], extras: Extras) -> None:
    try:
        extras.records = store.run_records(uri, ids)
    except Exception:  # one unreadable run can fail the whole batch: read them one by one to find it
        for run_id in ids:
            try:
                extras.records.update(store.run_records(uri, [run_id]))
            except Exception as exc:
                extras.unreadable[run_id] = reason(exc)
    for run_id in ids:  # a run the store leaves out could not be read either
        if run_id not in extras.records and run_id not in extras.unreadable:
            extras.unreadable[run_id] = "MLflow has no readable record of this run"


def experiment_names(tracking_uri: str, experiments: list[str]) -> dict[str, str]:
    """``{experiment id: name}`` of ``experiments`` (names or ids).

    Raises:
        NotFoundError: an experiment does not exist.
    """
    return store.resolve_experiments(tracking_uri, experiments)
