"""``store.metric_summaries`` equals what MLflow's own ``get_metric_history`` gives, on every store
kind (one grouped query on databases, the histories over HTTP and in ./mlruns)."""

from __future__ import annotations

import math
import os

import pytest

from podium import store
from podium.config import file_store_uri, is_file_store
from stores import AWKWARD_EXPERIMENT, SECOND_EXPERIMENT


def mlflow_summary(uri: str, run_id: str, key: str) -> dict:
    """Min, max, their first steps, the count and the latest value, from MLflow's client."""
    from mlflow import MlflowClient

    if is_file_store(uri):
        uri = file_store_uri(uri)
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        history = MlflowClient(tracking_uri=uri).get_metric_history(run_id, key)
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    if not history:
        return {"n": 0}
    real = [m for m in history if not math.isnan(m.value)]
    low = min(real, key=lambda m: (m.value, m.step)) if real else None
    high = min(real, key=lambda m: (-m.value, m.step)) if real else None
    latest = max(history, key=lambda m: (m.step, m.timestamp, -math.inf if math.isnan(m.value) else m.value))
    return {"min": low.value if low else math.nan, "min_step": low.step if low else None,
            "max": high.value if high else math.nan, "max_step": high.step if high else None,
            "n": len(history), "last": latest.value}


def missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def same(a, b) -> bool:
    return (missing(a) and missing(b)) or a == b


def test_metric_summaries_equal_mlflows_histories(awkward_store):
    uri, _ids = awkward_store
    runs = store.load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT])
    keys = sorted(c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics."))
    run_ids = list(runs["run_id"])
    got = store.metric_summaries(uri, run_ids, keys)
    assert list(got.columns) == store.SUMMARY_COLUMNS
    assert len(got) > 0
    compared = 0
    for row in got.to_dict("records"):
        want = mlflow_summary(uri, row["run_id"], row["key"])
        for field in ("min", "max", "n", "last", "min_step", "max_step"):
            assert same(row[field], want[field]), (row["run_id"], row["key"], field, row[field], want[field])
        compared += 1
    # Every run and key MLflow has a history for is there, and nothing else.
    expected = {(r, k) for r in run_ids for k in keys if mlflow_summary(uri, r, k)["n"]}
    assert {(r["run_id"], r["key"]) for r in got.to_dict("records")} == expected
    assert compared == len(expected)


@pytest.mark.parametrize("keys", [[], ["no-such-metric"]])
def test_metric_summaries_of_nothing_are_empty(sqlite_awkward, keys):
    uri, ids = sqlite_awkward
    got = store.metric_summaries(uri, list(ids.values()), keys)
    assert got.empty and list(got.columns) == store.SUMMARY_COLUMNS
