"""Read-only queries over MLflow's own database tables (private to :mod:`podium.store.backends.sql`).

This module is part of the store boundary: it reads MLflow's tables (``experiments``, ``runs``,
``params``, ``latest_metrics``, ``tags``, ``inputs``/``datasets``/``input_tags``) directly with
SQLAlchemy Core, in a few set-based queries, instead of building one MLflow ``Run`` object per
run. Only the SQL backend imports it; nothing else may.

It never writes. MLflow's ``SqlAlchemyStore`` creates a missing SQLite file and creates or
migrates tables on an empty database; this module does neither: a SQLite file is opened in
SQLite's read-only mode (``mode=ro``), PostgreSQL and MySQL connections open every transaction
read-only, a missing file or a database without MLflow's tables is reported as
:data:`NO_STORE`, and only ``SELECT`` statements are sent. Schemas of every MLflow generation
(1.x to 3.x) are read: a column or table an older schema lacks reads as missing.

Values come out exactly as MLflow's ``SqlRun.to_mlflow_entity`` makes them: a NaN metric
(stored as ``value=0, is_nan=1``) becomes NaN, ``experiment_id`` a string, an empty run name
falls back to the ``mlflow.runName`` tag.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import sqlalchemy as sa

# Returned instead of rows when the URI names no MLflow store (missing file, no MLflow tables).
NO_STORE = None

_engines: dict[str, sa.engine.Engine] = {}
_engines_lock = threading.Lock()
_meta = sa.MetaData()

experiments = sa.Table(
    "experiments", _meta,
    sa.Column("experiment_id", sa.Integer), sa.Column("name", sa.String),
    sa.Column("lifecycle_stage", sa.String), sa.Column("creation_time", sa.BigInteger),
    sa.Column("last_update_time", sa.BigInteger),
)
runs = sa.Table(
    "runs", _meta,
    sa.Column("run_uuid", sa.String), sa.Column("name", sa.String), sa.Column("experiment_id", sa.Integer),
    sa.Column("user_id", sa.String), sa.Column("status", sa.String), sa.Column("start_time", sa.BigInteger),
    sa.Column("end_time", sa.BigInteger), sa.Column("artifact_uri", sa.String),
    sa.Column("lifecycle_stage", sa.String),
)
params = sa.Table("params", _meta, sa.Column("run_uuid", sa.String), sa.Column("key", sa.String), sa.Column("value", sa.String))
tags = sa.Table("tags", _meta, sa.Column("run_uuid", sa.String), sa.Column("key", sa.String), sa.Column("value", sa.String))
latest_metrics = sa.Table(
    "latest_metrics", _meta,
    sa.Column("run_uuid", sa.String), sa.Column("key", sa.String), sa.Column("value", sa.Float),
    sa.Column("is_nan", sa.Boolean),
)
datasets = sa.Table(
    "datasets", _meta,
    sa.Column("dataset_uuid", sa.String), sa.Column("name", sa.String), sa.Column("digest", sa.String),
)
inputs = sa.Table(
    "inputs", _meta,
    sa.Column("input_uuid", sa.String), sa.Column("source_id", sa.String), sa.Column("destination_id", sa.String),
)
input_tags = sa.Table(
    "input_tags", _meta,
    sa.Column("input_uuid", sa.String), sa.Column("name", sa.String), sa.Column("value", sa.String),
)

# A SQLite IN list must stay below its bound-parameter limit.
_CHUNK = 500


def _sqlite_path(uri: str) -> str | None:
    """The file path of a ``sqlite:///`` URI; None for in-memory databases."""
    rest = uri.split(":///", 1)[1] if ":///" in uri else ""
    path = unquote(rest.split("?", 1)[0])
    if not path or path == ":memory:":
        return None
    return path


def engine(uri: str) -> sa.engine.Engine | None:
    """A cached read-only engine for ``uri``; None when a SQLite file does not exist.

    The engine (a connection pool) is cached per URI; results never are.
    """
    with _engines_lock:
        cached = _engines.get(uri)
        if cached is not None:
            return cached
        if uri.lower().startswith("sqlite"):
            path = _sqlite_path(uri)
            if path is None or not os.path.isfile(path):
                return NO_STORE
            # SQLite's own read-only mode: it cannot create the file or write to it.
            url = "sqlite:///file:" + os.path.abspath(path).replace("?", "%3f").replace("#", "%23") + "?mode=ro&uri=true"
            eng = sa.create_engine(url)
        else:
            # Fail in seconds, not minutes, when the server is down.
            # Every transaction read-only at the server too: not one byte of a team's store
            # can change through this engine, whatever statement reaches it.
            scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
            connect_args: dict[str, Any] = {}
            if scheme == "postgresql":
                connect_args = {"connect_timeout": 10, "options": "-c default_transaction_read_only=on"}
            elif scheme == "mysql":
                connect_args = {"connect_timeout": 10, "init_command": "SET SESSION TRANSACTION READ ONLY"}
            eng = sa.create_engine(uri, pool_pre_ping=True, connect_args=connect_args)
        _engines[uri] = eng
        return eng


def has_mlflow_tables(conn: sa.Connection) -> bool:
    """True when the database holds MLflow's tracking tables."""
    return _has_table(conn, "experiments") and _has_table(conn, "runs")


# Which tables and columns a database's MLflow schema has, per engine (schemas change only by a
# migration, which a restart of the app follows).
_schema: dict[tuple[int, str], frozenset[str] | None] = {}


def _table_columns(conn: sa.Connection, table: str) -> frozenset[str] | None:
    key = (id(conn.engine), table)
    if key not in _schema:
        inspector = sa.inspect(conn)
        _schema[key] = frozenset(c["name"] for c in inspector.get_columns(table)) if inspector.has_table(table) else None
    return _schema[key]


def _has_table(conn: sa.Connection, table: str) -> bool:
    return _table_columns(conn, table) is not None


def _column(conn: sa.Connection, table: sa.Table, name: str):
    """``table.c.name``, or NULL where an older schema lacks the column (MLflow 1.x experiments
    have no creation or update times)."""
    columns = _table_columns(conn, table.name) or frozenset()
    return table.c[name] if name in columns else sa.null().label(name)


def _experiment_order(conn: sa.Connection) -> list:
    # search_experiments' default order: newest created first, then id.
    if "creation_time" in (_table_columns(conn, "experiments") or ()):
        return [experiments.c.creation_time.desc(), experiments.c.experiment_id.asc()]
    return [experiments.c.experiment_id.asc()]


def _stages(include_deleted: bool) -> list[str]:
    return ["active", "deleted"] if include_deleted else ["active"]


def read_experiment_names(uri: str) -> list[tuple[str, str]] | None:
    """``(id, name)`` of every experiment, deleted ones included, in MLflow's order."""
    eng = engine(uri)
    if eng is None:
        return NO_STORE
    with eng.connect() as conn:
        if not has_mlflow_tables(conn):
            return NO_STORE
        rows = conn.execute(
            sa.select(experiments.c.experiment_id, experiments.c.name).order_by(*_experiment_order(conn))
        ).all()
    return [(str(r[0]), r[1]) for r in rows]


def read_experiments(uri: str, include_deleted: bool) -> list[dict[str, Any]] | None:
    """Experiments with their active-run count and latest run start, in MLflow's order.

    Returns:
        Dicts with ``id, name, lifecycle_stage, creation_time, last_update_time, run_count,
        last_start``; :data:`NO_STORE` when ``uri`` holds no MLflow store.
    """
    eng = engine(uri)
    if eng is None:
        return NO_STORE
    with eng.connect() as conn:
        if not has_mlflow_tables(conn):
            return NO_STORE
        counts = (
            sa.select(runs.c.experiment_id, sa.func.count().label("n"), sa.func.max(runs.c.start_time).label("last"))
            .where(runs.c.lifecycle_stage == "active")
            .group_by(runs.c.experiment_id)
            .subquery()
        )
        stmt = (
            sa.select(
                experiments.c.experiment_id, experiments.c.name, experiments.c.lifecycle_stage,
                _column(conn, experiments, "creation_time"), _column(conn, experiments, "last_update_time"),
                counts.c.n, counts.c.last,
            )
            .select_from(experiments.outerjoin(counts, counts.c.experiment_id == experiments.c.experiment_id))
            .where(experiments.c.lifecycle_stage.in_(_stages(include_deleted)))
            .order_by(*_experiment_order(conn))
        )
        rows = conn.execute(stmt).all()
    return [
        {
            "id": str(r[0]), "name": r[1], "lifecycle_stage": r[2], "creation_time": r[3],
            "last_update_time": r[4], "run_count": int(r[5] or 0), "last_start": r[6],
        }
        for r in rows
    ]


def read_run_states(uri: str, experiment_ids: list[str], include_deleted: bool) -> list[tuple] | None:
    """``(run_uuid, status, start_time, end_time)`` of every run of ``experiment_ids``.

    One read of the ``runs`` table alone (no params, metrics or tags): what an incremental
    refresh compares with the frame it already has. :data:`NO_STORE` when ``uri`` holds no store.
    """
    eng = engine(uri)
    if eng is None:
        return NO_STORE
    with eng.connect() as conn:
        if not has_mlflow_tables(conn):
            return NO_STORE
        return _fetch(conn, sa.select(runs.c.run_uuid, runs.c.status, runs.c.start_time, runs.c.end_time).where(
            _runs_where([int(e) for e in experiment_ids], include_deleted)))


def _runs_where(exp_ids: list[int], include_deleted: bool, run_ids: list[str] | None = None):
    where = sa.and_(runs.c.experiment_id.in_(exp_ids), runs.c.lifecycle_stage.in_(_stages(include_deleted)))
    if run_ids is not None:
        unsafe = [r for r in run_ids if not r or not set(r) <= _ID_CHARS]
        if unsafe:
            # Statements are sent with literal binds (see _fetch): only plain ids may go in.
            raise ValueError(f"unexpected run id {unsafe[0]!r}")
        where = sa.and_(where, runs.c.run_uuid.in_(list(run_ids)))
    return where


# Characters of the run ids MLflow makes (uuid4 hex); only these go into an IN list.
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def read_runs(
    uri: str,
    experiment_ids: list[str],
    include_deleted: bool,
    run_ids: list[str] | None = None,
    on_count=None,
) -> tuple[dict[str, Any], dict[str, list[str]]] | None:
    """The runs of ``experiment_ids`` as columns for a runs frame.

    Args:
        run_ids: Read only these runs (an incremental refresh); ids must be plain (letters,
            digits, ``-``, ``_``), else ValueError.
        on_count: Called with the number of runs once it is known, before the slower reads.

    Returns:
        ``(columns, nan_runs)``: ``columns`` maps ``run_id, run_name, experiment_id, status,
        start_time, end_time, user_id, artifact_uri`` and every ``metrics.*``/``params.*``/
        ``tags.*`` to an array (NaN for a missing metric, None for a missing param or tag);
        ``nan_runs`` maps a metrics column to the runs that logged NaN for it.
        :data:`NO_STORE` when ``uri`` holds no MLflow store.
    """
    eng = engine(uri)
    if eng is None:
        return NO_STORE
    where = _runs_where([int(e) for e in experiment_ids], include_deleted, run_ids)
    with eng.connect() as conn:
        if not has_mlflow_tables(conn):
            return NO_STORE
        info = _fetch(conn, sa.select(
            runs.c.run_uuid, runs.c.name, runs.c.experiment_id, runs.c.user_id, runs.c.status,
            runs.c.start_time, runs.c.end_time, runs.c.artifact_uri,
        ).where(where))
        if not info:
            return {}, {}
        info_cols = list(zip(*info))
        run_ids = pd.Index(info_cols[0], dtype=object)
        n = len(run_ids)
        out: dict[str, Any] = {
            "run_id": run_ids.to_numpy(dtype=object),
            "run_name": np.array(info_cols[1], dtype=object),
            "experiment_id": np.array([str(e) for e in info_cols[2]], dtype=object),
            "status": np.array(info_cols[4], dtype=object),
            "start_time": np.array(info_cols[5], dtype=object),
            "end_time": np.array(info_cols[6], dtype=object),
            "user_id": np.array(info_cols[3], dtype=object),
            "artifact_uri": np.array(info_cols[7], dtype=object),
        }
    if on_count is not None:
        on_count(n)

    def on_own_connection(task):
        # The three reads run in parallel, each on its own pooled connection: the drivers
        # release the GIL while the database works.
        with eng.connect() as c:
            return task(c)

    nan_runs: dict[str, list[str]] = {}
    tasks = [
        lambda c: _read_strings(c, params, where, run_ids, "params."),
        lambda c: _read_strings(c, tags, where, run_ids, "tags."),
        lambda c: _pivot_metrics(
            _fetch(c, _joined(latest_metrics, where, latest_metrics.c.value, latest_metrics.c.is_nan)), run_ids, n, nan_runs
        ),
    ]
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        for part in pool.map(on_own_connection, tasks):
            out.update(part)
    return out, nan_runs


def _fetch(conn: sa.Connection, stmt) -> list[tuple]:
    """Rows as plain tuples from the DBAPI cursor (SQLAlchemy's Row objects cost ~40% more).

    Statements are built here from integers and constants only, so literal binds are safe.
    """
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _joined(table: sa.Table, where, *cols):
    return (
        sa.select(table.c.run_uuid, table.c.key, *cols)
        .select_from(table.join(runs, runs.c.run_uuid == table.c.run_uuid))
        .where(where)
    )


def _json_array_agg(dialect: str, column, order_by):
    """A JSON array aggregate of ``column`` (ordered by ``order_by`` where the database needs it)."""
    if dialect == "sqlite":
        return sa.func.json_group_array(column)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        return sa.cast(sa.func.json_agg(aggregate_order_by(column, order_by)), sa.Text)
    # MariaDB's JSON aggregates mangle text (latin1 labels, split surrogate pairs), so
    # MySQL-family databases get plain rows instead.
    return None


def _read_strings(conn: sa.Connection, table: sa.Table, where, run_ids: pd.Index, prefix: str) -> dict[str, np.ndarray]:
    """Params or tags as one column per key (None where a run lacks the key).

    Where the database can, it folds each key's run ids and values into two JSON arrays, so
    Python decodes a few long strings in C instead of building a row object per value.
    """
    n = len(run_ids)
    dialect = conn.dialect.name
    if dialect == "mysql":
        try:
            return _read_strings_mysql(conn, table, where, run_ids, prefix)
        except sa.exc.DBAPIError:
            # The aggregate can outgrow max_allowed_packet (very long values): plain rows then,
            # on a fresh connection since the failed one may be unusable.
            conn.invalidate()
            with conn.engine.connect() as fresh:
                return _pivot(_fetch(fresh, _joined(table, where, table.c.value)), run_ids, n, prefix)
    ids_agg = _json_array_agg(dialect, table.c.run_uuid, table.c.run_uuid)
    if ids_agg is None:
        return _pivot(_fetch(conn, _joined(table, where, table.c.value)), run_ids, n, prefix)
    selected = sa.select(runs.c.run_uuid).where(where)
    stmt = (
        sa.select(table.c.key, ids_agg, _json_array_agg(dialect, table.c.value, table.c.run_uuid))
        .where(table.c.run_uuid.in_(selected))
        .group_by(table.c.key)
    )
    out = {}
    loads = json.loads
    for key, ids, values in _fetch(conn, stmt):
        ids = loads(ids) if isinstance(ids, (str, bytes)) else ids
        values = loads(values) if isinstance(values, (str, bytes)) else values
        column = np.full(n, None, dtype=object)
        column[run_ids.get_indexer(ids)] = values
        out[prefix + key] = column
    return out


def _read_strings_mysql(conn: sa.Connection, table: sa.Table, where, run_ids: pd.Index, prefix: str) -> dict[str, np.ndarray]:
    """Params or tags per key from MySQL/MariaDB, as hex-encoded GROUP_CONCATs.

    pymysql builds rows slowly and MariaDB's JSON aggregates mangle text, so each key's values
    come back as the hex of their UTF-8 bytes joined by ``FF`` (a byte UTF-8 never uses), NULL
    as ``FE``; one ``bytes.fromhex`` and one decode per key turn them back into strings.
    """
    conn.exec_driver_sql("SET SESSION group_concat_max_len = 4294967295")  # session only, no data
    selected = sa.select(runs.c.run_uuid).where(where)
    stmt = (
        sa.select(
            table.c.key,
            sa.literal_column("GROUP_CONCAT(run_uuid ORDER BY run_uuid SEPARATOR ',')"),
            sa.literal_column("GROUP_CONCAT(COALESCE(HEX(value), 'FE') ORDER BY run_uuid SEPARATOR 'FF')"),
        )
        .where(table.c.run_uuid.in_(selected))
        .group_by(table.c.key)
    )
    out = {}
    n = len(run_ids)
    for key, ids, hexed in _fetch(conn, stmt):
        ids = ids.decode() if isinstance(ids, bytes) else ids
        hexed = hexed.decode() if isinstance(hexed, bytes) else hexed
        values = np.array(bytes.fromhex(hexed).decode("utf-8", "surrogateescape").split("\udcff"), dtype=object)
        values[values == "\udcfe"] = None
        column = np.full(n, None, dtype=object)
        column[run_ids.get_indexer(ids.split(","))] = values
        out[prefix + key] = column
    return out


def _groups(rows: list, run_ids: pd.Index):
    """Split long ``(run_uuid, key, value...)`` rows by key: yields (key, row positions, rows' indices)."""
    if not rows:
        return
    uuids = np.fromiter((r[0] for r in rows), dtype=object, count=len(rows))
    keys = np.fromiter((r[1] for r in rows), dtype=object, count=len(rows))
    positions = run_ids.get_indexer(uuids)
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=len(uniques)))))
    for k, key in enumerate(uniques):
        idx = order[bounds[k]:bounds[k + 1]]
        yield key, positions[idx], idx


def _pivot(rows: list, run_ids: pd.Index, n: int, prefix: str) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    values = np.fromiter((r[2] for r in rows), dtype=object, count=len(rows))
    out = {}
    for key, pos, idx in _groups(rows, run_ids):
        column = np.full(n, None, dtype=object)
        column[pos] = values[idx]
        out[prefix + key] = column
    return out


def _pivot_metrics(rows: list, run_ids: pd.Index, n: int, nan_runs: dict[str, list[str]]) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    values = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    is_nan = np.fromiter((bool(r[3]) for r in rows), dtype=bool, count=len(rows))
    values[is_nan] = np.nan
    out = {}
    for key, pos, idx in _groups(rows, run_ids):
        column = np.full(n, np.nan)
        column[pos] = values[idx]
        out["metrics." + key] = column
        logged_nan = is_nan[idx]
        if logged_nan.any():
            nan_runs["metrics." + key] = list(run_ids[pos[logged_nan]])
    return out


def read_datasets(uri: str, run_ids: list[str]) -> pd.DataFrame:
    """The dataset inputs of ``run_ids``: columns ``run_id, name, digest, context``.

    One row per input; ``context`` is the input's ``mlflow.data.context`` tag (None without one).
    """
    eng = engine(uri)
    frames = []
    if eng is not None and run_ids:
        with eng.connect() as conn:
            if not (_has_table(conn, "inputs") and _has_table(conn, "datasets") and _has_table(conn, "input_tags")):
                return pd.DataFrame(columns=["run_id", "name", "digest", "context"])  # before MLflow 2.4
            context = (
                sa.select(input_tags.c.input_uuid, input_tags.c.value)
                .where(input_tags.c.name == "mlflow.data.context")
                .subquery()
            )
            for start in range(0, len(run_ids), _CHUNK):
                chunk = run_ids[start:start + _CHUNK]
                stmt = (
                    sa.select(inputs.c.destination_id, datasets.c.name, datasets.c.digest, context.c.value)
                    .select_from(
                        inputs.join(datasets, datasets.c.dataset_uuid == inputs.c.source_id)
                        .outerjoin(context, context.c.input_uuid == inputs.c.input_uuid)
                    )
                    .where(inputs.c.destination_id.in_(chunk))
                )
                frames.append(pd.DataFrame(conn.execute(stmt).all(), columns=["run_id", "name", "digest", "context"]))
    if not frames:
        return pd.DataFrame(columns=["run_id", "name", "digest", "context"])
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Beyond the runs frame: metric histories, the registry, logged models, experiment tags and the
# schema's revision. Values from users (names, keys) go in as bound parameters.

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


class NoStoreError(LookupError):
    """The URI names no MLflow store (a missing SQLite file, a database without MLflow's tables)."""


def _connected(uri: str):
    """A connection to an MLflow database.

    Raises:
        NoStoreError: ``uri`` holds no MLflow store.
    """
    eng = engine(uri)
    if eng is None:
        raise NoStoreError(uri)
    conn = eng.connect()
    if not has_mlflow_tables(conn):
        conn.close()
        raise NoStoreError(uri)
    return conn


def read_schema_revision(uri: str) -> str | None:
    """The database's alembic revision (None when it has none)."""
    try:
        conn = _connected(uri)
    except NoStoreError:
        return None
    with conn:
        if not _has_table(conn, "alembic_version"):
            return None
        return conn.execute(sa.select(alembic_version.c.version_num)).scalar()


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
    conn = _connected(uri)
    out = []
    with conn:
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start:start + _CHUNK])
            rows = conn.execute(
                sa.select(metrics.c.run_uuid, metrics.c.key, metrics.c.step, metrics.c.timestamp, metrics.c.value, metrics.c.is_nan)
                .where(metrics.c.run_uuid.in_(chunk), metrics.c.key == key)
            ).all()
            out.extend((r[0], r[1], int(r[2] or 0), r[3], float("nan") if r[5] else r[4]) for r in rows)
    return out


def read_metric_summaries(uri: str, run_ids: list[str], keys: list[str]) -> list[tuple]:
    """Per run and key: ``(run_id, key, min, min_step, max, max_step, n)`` over the history.

    One grouped query per chunk of runs (window functions rank each history by value); NaN
    values count in ``n`` but never as a minimum or maximum.
    """
    if not run_ids or not keys:
        return []
    conn = _connected(uri)
    out = []
    part = (metrics.c.run_uuid, metrics.c.key)
    with conn:
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
    conn = _connected(uri)
    out = []
    with conn:
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start:start + _CHUNK])
            rows = conn.execute(
                sa.select(latest_metrics.c.run_uuid, latest_metrics.c.key, latest_metrics.c.value, latest_metrics.c.is_nan)
                .where(latest_metrics.c.run_uuid.in_(chunk), latest_metrics.c.key.in_(list(keys)))
            ).all()
            out.extend((r[0], r[1], float("nan") if r[3] else r[2]) for r in rows)
    return out


def read_experiment_tags(uri: str, experiment_id: str) -> dict[str, str]:
    conn = _connected(uri)
    with conn:
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
    conn = _connected(uri)
    with conn:
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
    conn = _connected(uri)
    with conn:
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
    conn = _connected(uri)
    with conn:
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
    conn = _connected(uri)
    out = {}
    with conn:
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start:start + _CHUNK])
            for rid, exp, art in conn.execute(
                    sa.select(runs.c.run_uuid, runs.c.experiment_id, runs.c.artifact_uri).where(runs.c.run_uuid.in_(chunk))).all():
                out[rid] = (str(exp), art)
    return out


def plain_id(run_id: str) -> bool:
    """True for an id MLflow makes (letters, digits, ``-``, ``_``): only those go into queries."""
    return bool(run_id) and set(run_id) <= _ID_CHARS
