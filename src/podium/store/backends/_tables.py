"""Read-only queries over MLflow's own database tables (private to :mod:`podium.store.backends.sql`).

This module is part of the store boundary: it reads MLflow's tables (``experiments``, ``runs``,
``params``, ``latest_metrics``, ``tags``, ``inputs``/``datasets``/``input_tags``) directly with
SQLAlchemy Core, in a few set-based queries, instead of building one MLflow ``Run`` object per
run. Only the SQL backend imports it; nothing else may.

It never writes. MLflow's ``SqlAlchemyStore`` creates a missing SQLite file and creates or
migrates tables on an empty database; this module does neither: a SQLite file is opened in
SQLite's read-only mode (``mode=ro``), PostgreSQL and MySQL connections open every transaction
read-only, a missing file or a database without MLflow's tables is reported as
:class:`NoStoreError`, and only ``SELECT`` statements are sent. Schemas of every MLflow generation
(1.x to 3.x) are read: a column or table an older schema lacks reads as missing.

Values come out exactly as MLflow's ``SqlRun.to_mlflow_entity`` makes them: a NaN metric
(stored as ``value=0, is_nan=1``) becomes NaN, ``experiment_id`` a string, an empty run name
falls back to the ``mlflow.runName`` tag.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator
from urllib.parse import unquote

import numpy as np
import pandas as pd
import sqlalchemy as sa

from podium.store.refresh import plain_id

_engines: dict[str, sa.engine.Engine] = {}
_MAX_ENGINES = 8
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
        cached = _engines.pop(uri, None)
        if cached is not None:
            _engines[uri] = cached  # most recently used last
            return cached
        if uri.lower().startswith("sqlite"):
            path = _sqlite_path(uri)
            if path is None or not os.path.isfile(path):
                return None
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
        while len(_engines) > _MAX_ENGINES:  # stores opened once (a typed URI) are let go
            _engines.pop(next(iter(_engines))).dispose()
        return eng


def has_mlflow_tables(conn: sa.Connection) -> bool:
    """True when the database holds MLflow's tracking tables."""
    return _has_table(conn, "experiments") and _has_table(conn, "runs")


# The columns of the tables a database has, per engine (columns change only by a migration,
# which a restart of the app follows).
_schema: dict[tuple[int, str], frozenset[str]] = {}



class NoStoreError(LookupError):
    """The URI names no MLflow store (a missing SQLite file, a database without MLflow's tables)."""


@contextlib.contextmanager
def connected(uri: str) -> Iterator[sa.Connection]:
    """A read-only connection to the MLflow database at ``uri``, closed after.

    Raises:
        NoStoreError: ``uri`` holds no MLflow store (nothing is ever created).
    """
    eng = engine(uri)
    if eng is None:
        raise NoStoreError(uri)
    with eng.connect() as conn:
        if not has_mlflow_tables(conn):
            raise NoStoreError(uri)
        yield conn

def _table_columns(conn: sa.Connection, table: str) -> frozenset[str] | None:
    """The table's columns; None when the database lacks it. A table that is there is cached; a
    missing one is asked again (MLflow may create the tables after Podium first looked)."""
    key = (id(conn.engine), table)
    if key not in _schema:
        inspector = sa.inspect(conn)
        if not inspector.has_table(table):
            return None
        _schema[key] = frozenset(c["name"] for c in inspector.get_columns(table))
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


def read_experiment_names(uri: str) -> list[tuple[str, str]]:
    """``(id, name)`` of every experiment, deleted ones included, in MLflow's order."""
    with connected(uri) as conn:
        rows = conn.execute(
            sa.select(experiments.c.experiment_id, experiments.c.name).order_by(*_experiment_order(conn))
        ).all()
    return [(str(r[0]), r[1]) for r in rows]


def read_experiments(uri: str, include_deleted: bool) -> list[dict[str, Any]]:
    """Experiments with their active-run count and latest run start, in MLflow's order.

    Returns:
        Dicts with ``id, name, lifecycle_stage, creation_time, last_update_time, run_count,
        last_start``; Raises :class:`NoStoreError` when ``uri`` holds no MLflow store.
    """
    with connected(uri) as conn:
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


def read_run_states(uri: str, experiment_ids: list[str], include_deleted: bool) -> list[tuple]:
    """``(run_uuid, status, start_time, end_time)`` of every run of ``experiment_ids``.

    One read of the ``runs`` table alone (no params, metrics or tags): what an incremental
    refresh compares with the frame it already has. Raises :class:`NoStoreError` when ``uri`` holds no store.
    """
    with connected(uri) as conn:
        return _fetch(conn, sa.select(runs.c.run_uuid, runs.c.status, runs.c.start_time, runs.c.end_time).where(
            _runs_where([int(e) for e in experiment_ids], include_deleted)))


def _runs_where(exp_ids: list[int], include_deleted: bool, run_ids: list[str] | None = None):
    where = sa.and_(runs.c.experiment_id.in_(exp_ids), runs.c.lifecycle_stage.in_(_stages(include_deleted)))
    if run_ids is not None:
        unsafe = [r for r in run_ids if not plain_id(r)]
        if unsafe:
            # Statements are sent with literal binds (see _fetch): only plain ids may go in.
            raise ValueError(f"unexpected run id {unsafe[0]!r}")
        where = sa.and_(where, runs.c.run_uuid.in_(list(run_ids)))
    return where


def read_runs(
    uri: str,
    experiment_ids: list[str],
    include_deleted: bool,
    run_ids: list[str] | None = None,
    on_count=None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
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
        Raises :class:`NoStoreError` when ``uri`` holds no MLflow store.
    """
    where = _runs_where([int(e) for e in experiment_ids], include_deleted, run_ids)
    with connected(uri) as conn:
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
        with conn.engine.connect() as c:
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
