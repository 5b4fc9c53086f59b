"""Database stores (SQLite, PostgreSQL, MySQL/MariaDB): MLflow's own tables, read-only.

Every read goes through :mod:`._tables` (SQLite ``mode=ro``, read-only transactions on the
servers, SELECT only), for every MLflow schema from 1.x on; MLflow's client never opens the
database for a read, so it can neither create nor migrate tables. Confirmed writes go through
MLflow's client (:class:`~.client.ClientWrites`), which refuses a schema older than the
installed MLflow's instead of upgrading it.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from podium.config import uri_scheme
from podium.errors import NotFoundError, StoreError
from podium.store.backends import _sqlextra, _tables
from podium.store.backends.base import Backend
from podium.store.backends.client import ClientWrites, artifact_listing
from podium.store.frame import (
    Progress,
    empty_runs_frame,
    finish_frame,
    newest,
    start_ms,
    with_backend,
    with_nan_record,
)
from podium.store.refresh import CLOCK_SLACK_MS, LIVE_STATUSES, plain_id
from podium.store.records import DatasetRef, Experiment, LoggedModel, RegisteredModel, last_activity, newest_first

# Above this many runs to re-read (or half the runs), one full load is the cheaper read.
MAX_INCREMENTAL = 5000


class SqlBackend(ClientWrites, Backend):
    kind = "database"

    def _no_store(self) -> StoreError:
        return StoreError(
            f"No MLflow store at {self.t.shown}: the database does not exist or has no MLflow tables. "
            "Podium never creates one; check the URI.",
            self.t.shown,
        )

    @contextlib.contextmanager
    def errors(self):
        try:
            with super().errors():
                yield
        except _tables.NoStoreError:
            raise self._no_store() from None

    def exists(self) -> bool:
        with self.errors():
            try:
                _tables.read_experiment_names(self.uri)
            except _tables.NoStoreError:
                return False
        return True

    def experiments(self, include_deleted: bool) -> list[Experiment]:
        with self.errors():
            rows = _tables.read_experiments(self.uri, include_deleted)
        return newest_first([
            Experiment(r["id"], r["name"], r["run_count"], last_activity(r["last_start"], r["last_update_time"], r["creation_time"]),
                       r["lifecycle_stage"])
            for r in rows
        ])

    def experiment_names(self) -> list[tuple[str, str]]:
        with self.errors():
            return _tables.read_experiment_names(self.uri)

    def search(self, names, filter_string, include_deleted, progress: Progress | None = None, run_ids=None) -> pd.DataFrame:
        """The runs frame from MLflow's tables; only ``run_ids`` when given (an incremental refresh)."""
        from podium import search

        on_count = None if progress is None else (lambda n: progress(0, n))
        with self.errors():
            result = _tables.read_runs(self.uri, list(names), include_deleted, run_ids=run_ids, on_count=on_count)
        columns, nan_runs = result
        if not columns:
            return with_backend(empty_runs_frame(), self.uri)
        df = with_backend(with_nan_record(finish_frame(pd.DataFrame(_frame_columns(columns, names))), nan_runs), self.uri)
        if search.parse_filter(filter_string):
            datasets = None
            if search.needs_datasets(filter_string):
                with self.errors():
                    datasets = _tables.read_datasets(self.uri, list(df["run_id"]))
            df = search.filter_frame(df, filter_string, dialect=uri_scheme(self.uri), datasets=datasets)
            if df.empty:
                return with_backend(empty_runs_frame(), self.uri)
        return df

    def changed_runs(self, names, previous, filter_string, include_deleted):
        from podium import search

        with self.errors():
            states = _tables.read_run_states(self.uri, list(names), include_deleted)
        if not states:
            return None
        filtered = bool(search.parse_filter(filter_string))
        end_ms = start_ms(previous, "end_time").tolist()
        before = {
            rid: (status, None if end != end else int(end))
            for rid, status, end in zip(previous["run_id"].tolist(), previous["status"].tolist(), end_ms)
        }
        newest_start, newest_stamp = newest(previous)
        since = newest_stamp - CLOCK_SLACK_MS
        current, reread = set(), []
        for rid, status, start, end in states:
            current.add(rid)
            old = before.get(rid)
            if old is not None:
                if old[0] in LIVE_STATUSES or old != (status, end):
                    reread.append(rid)
            elif (
                not filtered or status in LIVE_STATUSES or start is None
                or start >= newest_start or (end is not None and end >= since)
            ):
                reread.append(rid)
        gone = {rid for rid in before if rid not in current}
        if len(reread) > MAX_INCREMENTAL or (len(reread) > 100 and 2 * len(reread) > len(states)):
            return None
        if not reread:
            return empty_runs_frame(), gone
        try:
            fresh = self.search(names, filter_string, include_deleted, run_ids=reread)
        except ValueError:  # a run id MLflow would not make: read everything instead
            return None
        return fresh, gone | set(reread)

    def runs_by_id(self, run_ids: list[str]) -> pd.DataFrame:
        with self.errors():
            infos = _sqlextra.read_run_infos(self.uri, [r for r in run_ids if plain_id(r)])
        if not infos:
            return empty_runs_frame()
        names = dict(self.experiment_names())
        exp_names = {e: names.get(e) for e, _a in infos.values()}
        df = self.search(exp_names, "", True, run_ids=list(infos))
        order = {rid: i for i, rid in enumerate(run_ids)}
        return df.iloc[sorted(range(len(df)), key=lambda i: order[df["run_id"].iat[i]])].reset_index(drop=True)

    def metric_history(self, run_ids, key):
        with self.errors():
            return _sqlextra.read_metric_history(self.uri, list(run_ids), key)

    def metric_summaries(self, run_ids, keys):
        with self.errors():
            rows = _sqlextra.read_metric_summaries(self.uri, list(run_ids), list(keys))
            last = {(r, k): v for r, k, v in _sqlextra.read_latest_metrics(self.uri, list(run_ids), list(keys))}
        return [(*row, last.get((row[0], row[1]), np.nan)) for row in rows]

    def datasets(self, run_ids):
        with self.errors():
            frame = _tables.read_datasets(self.uri, list(run_ids))
        out: dict[str, list] = {}
        for run_id, name, digest, context in frame.itertuples(index=False):
            out.setdefault(run_id, []).append(DatasetRef(name, digest, context or "", ""))
        return {k: tuple(v) for k, v in out.items()}

    def logged_models(self, experiment_ids=None, model_id=None) -> list[LoggedModel]:
        with self.errors():
            rows = _sqlextra.read_logged_models(self.uri, experiment_ids, model_id)
        return [LoggedModel(r["model_id"], r["name"], r["source_run_id"], r["status"], r["created"], r["artifact_location"]) for r in rows]

    def list_artifacts(self, run_id, path=None):
        with self.errors():
            info = _sqlextra.read_run_infos(self.uri, [run_id]) if plain_id(run_id) else {}
        return artifact_listing(info[run_id][1], path) if run_id in info and info[run_id][1] else []

    def model_files(self, model: LoggedModel) -> tuple[str, ...]:
        if not model.artifact_location:
            return ()
        return tuple(sorted(p.rsplit("/", 1)[-1] for p, _d in artifact_listing(model.artifact_location)))

    def registered_models(self, name=None) -> list[RegisteredModel]:
        with self.errors():
            return [RegisteredModel(n, a) for n, a in _sqlextra.read_registered_models(self.uri, name)]

    def model_versions(self, name, version=None):
        with self.errors():
            return _sqlextra.read_model_versions(self.uri, name, version)

    def experiment_tags(self, experiment_id):
        if not str(experiment_id).isdigit():
            raise NotFoundError(f"No experiment with id {experiment_id!r}.")
        with self.errors():
            return _sqlextra.read_experiment_tags(self.uri, experiment_id)


def _frame_columns(columns: dict, names: dict[str, str]) -> dict:
    """The frame's columns from :func:`_tables.read_runs`' arrays, as ``SqlRun.to_mlflow_entity`` makes runs."""
    user_id = columns.pop("user_id")
    user_tag = columns.get("tags.mlflow.user")
    user = user_id.copy()
    empty_user = np.array([not u for u in user_id], dtype=bool)
    # Same as runs_to_frame: the user_id column, else the mlflow.user tag.
    user[empty_user] = user_tag[empty_user] if user_tag is not None else None
    run_name = columns["run_name"]
    name_tag = columns.get("tags.mlflow.runName")
    if name_tag is not None:
        # An empty name falls back to the mlflow.runName tag.
        empty = np.array([not v for v in run_name], dtype=bool)
        run_name[empty] = name_tag[empty]
    frame = {
        "run_id": columns.pop("run_id"),
        "run_name": columns.pop("run_name"),
        "experiment_id": columns["experiment_id"],
        "experiment_name": np.array([names.get(e) for e in columns.pop("experiment_id")], dtype=object),
        "status": columns.pop("status"),
        "start_time": columns.pop("start_time"),
        "end_time": columns.pop("end_time"),
        "duration_s": None,
        "user": user,
        "user_id": user_id,
        "artifact_uri": columns.pop("artifact_uri"),
    }
    frame.update(columns)
    return frame
