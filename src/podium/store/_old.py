"""The only module that talks to MLflow: experiments, runs, metric history, registry.

Every function takes the tracking URI explicitly (never MLflow's process-global one), so one
Streamlit server can serve several stores at once. Errors a user can cause come out as
:class:`~podium.errors.PodiumError` with a redacted URI and MLflow's own wording.

Runs travel as one pandas DataFrame with MLflow's column names (see ``docs/architecture.md``):
``run_id, run_name, experiment_id, experiment_name, status, start_time, end_time, duration_s,
user, metrics.*, params.*, tags.*``. The ``params.*``/``metrics.*``/``tags.*`` values are exactly
what ``mlflow.search_runs`` returns for the same arguments.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from podium.config import (
    file_store_uri,
    is_database_uri,
    is_file_store,
    redact_uri,
    resolve_tracking_uri,
    uri_scheme,
)
from podium.errors import FilterError, NotFoundError, PodiumError, StoreError

# Columns every runs frame has, in this order, before the metrics/params/tags columns.
BASE_COLUMNS = [
    "run_id",
    "run_name",
    "experiment_id",
    "experiment_name",
    "status",
    "start_time",
    "end_time",
    "duration_s",
    "user",
    "artifact_uri",
]

# The largest page MLflow's stores and its REST API accept for search_runs.
MAX_PAGE_SIZE = 50_000

# A load's progress: ``progress(loaded, total)``, ``total`` None while the store cannot tell.
Progress = Callable[[int, "int | None"], None]

_file_store_lock = threading.Lock()


@dataclass(frozen=True)
class Experiment:
    """One experiment as the experiments picker shows it."""

    id: str
    name: str
    run_count: int
    last_activity: datetime | None
    lifecycle_stage: str = "active"


# --------------------------------------------------------------------------------------------
# Connecting


def _prepare_uri(tracking_uri: str | None) -> str:
    uri = resolve_tracking_uri(tracking_uri)
    if is_file_store(uri):
        return file_store_uri(uri)
    return uri


@contextlib.contextmanager
def _client(tracking_uri: str) -> Iterator["mlflow.MlflowClient"]:  # noqa: F821
    """An ``MlflowClient`` for ``tracking_uri``; turns connection failures into StoreError.

    A legacy file store is refused by MLflow 3 unless ``MLFLOW_ALLOW_FILE_STORE`` is set, so it
    is set for the duration of that read only (under a lock, since the environment is shared).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = _prepare_uri(tracking_uri)
    lock = _file_store_lock if is_file_store(uri) else contextlib.nullcontext()
    with lock:
        previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
        if is_file_store(uri):
            _check_file_store(uri)
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        try:
            if uri_scheme(uri) in ("http", "https"):
                _check_http(uri)
            try:
                yield MlflowClient(tracking_uri=uri, registry_uri=uri)
            except PodiumError:
                raise
            except MlflowException as exc:
                if _is_bad_request(exc):
                    raise
                raise StoreError(_store_message(uri, exc), redact_uri(uri)) from None
            except Exception as exc:  # driver errors (psycopg2, pymysql), OS errors
                if type(exc).__module__.startswith(("sqlalchemy", "psycopg2", "pymysql", "requests", "urllib3")) or isinstance(exc, OSError):
                    raise StoreError(_store_message(uri, exc), redact_uri(uri)) from None
                raise
        finally:
            if is_file_store(uri):
                if previous is None:
                    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
                else:
                    os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def _is_bad_request(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "BAD_REQUEST")


def _store_message(uri: str, exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # Driver messages can echo the connection string; never let a password through.
    detail = detail.replace(uri, redact_uri(uri))
    return f"Cannot read the MLflow store at {redact_uri(uri)}: {redact_uri(detail)}"


def _check_http(uri: str) -> None:
    """Fail fast (seconds, not MLflow's minutes of retries) when a tracking server is down."""
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=5)
    except requests.RequestException as exc:
        raise StoreError(
            f"Cannot reach the MLflow tracking server at {redact_uri(uri)} "
            f"({type(exc).__name__}). Is it running?",
            redact_uri(uri),
        ) from None


def _check_file_store(uri: str) -> None:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    path = url2pathname(urlsplit(uri).path)
    if not os.path.isdir(path):
        raise StoreError(f"No MLflow file store (mlruns folder) at {redact_uri(uri)}.", redact_uri(uri))


# --------------------------------------------------------------------------------------------
# Experiments


def list_experiments(tracking_uri: str | None = None, include_deleted: bool = False) -> list[Experiment]:
    """List the store's experiments with their run count and last activity, newest first.

    Args:
        tracking_uri: The store; resolved as in :func:`podium.config.resolve_tracking_uri`.
        include_deleted: Also list deleted experiments.

    Returns:
        One :class:`Experiment` per experiment. ``run_count`` counts active (not deleted) runs;
        ``last_activity`` is the newest run's start (the experiment's update time when it
        has no runs).
    """
    uri = _prepare_uri(tracking_uri)
    if is_database_uri(uri):
        return _list_experiments_db(uri, include_deleted)
    return _list_experiments_client(tracking_uri, include_deleted)


def _list_experiments_client(tracking_uri: str | None, include_deleted: bool) -> list[Experiment]:
    """The reference path for :func:`list_experiments`: MLflow's client."""
    from mlflow.entities import ViewType

    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    with _client(tracking_uri) as client:
        experiments = _all_pages(lambda token: client.search_experiments(view_type=view, max_results=1000, page_token=token))
        out = []
        for exp in experiments:
            runs = _all_pages(
                lambda token, e=exp: client.search_runs(
                    [e.experiment_id], "", ViewType.ACTIVE_ONLY, MAX_PAGE_SIZE, None, token
                )
            )
            last = _last_activity(max((r.info.start_time or 0 for r in runs), default=0),
                                  exp.last_update_time, exp.creation_time)
            out.append(Experiment(exp.experiment_id, exp.name, len(runs), last, exp.lifecycle_stage))
    return sorted(out, key=lambda e: (e.last_activity or datetime.min.replace(tzinfo=timezone.utc)), reverse=True)


def _last_activity(last_start: int | None, updated: int | None, created: int | None) -> datetime | None:
    """When work last happened: the newest run's start; the experiment's own update or creation
    time only when it has no runs (creating or tagging an experiment is not work on it)."""
    stamp = last_start or updated or created
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc) if stamp else None


def _all_pages(fetch) -> list:
    items, token = [], None
    while True:
        page = fetch(token)
        items.extend(page)
        token = page.token
        if not token:
            return items


def resolve_experiments(tracking_uri: str | None, experiments: list[str]) -> dict[str, str]:
    """Map experiment names or ids to ``{id: name}``, in the order given.

    Raises:
        NotFoundError: when a name or id matches no experiment of the store.
    """
    known = list_experiments_light(tracking_uri)
    by_id = {e_id: name for e_id, name in known}
    by_name = {name: e_id for e_id, name in known}
    out: dict[str, str] = {}
    missing = []
    for item in experiments:
        key = str(item)
        if key in by_name:
            out[by_name[key]] = key
        elif key in by_id:
            out[key] = by_id[key]
        else:
            missing.append(key)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise NotFoundError(f"No experiment named {names} in {redact_uri(_prepare_uri(tracking_uri))}.")
    return out


def list_experiments_light(tracking_uri: str | None) -> list[tuple[str, str]]:
    """``(id, name)`` of every experiment, deleted ones included (cheap: no run counts)."""
    from mlflow.entities import ViewType

    uri = _prepare_uri(tracking_uri)
    if is_database_uri(uri):
        from podium import _sqlstore

        with _db_errors(uri):
            return _sqlstore.read_experiment_names(uri) or []
    with _client(tracking_uri) as client:
        exps = _all_pages(lambda token: client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token))
    return [(e.experiment_id, e.name) for e in exps]


# --------------------------------------------------------------------------------------------
# Runs


def validate_filter(filter_string: str) -> None:
    """Check ``filter_string`` as MLflow's run search would (see :func:`podium.search.validate_filter`).

    Raises:
        FilterError: with MLflow's explanation when MLflow would reject it.
    """
    from podium import search

    search.validate_filter(filter_string)


def load_runs(
    tracking_uri: str | None,
    experiments: list[str],
    filter_string: str = "",
    include_deleted: bool = False,
    *,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Load the runs of ``experiments`` matching ``filter_string`` as one DataFrame.

    Args:
        tracking_uri: The store: ``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``,
            ``http(s)://…`` or a legacy ``./mlruns`` folder (path or ``file://`` URI).
        experiments: Experiment names or ids.
        filter_string: MLflow search syntax, e.g. ``metrics.f1 > 0.8 and params.model = 'rf'``.
        include_deleted: Also return deleted runs.
        progress: Called as ``progress(loaded, total)`` while loading, in the caller's thread:
            per page over HTTP and for ``./mlruns`` (``total`` None until the last page), at the
            start and the end of a database read (``total`` known). Always called once at the
            end with ``loaded == total``.

    Returns:
        One row per run, ordered as ``mlflow.search_runs`` orders them (newest start first).

    Raises:
        FilterError: the filter is invalid (MLflow's own message).
        NotFoundError: an experiment does not exist.
        StoreError: the store cannot be reached or read (URI redacted).
    """
    validate_filter(filter_string)
    names = resolve_experiments(tracking_uri, experiments)
    if not names:
        return empty_runs_frame()
    uri = _prepare_uri(tracking_uri)
    if is_database_uri(uri):
        df = _load_runs_db(uri, names, filter_string, include_deleted, progress=progress)
    elif uri_scheme(uri) in ("http", "https"):
        df = _load_runs_http(uri, names, filter_string, include_deleted, progress=progress)
    else:
        df = _load_runs_client(tracking_uri, names, filter_string, include_deleted, progress=progress)
    if progress is not None:
        progress(len(df), len(df))
    return df


def _load_runs_client(
    tracking_uri: str | None, names: dict[str, str], filter_string: str, include_deleted: bool, progress: Progress | None = None
) -> pd.DataFrame:
    """The reference path: MLflow's client searches, Podium builds the frame."""
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    ids = list(names)
    loaded = [0]

    def page(token):
        found = client.search_runs(ids, filter_string, view, MAX_PAGE_SIZE, None, token)
        loaded[0] += len(found)
        if progress is not None and found.token:
            progress(loaded[0], None)
        return found

    with _client(tracking_uri) as client:
        try:
            runs = _all_pages(page)
        except MlflowException as exc:
            if _is_bad_request(exc):
                raise FilterError(exc.message) from None
            raise
    return _with_backend(runs_to_frame(runs, names), tracking_uri)


def _with_backend(df: pd.DataFrame, tracking_uri: str | None) -> pd.DataFrame:
    """Note the store kind, whose LIKE/ILIKE rules :func:`podium.search.filter_frame` follows."""
    from podium import search

    scheme = uri_scheme(_prepare_uri(tracking_uri))
    if scheme in search.BACKENDS:
        df.attrs[search.BACKEND_ATTR] = scheme
    return df


# --------------------------------------------------------------------------------------------
# Fast path for database stores: read MLflow's tables directly (podium._sqlstore), read-only.
# Same frame as the client path (runs_to_frame), roughly 20x faster: no Run objects are built.


@contextlib.contextmanager
def _db_errors(uri: str) -> Iterator[None]:
    """Turn driver and connection errors into StoreError with the URI redacted."""
    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "pymysql", "MySQLdb", "sqlite3")) or isinstance(
            exc, (OSError, ImportError)
        ):
            raise StoreError(_store_message(uri, exc), redact_uri(uri)) from None
        raise


def _list_experiments_db(uri: str, include_deleted: bool, sort: bool = True) -> list[Experiment]:
    from podium import _sqlstore

    with _db_errors(uri):
        rows = _sqlstore.read_experiments(uri, include_deleted)
    out = []
    for r in rows or []:
        last = _last_activity(r["last_start"], r["last_update_time"], r["creation_time"])
        out.append(Experiment(r["id"], r["name"], r["run_count"], last, r["lifecycle_stage"]))
    if not sort:
        return out
    return sorted(out, key=lambda e: (e.last_activity or datetime.min.replace(tzinfo=timezone.utc)), reverse=True)


def _load_runs_db(
    uri: str,
    names: dict[str, str],
    filter_string: str,
    include_deleted: bool,
    run_ids: list[str] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The runs frame from MLflow's tables; only ``run_ids`` when given (an incremental refresh)."""
    from podium import _sqlstore, search

    on_count = None if progress is None else (lambda n: progress(0, n))
    with _db_errors(uri):
        result = _sqlstore.read_runs(uri, list(names), include_deleted, run_ids=run_ids, on_count=on_count)
    columns, nan_runs = result if result else ({}, {})
    if not columns:
        return _with_backend(empty_runs_frame(), uri)
    user_id = columns.pop("user_id")
    user_tag = columns.get("tags.mlflow.user")
    user = user_id.copy()
    if user_tag is not None:
        # Same as runs_to_frame: the user_id column, else the mlflow.user tag.
        empty = np.array([not u for u in user_id], dtype=bool)
        user[empty] = user_tag[empty]
    else:
        user[np.array([not u for u in user_id], dtype=bool)] = None
    run_name = columns["run_name"]
    name_tag = columns.get("tags.mlflow.runName")
    if name_tag is not None:
        # SqlRun.to_mlflow_entity: an empty name falls back to the mlflow.runName tag.
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
        "artifact_uri": columns.pop("artifact_uri"),
    }
    frame.update(columns)
    df = _with_backend(_with_nan_record(finish_frame(pd.DataFrame(frame)), nan_runs), uri)
    if search.parse_filter(filter_string):
        datasets = None
        if search.needs_datasets(filter_string):
            with _db_errors(uri):
                datasets = _sqlstore.read_datasets(uri, list(df["run_id"]))
        df = search.filter_frame(df, filter_string, dialect=uri_scheme(uri), datasets=datasets)
        if df.empty:
            return _with_backend(empty_runs_frame(), uri)
    return df


# --------------------------------------------------------------------------------------------
# Fast path for tracking servers: MLflow's REST API (POST runs/search) in 1,000-run pages fetched a few at a time,
# JSON parsed straight into columns, no Run objects. The server does the filtering itself.


def _http_session(uri: str):
    """A requests session authenticated the way MLflow's client is (token, user/password, TLS)."""
    import requests

    session = requests.Session()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    elif user and password:
        session.auth = (user, password)
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        session.verify = False
    elif os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        session.verify = os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    return session


def _float(value) -> float:
    # Protobuf JSON writes NaN and infinities as the strings "NaN", "Infinity", "-Infinity".
    return value if isinstance(value, float) else float(value)


def _int_or_none(value):
    return None if value is None else int(value)


def _load_runs_http(
    uri: str, names: dict[str, str], filter_string: str, include_deleted: bool, progress: Progress | None = None
) -> pd.DataFrame:
    _check_http(uri)
    runs = _http_search(uri, list(names), filter_string, include_deleted, progress)
    return _with_backend(_json_runs_to_frame(runs, names), uri)


def _http_search(
    uri: str, experiment_ids: list[str], filter_string: str, include_deleted: bool, progress: Progress | None = None
) -> list[dict]:
    """Every run ``POST runs/search`` finds, as the server's JSON, in the server's order."""
    import requests

    endpoint = uri.rstrip("/") + "/api/2.0/mlflow/runs/search"
    body = {
        "experiment_ids": list(experiment_ids),
        "filter": filter_string or "",
        "run_view_type": "ALL" if include_deleted else "ACTIVE_ONLY",
        "max_results": MAX_PAGE_SIZE,
    }
    with _http_session(uri) as session:

        def fetch(page_token=None, size=MAX_PAGE_SIZE) -> dict:
            page = dict(body, max_results=size, **({"page_token": page_token} if page_token else {}))
            try:
                response = session.post(endpoint, json=page, timeout=600)
            except requests.RequestException as exc:
                raise StoreError(_store_message(uri, exc), redact_uri(uri)) from None
            if response.status_code != 200:
                try:
                    error = response.json()
                except ValueError:
                    error = {}
                if error.get("error_code") in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
                    raise FilterError(error.get("message", "Invalid filter")) from None
                detail = error.get("message") or f"HTTP {response.status_code}"
                raise StoreError(_store_message(uri, RuntimeError(detail)), redact_uri(uri))
            return response.json()

        first = fetch(size=_HTTP_FIRST_PAGE)
        runs: list[dict] = list(first.get("runs", []))
        token = first.get("next_page_token")

        def on_page(page: dict) -> None:
            runs.extend(page.get("runs", []))
            if progress is not None and page.get("next_page_token"):
                progress(len(runs), None)

        if progress is not None and token:
            progress(len(runs), None)
        if token and _page_offset(token) == _HTTP_FIRST_PAGE:
            _fetch_offset_pages(fetch, _HTTP_FIRST_PAGE, on_page)
        else:
            while token:  # a server with opaque page tokens: follow them one by one
                page = fetch(token)
                on_page(page)
                token = page.get("next_page_token")
    return runs


# A small first page answers small experiments in one round trip and reveals the token format;
# the rest is fetched HTTP_PARALLEL pages at a time so the server's workers share the work.
# Measured against `mlflow server` (4 workers, 10k runs, 2 cores): a server's cost per page grows
# faster than its size (one 10k page 16 s, two 5k pages side by side 6.3 s), and 3 pages of 1,000
# at a time was the fastest mix (6.7 s; 4 x 2,500: 7.8 s).
_HTTP_FIRST_PAGE = 1000
_HTTP_PAGE = 1000
_HTTP_PARALLEL = 3


def _page_offset(token: str) -> int | None:
    """The offset in an MLflow page token (base64 JSON ``{"offset": n}``), None if opaque."""
    import base64
    import json

    try:
        value = json.loads(base64.b64decode(token))
        return int(value["offset"]) if set(value) == {"offset"} else None
    except Exception:
        return None


def _offset_token(offset: int) -> str:
    import base64
    import json

    # The same bytes MLflow's SearchUtils.create_page_token writes.
    return base64.b64encode(json.dumps({"offset": offset}).encode("utf-8")).decode("utf-8")


def _fetch_offset_pages(fetch, start: int, on_page) -> None:
    """Fetch pages from ``start`` on, several at once, until a page is the last one.

    ``on_page`` gets each page in order, in the caller's thread (so it may draw progress).
    """
    from concurrent.futures import ThreadPoolExecutor

    offset = start
    with ThreadPoolExecutor(max_workers=_HTTP_PARALLEL) as pool:
        while True:
            offsets = [offset + i * _HTTP_PAGE for i in range(_HTTP_PARALLEL)]
            last = False
            for page in pool.map(lambda o: fetch(_offset_token(o), _HTTP_PAGE), offsets):
                if last:
                    continue  # past the end: an empty page
                on_page(page)
                last = not page.get("next_page_token")
            if last:
                return
            offset = offsets[-1] + _HTTP_PAGE


def _json_runs_to_frame(runs: list[dict], experiment_names: dict[str, str]) -> pd.DataFrame:
    """The runs frame from REST ``runs/search`` JSON; the same frame :func:`runs_to_frame` builds."""
    if not runs:
        return empty_runs_frame()
    n = len(runs)
    info: dict[str, list] = {c: [None] * n for c in BASE_COLUMNS}
    columns: dict[str, list] = {}
    nan_runs: dict[str, list[str]] = {}
    for i, run in enumerate(runs):
        ri = run.get("info", {})
        data = run.get("data", {})
        run_id = ri.get("run_id") or ri.get("run_uuid")
        experiment_id = ri.get("experiment_id")
        info["run_id"][i] = run_id
        info["run_name"][i] = ri.get("run_name")
        info["experiment_id"][i] = experiment_id
        info["experiment_name"][i] = experiment_names.get(experiment_id)
        info["status"][i] = ri.get("status")
        info["start_time"][i] = _int_or_none(ri.get("start_time"))
        info["end_time"][i] = _int_or_none(ri.get("end_time"))
        info["artifact_uri"][i] = ri.get("artifact_uri")
        user_tag = None
        for prefix, items, null in (("metrics.", data.get("metrics", ()), np.nan), ("params.", data.get("params", ()), None), ("tags.", data.get("tags", ()), None)):
            for item in items:
                name = prefix + item["key"]
                column = columns.get(name)
                if column is None:
                    column = columns[name] = [null] * n
                if prefix == "metrics.":
                    value = _float(item.get("value", 0.0))
                    if value != value:
                        nan_runs.setdefault(name, []).append(run_id)
                else:
                    value = item.get("value")
                    if prefix == "tags." and item["key"] == "mlflow.user":
                        user_tag = value
                column[i] = value
        # Same as runs_to_frame: the run's user_id, else its mlflow.user tag.
        info["user"][i] = ri.get("user_id") or user_tag
    frame = dict(info)
    frame.update(columns)
    return _with_nan_record(finish_frame(pd.DataFrame(frame)), nan_runs)


def empty_runs_frame() -> pd.DataFrame:
    """A runs frame with the base columns and no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in BASE_COLUMNS})


def runs_to_frame(runs: list, experiment_names: dict[str, str]) -> pd.DataFrame:
    """Build the runs frame from MLflow ``Run`` entities, exactly as ``mlflow.search_runs`` does.

    Missing metrics are NaN, missing params and tags None; then Podium's own columns
    (``run_name``, ``experiment_name``, ``duration_s``, ``user``) are added in front.
    """
    if not runs:
        return empty_runs_frame()
    n = len(runs)
    info: dict[str, list] = {c: [] for c in BASE_COLUMNS}
    metrics: dict[str, list] = {}
    params: dict[str, list] = {}
    tags: dict[str, list] = {}
    for i, run in enumerate(runs):
        ri = run.info
        info["run_id"].append(ri.run_id)
        info["run_name"].append(ri.run_name)
        info["experiment_id"].append(ri.experiment_id)
        info["experiment_name"].append(experiment_names.get(ri.experiment_id))
        info["status"].append(ri.status)
        info["start_time"].append(ri.start_time)
        info["end_time"].append(ri.end_time)
        info["duration_s"].append(None)
        info["user"].append(ri.user_id or run.data.tags.get("mlflow.user"))
        info["artifact_uri"].append(ri.artifact_uri)
        for store, values, null in ((metrics, run.data.metrics, np.nan), (params, run.data.params, None), (tags, run.data.tags, None)):
            for key, value in values.items():
                column = store.get(key)
                if column is None:
                    column = store[key] = [null] * n
                column[i] = value
    frame = {k: v for k, v in info.items()}
    frame.update({"metrics." + k: v for k, v in metrics.items()})
    frame.update({"params." + k: v for k, v in params.items()})
    frame.update({"tags." + k: v for k, v in tags.items()})
    nan_runs: dict[str, list[str]] = {}
    for run in runs:
        for key, value in run.data.metrics.items():
            if value != value:  # a logged NaN, which the frame cannot tell from a missing metric
                nan_runs.setdefault("metrics." + key, []).append(run.info.run_id)
    return _with_nan_record(finish_frame(pd.DataFrame(frame)), nan_runs)


def _with_nan_record(df: pd.DataFrame, nan_runs: dict[str, list[str]]) -> pd.DataFrame:
    """Record which runs logged a NaN metric, for :func:`podium.search.filter_frame`'s ``!=``."""
    from podium import search

    df.attrs[search.NAN_METRICS_ATTR] = {k: search.NAN_SEPARATOR.join(sorted(v)) for k, v in sorted(nan_runs.items())}
    return df


def finish_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Turn epoch-millisecond times into UTC datetimes, derive ``duration_s`` and sort columns.

    Shared by every loading path so they all give the same frame.
    """
    start_ms = pd.to_numeric(df["start_time"], errors="coerce")
    end_ms = pd.to_numeric(df["end_time"], errors="coerce")
    df["start_time"] = pd.to_datetime(start_ms, unit="ms", utc=True)
    df["end_time"] = pd.to_datetime(end_ms, unit="ms", utc=True)
    df["duration_s"] = (end_ms - start_ms) / 1000.0
    df["run_name"] = df["run_name"].astype(object).where(df["run_name"].notna(), None)
    rest = sorted(c for c in df.columns if c not in BASE_COLUMNS)
    ordered = [c for c in BASE_COLUMNS if c in df.columns]
    order = (
        [c for c in rest if c.startswith("metrics.")]
        + [c for c in rest if c.startswith("params.")]
        + [c for c in rest if c.startswith("tags.")]
    )
    df = df[ordered + order]
    # Same row order as mlflow.search_runs: start time descending, then run id.
    key = start_ms.fillna(-np.inf)
    df = df.assign(_k=key.values).sort_values(["_k", "run_id"], ascending=[False, True], kind="stable")
    return df.drop(columns="_k").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Incremental refresh: re-read only what can be known to have changed since a frame was loaded.
# MLflow's tables have no "updated at" column, so edits to finished runs (a new tag, a deletion
# over HTTP) are not seen; a full load_runs picks them up.

# Statuses of runs that may still change.
LIVE_STATUSES = ("RUNNING", "SCHEDULED")
# With a filter, a run outside the frame that ended up to this long before the newest time in the
# frame is read again: writers' clocks differ, and a run stamped by a slow clock must not be missed.
_CLOCK_SLACK_MS = 10 * 60 * 1000
# Above this many runs to re-read (or half the runs), one full load is the cheaper read.
_MAX_INCREMENTAL = 5000
# Run ids per ``attributes.run_id IN (...)`` search over HTTP.
_HTTP_ID_CHUNK = 100


@dataclass(frozen=True)
class RunsRefresh:
    """What :func:`refresh_runs` found: the new frame and which runs changed in it."""

    runs: pd.DataFrame
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    full_reload: bool = False  # everything was read (a ./mlruns store, or too much had changed)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed)

    def describe(self) -> str:
        """``"3 new runs, 1 updated"``; ``"No new or updated runs"`` when nothing changed."""
        parts = []
        if self.new:
            parts.append(f"{len(self.new):,} new run{'' if len(self.new) == 1 else 's'}")
        if self.updated:
            parts.append(f"{len(self.updated):,} updated")
        if self.removed:
            parts.append(f"{len(self.removed):,} no longer listed")
        return ", ".join(parts) if parts else "No new or updated runs"


def refresh_runs(
    tracking_uri: str | None,
    experiments: list[str],
    previous: pd.DataFrame | None,
    filter_string: str = "",
    include_deleted: bool = False,
    *,
    progress: Progress | None = None,
) -> RunsRefresh:
    """Bring ``previous`` (a :func:`load_runs` frame for the same arguments) up to date cheaply.

    Reads only the runs that can be known to have changed, and merges them into ``previous`` in
    ``mlflow.search_runs``' order (new param/metric/tag columns added, emptied ones dropped):

    - new runs: on a database store every run not in ``previous`` (without a filter) or, with a
      filter, runs started at/after the newest start in ``previous``, runs now RUNNING/SCHEDULED
      and runs that ended since (10 minutes of clock slack); over HTTP, runs started at/after
      the newest start in ``previous`` (plus, with a filter, the same RUNNING/ended searches);
    - runs that were RUNNING or SCHEDULED in ``previous`` (by run id): read again, dropped when
      deleted or no longer matching the filter;
    - on a database store also runs whose status or end time changed, and runs deleted (or, with
      ``include_deleted``, purged) since: one cheap read of MLflow's ``runs`` table tells.

    Limitation: MLflow keeps no "updated at" time, so edits to runs that had already finished
    when ``previous`` was loaded (new tags, params or metrics, a rename; over HTTP also their
    deletion) are not seen, nor (over HTTP) a run created with a start time older than the
    newest loaded one. A full :func:`load_runs` sees everything. A legacy ``./mlruns`` store is
    always read in full (a filtered search there reads every run anyway).

    Args:
        tracking_uri, experiments, filter_string, include_deleted: As for :func:`load_runs`.
        previous: The frame to bring up to date; None or empty means a full load.
        progress: As for :func:`load_runs`; called only when everything is read.

    Returns:
        A :class:`RunsRefresh`: ``runs`` equals what :func:`load_runs` returns now, within the
        limitation above; ``runs is previous`` when a partial read found nothing changed.

    Raises:
        FilterError, NotFoundError, StoreError: as :func:`load_runs`.
    """
    validate_filter(filter_string)
    names = resolve_experiments(tracking_uri, experiments)
    uri = _prepare_uri(tracking_uri)

    def full() -> RunsRefresh:
        fresh = load_runs(tracking_uri, experiments, filter_string, include_deleted, progress=progress)
        return _refresh_result(previous, fresh, full_reload=True)

    if (
        previous is None or previous.empty or not names or "run_id" not in previous.columns
        or not set(previous["experiment_id"]) <= set(names)
    ):
        return full()
    if is_database_uri(uri):
        found = _changed_runs_db(uri, names, previous, filter_string, include_deleted)
    elif uri_scheme(uri) in ("http", "https"):
        found = _changed_runs_http(uri, names, previous, filter_string, include_deleted)
    else:
        found = None
    if found is None:
        return full()
    fresh, replaced = found
    result = _refresh_result(previous, fresh, replaced=replaced)
    if not result.changed:
        return RunsRefresh(previous)
    merged = _merge_runs(previous, fresh, replaced | set(fresh["run_id"]), uri)
    return RunsRefresh(merged, result.new, result.updated, result.removed)


def _start_ms(df: pd.DataFrame, column: str = "start_time") -> np.ndarray:
    """Epoch milliseconds of a time column as floats (NaN where missing)."""
    values = df[column]
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    ms = values.dt.tz_convert(None).to_numpy(dtype="datetime64[ms]").astype("int64").astype(float)
    ms[values.isna().to_numpy()] = np.nan
    return ms


def _newest(df: pd.DataFrame) -> tuple[int, int]:
    """``(newest start, newest start-or-end)`` in ``df`` as epoch ms (-1 when it has none)."""
    start, end = _start_ms(df, "start_time"), _start_ms(df, "end_time")
    newest_start = np.nanmax(start) if np.isfinite(start).any() else -1
    stamps = np.concatenate([start, end])
    newest_stamp = np.nanmax(stamps) if np.isfinite(stamps).any() else -1
    return int(newest_start), int(newest_stamp)


def _changed_runs_db(
    uri: str, names: dict[str, str], previous: pd.DataFrame, filter_string: str, include_deleted: bool
) -> tuple[pd.DataFrame, set[str]] | None:
    """``(fresh rows of the runs to re-read, run ids to replace)``; None when a full load is better."""
    from podium import _sqlstore, search

    with _db_errors(uri):
        states = _sqlstore.read_run_states(uri, list(names), include_deleted)
    if not states:
        return None
    filtered = bool(search.parse_filter(filter_string))
    end_ms = _start_ms(previous, "end_time").tolist()
    before = {
        rid: (status, None if end != end else int(end))
        for rid, status, end in zip(previous["run_id"].tolist(), previous["status"].tolist(), end_ms)
    }
    newest_start, newest_stamp = _newest(previous)
    since = newest_stamp - _CLOCK_SLACK_MS
    current = set()
    reread = []
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
    if len(reread) > _MAX_INCREMENTAL or (len(reread) > 100 and 2 * len(reread) > len(states)):
        return None
    if not reread:
        return empty_runs_frame(), gone
    try:
        fresh = _load_runs_db(uri, names, filter_string, include_deleted, run_ids=reread)
    except ValueError:  # a run id MLflow would not make: read everything instead
        return None
    return fresh, gone | set(reread)


def _changed_runs_http(
    uri: str, names: dict[str, str], previous: pd.DataFrame, filter_string: str, include_deleted: bool
) -> tuple[pd.DataFrame, set[str]] | None:
    """The same over the REST API: a few small searches (MLflow's grammar has no OR)."""
    from concurrent.futures import ThreadPoolExecutor

    from podium import search

    _check_http(uri)
    filtered = bool(search.parse_filter(filter_string))
    newest_start, newest_stamp = _newest(previous)

    def restricted(clause: str) -> str:
        return f"{filter_string.strip()} and {clause}" if filtered else clause

    searches = [restricted(f"attributes.start_time >= {newest_start}")]
    if filtered:
        searches += [restricted(f"attributes.status = '{s}'") for s in LIVE_STATUSES]
        searches.append(restricted(f"attributes.end_time >= {newest_stamp - _CLOCK_SLACK_MS}"))
    live = [rid for rid, status in zip(previous["run_id"], previous["status"]) if status in LIVE_STATUSES]
    if not all(_safe_id(rid) for rid in live):
        return None  # an id MLflow would not make cannot go into a filter string: read everything
    for i in range(0, len(live), _HTTP_ID_CHUNK):
        quoted = ", ".join(f"'{rid}'" for rid in live[i:i + _HTTP_ID_CHUNK])
        searches.append(restricted(f"attributes.run_id IN ({quoted})"))
    with ThreadPoolExecutor(max_workers=min(len(searches), _HTTP_PARALLEL)) as pool:
        found = list(pool.map(lambda f: _http_search(uri, list(names), f, include_deleted), searches))
    unique: dict[str, dict] = {}
    for runs in found:
        for run in runs:
            info = run.get("info", {})
            unique.setdefault(info.get("run_id") or info.get("run_uuid"), run)
    fresh = _with_backend(_json_runs_to_frame(list(unique.values()), names), uri)
    # A run that was live and is not found any more was deleted or stopped matching.
    return fresh, set(live)


def _refresh_result(
    previous: pd.DataFrame | None, fresh: pd.DataFrame, replaced: set[str] | None = None, full_reload: bool = False
) -> RunsRefresh:
    """Which runs of ``fresh`` are new or differ from ``previous``, and which of ``replaced``
    (every run of ``previous`` when None) are gone."""
    # Plain sets and lists: pandas' isin on Arrow-backed strings walks them in Python anyway.
    before_list = [] if previous is None or "run_id" not in previous.columns else previous["run_id"].tolist()
    before = set(before_list)
    fresh_list = fresh["run_id"].tolist()
    fresh_ids = set(fresh_list)
    new = tuple(r for r in fresh_list if r not in before)
    candidates = before_list if replaced is None else [r for r in before_list if r in replaced]
    removed = tuple(r for r in candidates if r not in fresh_ids)
    common = pd.Index([r for r in fresh_list if r in before], dtype=object)
    updated: tuple[str, ...] = ()
    if len(common):
        a = previous.set_index("run_id").loc[common]
        b = fresh.set_index("run_id").loc[common]
        differ = np.zeros(len(common), dtype=bool)
        for column in dict.fromkeys(list(a.columns) + list(b.columns)):
            differ |= _cells_differ(a, b, column)
        differ |= _logged_nans(a, common) != _logged_nans(b, common)
        updated = tuple(common[differ])
    return RunsRefresh(fresh, new, updated, removed, full_reload)


def _cells_differ(a: pd.DataFrame, b: pd.DataFrame, column: str) -> np.ndarray:
    n = len(a)
    if column not in a.columns and column not in b.columns:
        return np.zeros(n, dtype=bool)
    av = a[column].to_numpy(dtype=object) if column in a.columns else np.full(n, None, dtype=object)
    bv = b[column].to_numpy(dtype=object) if column in b.columns else np.full(n, None, dtype=object)
    a_na, b_na = pd.isna(av), pd.isna(bv)
    both = ~a_na & ~b_na
    same = np.ones(n, dtype=bool)
    same[both] = [x == y for x, y in zip(av[both], bv[both])]
    return (a_na != b_na) | ~same


def _logged_nans(df: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Per run of ``ids``, the sorted metrics columns it logged NaN for (a str per run)."""
    from podium import search

    out = {rid: [] for rid in ids}
    for column, joined in sorted((df.attrs.get(search.NAN_METRICS_ATTR) or {}).items()):
        for rid in joined.split(search.NAN_SEPARATOR):
            if rid in out:
                out[rid].append(column)
    return np.array(["\n".join(out[rid]) for rid in ids], dtype=object)


def _raw_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """``df[column]`` as the values a load builds its frame from (ms times, None for missing)."""
    n = len(df)
    if column.startswith("metrics."):
        if column not in df.columns:
            return np.full(n, np.nan)
        return df[column].to_numpy(dtype=float, na_value=np.nan)
    if column not in df.columns or column == "duration_s":
        return np.full(n, None, dtype=object)
    if column in ("start_time", "end_time"):
        ms = _start_ms(df, column)
        return np.array([None if m != m else int(m) for m in ms], dtype=object)
    return df[column].to_numpy(dtype=object, na_value=None)


def _merge_runs(previous: pd.DataFrame, fresh: pd.DataFrame, replaced: set[str], uri: str) -> pd.DataFrame:
    """``previous`` without the ``replaced`` runs, plus ``fresh``: the frame a load would build."""
    from podium import search

    keep = previous[[r not in replaced for r in previous["run_id"].tolist()]]
    parts = [p for p in (keep, fresh) if len(p)]
    if not parts:
        return _with_backend(empty_runs_frame(), uri)
    columns = list(dict.fromkeys(BASE_COLUMNS + [c for p in parts for c in p.columns]))
    frame = {c: np.concatenate([_raw_column(p, c) for p in parts]) for c in columns}
    nan_runs: dict[str, list[str]] = {}
    for part in parts:
        ids = set(part["run_id"])
        for column, joined in (part.attrs.get(search.NAN_METRICS_ATTR) or {}).items():
            nan_runs.setdefault(column, []).extend(r for r in joined.split(search.NAN_SEPARATOR) if r in ids)
    df = _with_nan_record(finish_frame(pd.DataFrame(frame)), {k: v for k, v in nan_runs.items() if v})
    return _with_backend(search.drop_absent_columns(df), uri)


# --------------------------------------------------------------------------------------------
# Metric history


def load_metric_history(tracking_uri: str | None, run_ids: list[str], metric_key: str) -> pd.DataFrame:
    """Every logged value of ``metric_key`` for ``run_ids``.

    Returns:
        A frame with columns ``run_id, key, step, timestamp, value`` (timestamp as UTC datetime),
        ordered by run and step.
    """
    rows = []
    with _client(tracking_uri) as client:
        for run_id in run_ids:
            for m in client.get_metric_history(run_id, metric_key):
                rows.append((run_id, m.key, m.step, m.timestamp, m.value))
    df = pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="ms", utc=True)
    return df.sort_values(["run_id", "step", "timestamp"], kind="stable").reset_index(drop=True)


def store_is_empty(tracking_uri: str | None) -> bool:
    """True when the store has no runs in any active experiment (used to offer the demo)."""
    return all(e.run_count == 0 for e in list_experiments(tracking_uri))


# --- reports ---
# Reads the Report needs beyond the runs frame (datasets, logged models, their files, the
# champion alias) and its one write (logging a report as a run's artifacts).

_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
# Files a logged model carries that rebuild its environment.
ENV_FILES = ("conda.yaml", "requirements.txt", "python_env.yaml")


@dataclass(frozen=True)
class DatasetRef:
    """A data set a run logged with ``mlflow.log_input``."""

    name: str
    digest: str
    context: str
    source_type: str


@dataclass(frozen=True)
class ModelRef:
    """A model a run logged: its URI to load it by and the files it carries."""

    name: str
    uri: str
    model_id: str | None
    files: tuple[str, ...]


@dataclass(frozen=True)
class RunRecord:
    """What a reproducibility card needs about one run."""

    run_id: str
    tags: dict
    datasets: tuple[DatasetRef, ...]
    models: tuple[ModelRef, ...]


def _safe_id(value: str) -> bool:
    return bool(value) and set(value) <= _ID_CHARS


def run_records(tracking_uri: str | None, run_ids: list[str]) -> dict[str, RunRecord]:
    """Datasets (``log_input``), logged models and model files of each run in ``run_ids``.

    Models come from MLflow 3's logged models (``search_logged_models`` by source run, and the
    run's outputs), plus MLflow 2-style model folders in the run's own artifacts (a folder that
    holds an ``MLmodel`` file).
    """
    out: dict[str, RunRecord] = {}
    with _client(tracking_uri) as client:
        for run_id in run_ids:
            run = client.get_run(run_id)
            datasets = []
            for di in (run.inputs.dataset_inputs if run.inputs else None) or []:
                ctx = next((t.value for t in di.tags or [] if t.key == "mlflow.data.context"), "")
                datasets.append(DatasetRef(di.dataset.name, di.dataset.digest, ctx, di.dataset.source_type))
            models = _logged_models(client, run)
            out[run_id] = RunRecord(run_id, dict(run.data.tags), tuple(datasets), tuple(models))
    return out


def _logged_models(client, run) -> list[ModelRef]:
    from mlflow.exceptions import MlflowException

    run_id = run.info.run_id
    found: dict[str, object] = {}
    if _safe_id(run_id):
        try:
            for m in _all_pages(lambda token: client.search_logged_models(
                    [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'", page_token=token)):
                found[m.model_id] = m
        except (MlflowException, NotImplementedError):  # stores without logged models
            pass
    for output in (run.outputs.model_outputs if run.outputs else None) or []:
        if output.model_id not in found:
            with contextlib.suppress(MlflowException):
                found[output.model_id] = client.get_logged_model(output.model_id)
    models = []
    for m in sorted(found.values(), key=lambda m: (m.creation_timestamp or 0, m.model_id)):
        try:
            files = tuple(sorted(f.path.rsplit("/", 1)[-1] for f in client.list_logged_model_artifacts(m.model_id)))
        except Exception:  # artifacts out of reach (e.g. remote storage): still show the model
            files = ()
        models.append(ModelRef(m.name, f"models:/{m.model_id}", m.model_id, files))
    # MLflow 2-style: a model folder inside the run's artifacts.
    try:
        for item in client.list_artifacts(run_id):
            if item.is_dir:
                names = tuple(sorted(f.path.rsplit("/", 1)[-1] for f in client.list_artifacts(run_id, item.path)))
                if "MLmodel" in names:
                    models.append(ModelRef(item.path, f"runs:/{run_id}/{item.path}", None, names))
    except Exception:
        pass
    return models


def get_runs(tracking_uri: str | None, run_ids: list[str]) -> pd.DataFrame:
    """The runs frame of ``run_ids`` (any experiment), in the order given; missing ids are skipped."""
    from mlflow.exceptions import MlflowException

    runs = []
    with _client(tracking_uri) as client:
        for run_id in run_ids:
            with contextlib.suppress(MlflowException):
                runs.append(client.get_run(run_id))
        names = {}
        for exp_id in {r.info.experiment_id for r in runs}:
            names[exp_id] = client.get_experiment(exp_id).name
    return runs_to_frame(runs, names)


@dataclass(frozen=True)
class AliasedVersion:
    """The registered model version behind an alias, and the run it came from."""

    model_name: str
    alias: str
    version: str
    run_id: str | None


def champion_versions(tracking_uri: str | None, alias: str = "champion", model_name: str | None = None) -> list[AliasedVersion]:
    """Model versions behind ``alias`` in every registered model (or only ``model_name``).

    Read-only. ``run_id`` is the version's source run: its ``run_id``, else the source run of the
    logged model it was registered from (``models:/<model_id>``).

    Raises:
        NotFoundError: ``model_name`` is given and no such registered model exists.
    """
    from mlflow.exceptions import MlflowException

    out = []
    with _client(tracking_uri) as client:
        if model_name:
            try:
                models = [client.get_registered_model(model_name)]
            except MlflowException as exc:
                if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    raise NotFoundError(f"No registered model named {model_name!r}.") from None
                raise
        else:
            models = _all_pages(lambda token: client.search_registered_models(max_results=1000, page_token=token))
        for rm in sorted(models, key=lambda m: m.name):
            aliases = rm.aliases or {}
            if alias not in aliases:
                continue
            mv = client.get_model_version(rm.name, str(aliases[alias]))
            run_id = mv.run_id or None
            source = mv.source or ""
            if not run_id and source.startswith("models:/m-"):
                with contextlib.suppress(MlflowException):
                    run_id = client.get_logged_model(source.split("/", 1)[1].lstrip("/")).source_run_id
            out.append(AliasedVersion(rm.name, alias, str(mv.version), run_id))
    return out


def log_report(tracking_uri: str | None, experiment: str, files: list[tuple[str, str]], run_name: str, tags: dict[str, str]) -> str:
    """Log report files as artifacts of a new run in ``experiment``; returns the new run id.

    The only write of the report feature; callers ask the user first. ``files`` holds
    ``(local path, artifact folder)`` pairs.
    """
    exp_id = next(iter(resolve_experiments(tracking_uri, [experiment])))
    with _client(tracking_uri) as client:
        run = client.create_run(exp_id, run_name=run_name, tags=tags)
        try:
            for path, folder in files:
                client.log_artifact(run.info.run_id, path, artifact_path=folder or None)
        except Exception:
            client.set_terminated(run.info.run_id, status="FAILED")
            raise
        client.set_terminated(run.info.run_id)
    return run.info.run_id


# --- registry (champion) ---
# Which runs carry a model, the registered model behind an alias, and the champion's writes
# (register a version, set the alias, audit tags). Every write here is called only by
# podium.champion.apply_promotion, after the user confirmed (page) or passed --apply (CLI).

_global_uri_lock = threading.RLock()  # re-entrant: the demo nests promotion inside its own block
_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def process_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's process-global tracking and registry URIs at ``uri`` for a block, then put
    everything back exactly: the globals and the ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``
    environment variables, which ``mlflow.set_tracking_uri`` writes (and, restoring an unset
    global, deletes: a web app would then lose the store it was started on).
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _global_uri_lock:
        saved_env = {k: os.environ.get(k) for k in _URI_ENV}
        saved_tracking, saved_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved_tracking)
            mlflow.set_registry_uri(saved_registry)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# MLflow 2 records each log_model call in this run tag (a JSON list); MLflow 3 does not.
LOG_MODEL_HISTORY_TAG = "tags.mlflow.log-model.history"


@dataclass(frozen=True)
class RunModel:
    """The model a run logged, as the champion registers it.

    ``source`` is what a new model version is created from: ``models:/<model_id>`` for an
    MLflow 3 logged model, else the model folder's location in the run's artifacts.
    ``evidence`` says how it was found: ``logged model``, ``log-model tag`` or ``MLmodel artifact``.
    """

    run_id: str
    name: str
    source: str
    model_id: str | None
    evidence: str


@dataclass(frozen=True)
class RegistryVersion:
    """One version of a registered model, with its tags and the aliases pointing at it."""

    model_name: str
    version: int
    run_id: str | None
    source: str
    status: str
    aliases: tuple[str, ...]
    tags: dict
    created: datetime | None


def run_models(
    tracking_uri: str | None,
    experiment_ids: list[str],
    runs: pd.DataFrame | None = None,
    scan_run_ids: list[str] | tuple[str, ...] = (),
) -> dict[str, RunModel]:
    """The model each run carries, by run id (runs without one are absent).

    Looks, in this order: MLflow 3 logged models (``search_logged_models``, READY ones, by
    ``source_run_id``; the newest when a run logged several); MLflow 2's
    ``mlflow.log-model.history`` tag in ``runs``; and, for ``scan_run_ids`` only (listing
    artifacts costs a request per run), a top-level artifact folder holding an ``MLmodel`` file.
    """
    import json

    from mlflow.exceptions import MlflowException

    found: dict[str, RunModel] = {}
    with _client(tracking_uri) as client:
        if experiment_ids:
            try:
                models = _all_pages(lambda token: client.search_logged_models(
                    [str(e) for e in experiment_ids], max_results=1000, page_token=token))
            except (MlflowException, NotImplementedError):  # stores without logged models
                models = []
            for m in sorted(models, key=lambda m: (m.creation_timestamp or 0, m.model_id)):
                status = getattr(m.status, "name", str(m.status))
                if m.source_run_id and status == "READY":
                    found[m.source_run_id] = RunModel(m.source_run_id, m.name, f"models:/{m.model_id}", m.model_id, "logged model")
        if runs is not None and LOG_MODEL_HISTORY_TAG in runs.columns:
            for run_id, history, artifact_uri in zip(runs["run_id"], runs[LOG_MODEL_HISTORY_TAG], runs["artifact_uri"]):
                if run_id in found or not isinstance(history, str):
                    continue
                try:
                    entries = [e for e in json.loads(history) if isinstance(e, dict) and e.get("artifact_path")]
                except ValueError:
                    continue
                if entries:
                    path = entries[-1]["artifact_path"]
                    found[run_id] = RunModel(run_id, path, f"{artifact_uri}/{path}", None, "log-model tag")
        for run_id in scan_run_ids:
            if run_id in found:
                continue
            with contextlib.suppress(MlflowException, OSError):
                for item in client.list_artifacts(run_id):
                    if item.is_dir and any(f.path.rsplit("/", 1)[-1] == "MLmodel" for f in client.list_artifacts(run_id, item.path)):
                        root = client.get_run(run_id).info.artifact_uri
                        found[run_id] = RunModel(run_id, item.path, f"{root}/{item.path}", None, "MLmodel artifact")
                        break
    return found


def _registry_version(mv, aliases: dict) -> RegistryVersion:
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=timezone.utc) if mv.creation_timestamp else None
    version = int(mv.version)
    names = tuple(sorted(a for a, v in aliases.items() if int(v) == version))
    return RegistryVersion(mv.name, version, mv.run_id or None, mv.source or "", str(mv.status), names, dict(mv.tags or {}), created)


def _get_registered_model(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def registered_model_names(tracking_uri: str | None) -> list[str]:
    """Names of the store's registered models, sorted."""
    with _client(tracking_uri) as client:
        models = _all_pages(lambda token: client.search_registered_models(max_results=1000, page_token=token))
    return sorted(m.name for m in models)


def registered_model_exists(tracking_uri: str | None, name: str) -> bool:
    """True when a registered model called ``name`` exists."""
    with _client(tracking_uri) as client:
        return _get_registered_model(client, name) is not None


def model_versions(tracking_uri: str | None, name: str) -> list[RegistryVersion]:
    """Every version of registered model ``name``, newest version first; [] when it does not exist."""
    with _client(tracking_uri) as client:
        rm = _get_registered_model(client, name)
        if rm is None:
            return []
        quoted = "'" + name + "'" if "'" not in name else '"' + name + '"'
        found = _all_pages(lambda token: client.search_model_versions(f"name = {quoted}", max_results=10000, page_token=token))
        versions = [_registry_version(mv, rm.aliases or {}) for mv in found if mv.name == name]
    return sorted(versions, key=lambda v: v.version, reverse=True)


def version_by_alias(tracking_uri: str | None, name: str, alias: str) -> RegistryVersion | None:
    """The version of ``name`` behind ``alias``; None when the model or the alias does not exist."""
    with _client(tracking_uri) as client:
        rm = _get_registered_model(client, name)
        if rm is None or alias not in (rm.aliases or {}):
            return None
        mv = client.get_model_version(name, str(rm.aliases[alias]))
        return _registry_version(mv, rm.aliases or {})


def create_registered_model(tracking_uri: str | None, name: str) -> bool:
    """Create registered model ``name`` unless it exists; True when it was created."""
    with _client(tracking_uri) as client:
        if _get_registered_model(client, name) is not None:
            return False
        client.create_registered_model(name)
        return True


def register_run_model(tracking_uri: str | None, name: str, model: RunModel) -> tuple[RegistryVersion, bool]:
    """The version of ``name`` made from ``model``'s run, registering one only when none exists.

    Returns:
        ``(version, created)``; ``created`` is False when the run already had a version (the
        newest of them is returned), so calling twice never makes a second version.
    """
    existing = [v for v in model_versions(tracking_uri, name) if v.run_id == model.run_id]
    if existing:
        return existing[0], False
    with _client(tracking_uri) as client:
        # MLflow's SQL registry resolves a ``models:/`` source through the process-global
        # tracking URI (its own TODO says so), so point it at this store for this call only.
        with process_tracking_uri(_prepare_uri(tracking_uri)):
            mv = client.create_model_version(name, source=model.source, run_id=model.run_id, model_id=model.model_id)
        rm = client.get_registered_model(name)
        return _registry_version(mv, rm.aliases or {}), True


def set_model_alias(tracking_uri: str | None, name: str, alias: str, version: int) -> None:
    """Point ``alias`` of registered model ``name`` at ``version``."""
    with _client(tracking_uri) as client:
        client.set_registered_model_alias(name, alias, str(version))


def set_version_tags(tracking_uri: str | None, name: str, version: int, tags: dict[str, str]) -> None:
    """Set tags on one model version (the champion's audit trail)."""
    with _client(tracking_uri) as client:
        for key, value in tags.items():
            client.set_model_version_tag(name, str(version), key, value)
