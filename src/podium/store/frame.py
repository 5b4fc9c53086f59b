"""The runs-frame contract: one pandas DataFrame with MLflow's column names.

``run_id, run_name, experiment_id, experiment_name, status, start_time, end_time, duration_s,
user, user_id, artifact_uri`` (``user`` is the run's user id, else its ``mlflow.user`` tag; ``user_id`` is MLflow's raw value), then ``metrics.*`` (NaN when missing), ``params.*`` and ``tags.*`` (None
when missing), exactly as ``mlflow.search_runs`` gives them; every backend builds it here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from podium.columns import to_float
from podium.config import uri_scheme

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
    "user_id",
    "artifact_uri",
]

# The largest page MLflow's stores and its REST API accept for search_runs.
MAX_PAGE_SIZE = 50_000

# A load's progress: ``progress(loaded, total)``, ``total`` None while the store cannot tell.
Progress = Callable[[int, "int | None"], None]


def with_backend(df: pd.DataFrame, uri: str) -> pd.DataFrame:
    """Note the store kind, whose LIKE/ILIKE rules :func:`podium.search.filter_frame` follows."""
    from podium import search

    scheme = uri_scheme(uri)
    if scheme in search.BACKENDS:
        df.attrs[search.BACKEND_ATTR] = scheme
    return df


def _int_or_none(value):
    return None if value is None else int(value)



def json_runs_to_frame(runs: list[dict], experiment_names: dict[str, str]) -> pd.DataFrame:
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
                    value = to_float(item.get("value", 0.0))
                    if value != value:
                        nan_runs.setdefault(name, []).append(run_id)
                else:
                    value = item.get("value")
                    if prefix == "tags." and item["key"] == "mlflow.user":
                        user_tag = value
                column[i] = value
        # Same as runs_to_frame: the run's user_id, else its mlflow.user tag.
        info["user"][i] = ri.get("user_id") or user_tag
        info["user_id"][i] = ri.get("user_id", "")  # protobuf JSON leaves out an empty string
    frame = dict(info)
    frame.update(columns)
    return with_nan_record(finish_frame(pd.DataFrame(frame)), nan_runs)


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
        info["user_id"].append(ri.user_id)
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
    return with_nan_record(finish_frame(pd.DataFrame(frame)), nan_runs)


def with_nan_record(df: pd.DataFrame, nan_runs: dict[str, list[str]]) -> pd.DataFrame:
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


# Times as epoch milliseconds, for incremental refreshes.


def start_ms(df: pd.DataFrame, column: str = "start_time") -> np.ndarray:
    """Epoch milliseconds of a time column as floats (NaN where missing)."""
    values = df[column]
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    ms = values.dt.tz_convert(None).to_numpy(dtype="datetime64[ms]").astype("int64").astype(float)
    ms[values.isna().to_numpy()] = np.nan
    return ms


def newest(df: pd.DataFrame) -> tuple[int, int]:
    """``(newest start, newest start-or-end)`` in ``df`` as epoch ms (-1 when it has none)."""
    start, end = start_ms(df, "start_time"), start_ms(df, "end_time")
    newest_start = np.nanmax(start) if np.isfinite(start).any() else -1
    stamps = np.concatenate([start, end])
    newest_stamp = np.nanmax(stamps) if np.isfinite(stamps).any() else -1
    return int(newest_start), int(newest_stamp)

