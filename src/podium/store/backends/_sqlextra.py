"""Read-only queries over MLflow's tables beyond the runs frame: metric histories and summaries,
experiment tags, the Model Registry, MLflow 3's logged models and the schema's revision.

Same rules as :mod:`._tables`: read-only connections, SELECT only, every MLflow schema from 1.x
(a table an older schema lacks reads as empty). Values from users (names, keys) go in as bound
parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from podium.store.backends._tables import (
    _CHUNK,
    _has_table,
    NoStoreError,
    _meta,
    connected,
    latest_metrics,
    runs,
)

metrics = sa.Table(
    "metrics", _meta,
    sa.Column("run_uuid", sa.String), sa.Column("key", sa.String), sa.Column("value", sa.Float),
    sa.Column("timestamp", sa.BigInteger), sa.Column("step", sa.BigInteger), sa.Column("is_nan", sa.Boolean),
)
experiment_tags = sa.Table(
    "experiment_tags", _meta,
    sa.Column("experiment_id", sa.Integer), sa.Column("key", sa.String), sa.Column("value", sa.String),
)
registered_models = sa.Table(
    "registered_models", _meta, sa.Column("name", sa.String), sa.Column("creation_time", sa.BigInteger),
)
model_versions = sa.Table(
    "model_versions", _meta,
    sa.Column("name", sa.String), sa.Column("version", sa.Integer), sa.Column("creation_time", sa.BigInteger),
    sa.Column("current_stage", sa.String), sa.Column("source", sa.String), sa.Column("run_id", sa.String),
    sa.Column("status", sa.String),
)
model_version_tags = sa.Table(
    "model_version_tags", _meta,
    sa.Column("name", sa.String), sa.Column("version", sa.Integer), sa.Column("key", sa.String), sa.Column("value", sa.String),
)
registered_model_aliases = sa.Table(
    "registered_model_aliases", _meta,
    sa.Column("name", sa.String), sa.Column("alias", sa.String), sa.Column("version", sa.Integer),
)
logged_models = sa.Table(
    "logged_models", _meta,
    sa.Column("model_id", sa.String), sa.Column("experiment_id", sa.Integer), sa.Column("name", sa.String),
    sa.Column("artifact_location", sa.String), sa.Column("creation_timestamp_ms", sa.BigInteger),
    sa.Column("status", sa.Integer), sa.Column("source_run_id", sa.String), sa.Column("lifecycle_stage", sa.String),
)
alembic_version = sa.Table("alembic_version", _meta, sa.Column("version_num", sa.String))


def _by_chunks(conn, run_ids: list[str], statement) -> list:
    """Rows of ``statement(chunk)`` for every chunk of ``run_ids`` (an IN list stays below the
    databases' bound-parameter limits)."""
    rows = []
    for start in range(0, len(run_ids), _CHUNK):
        rows.extend(conn.execute(statement(list(run_ids[start:start + _CHUNK]))).all())
    return rows


def read_schema_revision(uri: str) -> str | None:
    """The database's alembic revision (None when it has none)."""
    try:
        with connected(uri) as conn:
            if not _has_table(conn, "alembic_version"):
                return None
            return conn.execute(sa.select(alembic_version.c.version_num)).scalar()
    except NoStoreError:
        return None


def mlflow_head_revision() -> str:
    """The newest schema revision of the installed MLflow (what its client migrates to)."""
    import os as _os

    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from mlflow.store import db as mlflow_db

    config = Config()
    config.set_main_option("script_location", _os.path.join(_os.path.dirname(mlflow_db.__file__), "..", "db_migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def read_metric_history(uri: str, run_ids: list[str], key: str) -> list[tuple]:
    """``(run_id, key, step, timestamp, value)`` of every logged value of ``key`` (NaN restored)."""
    if not run_ids:
        return []
    with connected(uri) as conn:
        rows = _by_chunks(conn, run_ids, lambda chunk: sa.select(
            metrics.c.run_uuid, metrics.c.key, metrics.c.step, metrics.c.timestamp, metrics.c.value, metrics.c.is_nan,
        ).where(metrics.c.run_uuid.in_(chunk), metrics.c.key == key))
    return [(r[0], r[1], int(r[2] or 0), r[3], float("nan") if r[5] else r[4]) for r in rows]


def read_metric_summaries(uri: str, run_ids: list[str], keys: list[str]) -> list[tuple]:
    """Per run and key: ``(run_id, key, min, min_step, max, max_step, n)`` over the history.

    One grouped query per chunk of runs (window functions rank each history by value); NaN
    values count in ``n`` but never as a minimum or maximum.
    """
    if not run_ids or not keys:
        return []
    out = []
    part = (metrics.c.run_uuid, metrics.c.key)
    with connected(uri) as conn:
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start:start + _CHUNK])
            ranked = (
                sa.select(
                    metrics.c.run_uuid, metrics.c.key, metrics.c.value, metrics.c.step, metrics.c.is_nan,
                    sa.func.row_number().over(partition_by=part, order_by=(metrics.c.is_nan.asc(), metrics.c.value.asc(), metrics.c.step.asc())).label("lo"),
                    sa.func.row_number().over(partition_by=part, order_by=(metrics.c.is_nan.asc(), metrics.c.value.desc(), metrics.c.step.asc())).label("hi"),
                    sa.func.count().over(partition_by=part).label("n"),
                )
                .where(metrics.c.run_uuid.in_(chunk), metrics.c.key.in_(list(keys)))
                .subquery()
            )
            rows = conn.execute(
                sa.select(ranked.c.run_uuid, ranked.c.key, ranked.c.value, ranked.c.step, ranked.c.is_nan, ranked.c.lo, ranked.c.hi, ranked.c.n)
                .where(sa.or_(ranked.c.lo == 1, ranked.c.hi == 1))
            ).all()
            found: dict[tuple, list] = {}
            for run_id, key, value, step, is_nan, lo, hi, n in rows:
                entry = found.setdefault((run_id, key), [np.nan, None, np.nan, None, int(n)])
                if is_nan:
                    continue  # only NaN logged
                if lo == 1:
                    entry[0], entry[1] = float(value), int(step or 0)
                if hi == 1:
                    entry[2], entry[3] = float(value), int(step or 0)
            out.extend((run_id, key, *entry) for (run_id, key), entry in found.items())
    return out


def read_latest_metrics(uri: str, run_ids: list[str], keys: list[str]) -> list[tuple]:
    """``(run_id, key, value)`` from MLflow's ``latest_metrics`` (what the UI shows as the value)."""
    if not run_ids or not keys:
        return []
    with connected(uri) as conn:
        rows = _by_chunks(conn, run_ids, lambda chunk: sa.select(
            latest_metrics.c.run_uuid, latest_metrics.c.key, latest_metrics.c.value, latest_metrics.c.is_nan,
        ).where(latest_metrics.c.run_uuid.in_(chunk), latest_metrics.c.key.in_(list(keys))))
    return [(r[0], r[1], float("nan") if r[3] else r[2]) for r in rows]


def read_experiment_tags(uri: str, experiment_id: str) -> dict[str, str]:
    with connected(uri) as conn:
        if not _has_table(conn, "experiment_tags"):
            return {}
        rows = conn.execute(
            sa.select(experiment_tags.c.key, experiment_tags.c.value).where(experiment_tags.c.experiment_id == int(experiment_id))
        ).all()
    return {k: v for k, v in rows}


def read_registered_models(uri: str, name: str | None = None) -> list[tuple[str, dict[str, int]]]:
    """``(name, {alias: version})`` of every registered model (or only ``name``), by name.

    Empty when the database has no registry tables (a tracking-only schema).
    """
    with connected(uri) as conn:
        if not _has_table(conn, "registered_models"):
            return []
        stmt = sa.select(registered_models.c.name).order_by(registered_models.c.name)
        if name is not None:
            stmt = stmt.where(registered_models.c.name == name)
        names = [r[0] for r in conn.execute(stmt).all()]
        aliases: dict[str, dict[str, int]] = {n: {} for n in names}
        if names and _has_table(conn, "registered_model_aliases"):
            stmt = sa.select(registered_model_aliases.c.name, registered_model_aliases.c.alias, registered_model_aliases.c.version)
            if name is not None:
                stmt = stmt.where(registered_model_aliases.c.name == name)
            for model, alias, version in conn.execute(stmt).all():
                if model in aliases:
                    aliases[model][alias] = int(version)
    return [(n, aliases[n]) for n in names]


def read_model_versions(uri: str, name: str, version: int | None = None) -> list[dict[str, Any]]:
    """Versions of registered model ``name`` (or one): dicts with ``version, run_id, source,
    status, stage, created`` (ms) and ``tags``."""
    with connected(uri) as conn:
        if not _has_table(conn, "model_versions"):
            return []
        stmt = sa.select(
            model_versions.c.version, model_versions.c.run_id, model_versions.c.source, model_versions.c.status,
            model_versions.c.current_stage, model_versions.c.creation_time,
        ).where(model_versions.c.name == name)
        tag_stmt = sa.select(model_version_tags.c.version, model_version_tags.c.key, model_version_tags.c.value).where(
            model_version_tags.c.name == name)
        if version is not None:
            stmt = stmt.where(model_versions.c.version == int(version))
            tag_stmt = tag_stmt.where(model_version_tags.c.version == int(version))
        rows = conn.execute(stmt).all()
        tags: dict[int, dict[str, str]] = {}
        if _has_table(conn, "model_version_tags"):
            for v, key, value in conn.execute(tag_stmt).all():
                tags.setdefault(int(v), {})[key] = value
    return [
        {"version": int(r[0]), "run_id": r[1] or None, "source": r[2] or "", "status": r[3] or "READY",
         "stage": r[4] or "None", "created": r[5], "tags": tags.get(int(r[0]), {})}
        for r in rows
    ]


# MLflow's LoggedModelStatus.from_int, without importing MLflow for it.
_LOGGED_MODEL_STATUS = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}


def read_logged_models(uri: str, experiment_ids: list[str] | None = None, model_id: str | None = None) -> list[dict[str, Any]]:
    """MLflow 3 logged models (none before 3.0): dicts with ``model_id, name, source_run_id,
    status`` (READY, PENDING, FAILED), ``created`` (ms) and ``artifact_location``."""
    with connected(uri) as conn:
        if not _has_table(conn, "logged_models"):
            return []
        stmt = sa.select(
            logged_models.c.model_id, logged_models.c.name, logged_models.c.source_run_id, logged_models.c.status,
            logged_models.c.creation_timestamp_ms, logged_models.c.artifact_location,
        ).where(logged_models.c.lifecycle_stage == "active")
        if experiment_ids is not None:
            stmt = stmt.where(logged_models.c.experiment_id.in_([int(e) for e in experiment_ids]))
        if model_id is not None:
            stmt = stmt.where(logged_models.c.model_id == model_id)
        rows = conn.execute(stmt.order_by(logged_models.c.creation_timestamp_ms, logged_models.c.model_id)).all()
    return [
        {"model_id": r[0], "name": r[1], "source_run_id": r[2], "status": _LOGGED_MODEL_STATUS.get(int(r[3]), "UNSPECIFIED"),
         "created": r[4], "artifact_location": r[5]}
        for r in rows
    ]


def read_run_infos(uri: str, run_ids: list[str]) -> dict[str, tuple[str, str]]:
    """``{run_id: (experiment_id, artifact_uri)}`` for the runs that exist (any lifecycle)."""
    if not run_ids:
        return {}
    with connected(uri) as conn:
        rows = _by_chunks(conn, run_ids, lambda chunk: sa.select(
            runs.c.run_uuid, runs.c.experiment_id, runs.c.artifact_uri).where(runs.c.run_uuid.in_(chunk)))
    return {rid: (str(exp), art) for rid, exp, art in rows}
