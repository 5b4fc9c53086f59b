"""The protocol every backend follows, with the defaults that work on top of its primitives."""

from __future__ import annotations

import math

import pandas as pd

from podium.store._connect import Target, translated
from podium.store.frame import Progress
from podium.store.records import DatasetRef, Experiment, LoggedModel, RegisteredModel


class Backend:
    """Reads (never a write) and the few confirmed writes, for one store.

    Every method raises :class:`~podium.errors.PodiumError` kinds only (see ``_connect``).
    """

    kind = "?"

    def __init__(self, t: Target) -> None:
        self.t = t
        self.uri = t.uri

    def errors(self):
        """A context that turns any driver, HTTP or MLflow error into a PodiumError."""
        return translated(self.uri)

    # --- experiments and runs
    def experiments(self, include_deleted: bool) -> list[Experiment]:
        raise NotImplementedError

    def experiment_names(self) -> list[tuple[str, str]]:
        """``(id, name)`` of every experiment, deleted ones included (cheap)."""
        raise NotImplementedError

    def search(self, names: dict[str, str], filter_string: str, include_deleted: bool,
               progress: Progress | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def changed_runs(self, names, previous, filter_string, include_deleted):
        """``(fresh rows, run ids to replace)`` for an incremental refresh; None: load in full."""
        return None

    def runs_by_id(self, run_ids: list[str]) -> pd.DataFrame:
        """The runs frame of ``run_ids`` (any experiment), in the order given; missing skipped."""
        raise NotImplementedError

    # --- metric histories
    def metric_history(self, run_ids: list[str], key: str) -> list[tuple]:
        """``(run_id, key, step, timestamp_ms, value)`` of every logged value."""
        raise NotImplementedError

    def metric_summaries(self, run_ids: list[str], keys: list[str]) -> list[tuple]:
        """``(run_id, key, min, min_step, max, max_step, n, last)`` per run and logged key."""
        out = []
        for key in keys:
            per_run: dict[str, list] = {}
            for run_id, _k, step, stamp, value in self.metric_history(run_ids, key):
                per_run.setdefault(run_id, []).append((step, stamp, value))
            for run_id, points in per_run.items():
                out.append((run_id, key, *summarise(points)))
        return out

    # --- what a report or a promotion needs beyond the frame
    def datasets(self, run_ids: list[str]) -> dict[str, tuple[DatasetRef, ...]]:
        return {}

    def logged_models(self, experiment_ids: list[str] | None = None, model_id: str | None = None) -> list[LoggedModel]:
        return []

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[tuple[str, bool]]:
        """``(path, is_dir)`` in a run's artifacts ([] when out of reach)."""
        return []

    def model_files(self, model: LoggedModel) -> tuple[str, ...]:
        return ()

    def registered_models(self, name: str | None = None) -> list[RegisteredModel]:
        raise NotImplementedError

    def model_versions(self, name: str, version: int | None = None) -> list[dict]:
        """Dicts with ``version, run_id, source, status, stage, created, tags``."""
        raise NotImplementedError

    def experiment_tags(self, experiment_id: str) -> dict[str, str]:
        raise NotImplementedError

    # --- confirmed writes
    def create_registered_model(self, name: str) -> None:
        raise NotImplementedError

    def create_model_version(self, name: str, source: str, run_id: str, model_id: str | None) -> int:
        raise NotImplementedError

    def set_alias(self, name: str, alias: str, version: int) -> None:
        raise NotImplementedError

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        raise NotImplementedError

    def log_run_files(self, experiment_id: str, files: list[tuple[str, str]], run_name: str, tags: dict[str, str]) -> str:
        raise NotImplementedError

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        raise NotImplementedError

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        raise NotImplementedError


def summarise(points: list[tuple]) -> tuple:
    """``(min, min_step, max, max_step, n, last)`` of ``(step, timestamp, value)`` points.

    ``last`` is MLflow's latest value: highest step, then latest timestamp, then largest value.
    NaN counts in ``n`` and may be ``last``, never the minimum or maximum.
    """
    real = [(v, s) for s, _t, v in points if not (isinstance(v, float) and math.isnan(v))]
    lo = min(real, key=lambda p: (p[0], p[1])) if real else (math.nan, None)
    hi = min(real, key=lambda p: (-p[0], p[1])) if real else (math.nan, None)
    last = max(points, key=lambda p: (p[0], p[1] or 0, -math.inf if p[2] != p[2] else p[2]))[2]
    return lo[0], lo[1], hi[0], hi[1], len(points), last
