"""Store parity: ``load_runs`` gives what ``mlflow.search_runs`` gives, on every store kind."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pandas as pd
import pytest

from podium import store
from podium.config import file_store_uri, is_file_store
from podium.errors import FilterError, NotFoundError, StoreError
from stores import AWKWARD_EXPERIMENT, HOSTILE_NAME, SECOND_EXPERIMENT

VALID_FILTERS = [
    "",
    "metrics.accuracy > 0.9",
    "metrics.accuracy >= 0.5 and params.model = 'rf'",
    "params.model != 'rf'",
    "metrics.f1 < 0.85",
    "metrics.latency_ms <= 30",
    "metrics.loss > 1000",
    "params.n_estimators = '100'",
    "tags.team = 'risk'",
    "tags.team != 'risk'",
    "tags.team LIKE '%o%'",
    "tags.team ILIKE '%RISK%'",
    "params.model LIKE 'g%'",
    "attributes.status = 'FAILED'",
    "attributes.status != 'FINISHED'",
    "attributes.run_name = 'plain-rf'",
    "attributes.run_name LIKE '%child%'",
    "attributes.start_time > 1700000005000",
    "tags.`mlflow.parentRunId` != ''",
    "params.`odd key:x/y` = 'a|b`c`'",
    "tags.note = 'naïve — ünïcödé'",
    "metrics.zero = 0",
    "metrics.neg < 0",
]

INVALID_FILTERS = [
    "metrics.accuracy >> 0.9",
    "accuracy > 0.9",
    "metrics.accuracy > 'high'",
    "params.model = rf",
    "metrics.accuracy > 0.9 or metrics.f1 > 0.1",
    "foo.bar = 'x'",
]


def reference(uri: str, experiment_ids: list[str], filter_string: str, include_deleted: bool) -> pd.DataFrame:
    """What ``mlflow.search_runs`` itself returns for the same arguments."""
    import mlflow
    from mlflow.entities import ViewType

    if is_file_store(uri):
        uri = file_store_uri(uri)
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(uri)
    try:
        return mlflow.search_runs(
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            run_view_type=ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY,
        )
    finally:
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def same_value(a, b) -> bool:
    a_missing = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    b_missing = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if a_missing or b_missing:
        return a_missing and b_missing
    return a == b


def assert_parity(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert sorted(ours["run_id"]) == sorted(theirs["run_id"])
    assert list(ours["run_id"]) == list(theirs["run_id"]), "row order differs from mlflow.search_runs"
    data_cols = [c for c in theirs.columns if c.startswith(("params.", "metrics.", "tags."))]
    assert sorted(c for c in ours.columns if c.startswith(("params.", "metrics.", "tags."))) == sorted(data_cols)
    ours_i = ours.set_index("run_id")
    theirs_i = theirs.set_index("run_id")
    for col in data_cols:
        for run_id in theirs_i.index:
            a, b = ours_i.at[run_id, col], theirs_i.at[run_id, col]
            assert same_value(a, b), f"{col} of {run_id}: podium {a!r} != mlflow {b!r}"
            if col.startswith("metrics.") and isinstance(b, float) and math.isinf(b):
                assert a == b  # +inf and -inf kept with their sign
    for col in ("status", "experiment_id"):
        assert list(ours_i.loc[theirs_i.index, col]) == list(theirs_i[col])


@pytest.mark.parametrize("filter_string", VALID_FILTERS)
def test_load_runs_matches_search_runs(awkward_store, filter_string):
    uri, _ = awkward_store
    exp_ids = [e.id for e in store.list_experiments(uri) if e.name in (AWKWARD_EXPERIMENT, SECOND_EXPERIMENT)]
    ours = store.load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT], filter_string)
    assert_parity(ours, reference(uri, exp_ids, filter_string, False))


@pytest.mark.parametrize("include_deleted", [False, True])
def test_deleted_runs_only_when_asked(awkward_store, include_deleted):
    uri, ids = awkward_store
    ours = store.load_runs(uri, [AWKWARD_EXPERIMENT], include_deleted=include_deleted)
    assert (ids["deleted"] in set(ours["run_id"])) is include_deleted
    exp_id = ours["experiment_id"].iloc[0]
    assert_parity(ours, reference(uri, [exp_id], "", include_deleted))


def test_awkward_values_survive(awkward_store):
    uri, ids = awkward_store
    df = store.load_runs(uri, [AWKWARD_EXPERIMENT]).set_index("run_id")
    assert math.isnan(df.at[ids["nan"], "metrics.accuracy"])
    # MLflow's SQL stores save ±inf as ±float max; the file store keeps inf. Either way the sign
    # and the magnitude survive (parity with mlflow.search_runs is checked value by value above).
    assert df.at[ids["posinf"], "metrics.loss"] >= sys.float_info.max
    assert df.at[ids["posinf"], "metrics.latency_ms"] <= -sys.float_info.max
    assert df.at[ids["unicode"], "run_name"] == "ラン-✓ émoji 🚀"
    assert df.at[ids["hostile"], "run_name"] == HOSTILE_NAME
    assert df.at[ids["hostile"], "params.model"] == "<img src=x onerror=alert(1)>"
    assert df.at[ids["failed"], "status"] == "FAILED"
    assert df.at[ids["running"], "status"] == "RUNNING"
    assert math.isnan(df.at[ids["running"], "duration_s"])
    assert df.at[ids["plain"], "duration_s"] == pytest.approx(1.51)
    assert df.at[ids["child1"], "tags.mlflow.parentRunId"] == ids["parent"]
    assert set(df["experiment_name"]) == {AWKWARD_EXPERIMENT}
    assert str(df["start_time"].dtype).startswith("datetime64")


def test_experiments_by_name_or_id(awkward_store):
    uri, ids = awkward_store
    exps = {e.name: e for e in store.list_experiments(uri)}
    assert exps[AWKWARD_EXPERIMENT].run_count == 11  # 12 created, one deleted
    assert exps[SECOND_EXPERIMENT].run_count == 2
    assert exps[AWKWARD_EXPERIMENT].last_activity is not None
    by_id = store.load_runs(uri, [exps[SECOND_EXPERIMENT].id])
    by_name = store.load_runs(uri, [SECOND_EXPERIMENT])
    assert list(by_id["run_id"]) == list(by_name["run_id"])
    assert set(by_name["run_id"]) == {ids["other1"], ids["other2"]}


@pytest.mark.parametrize("filter_string", INVALID_FILTERS)
def test_bad_filter_raises_mlflows_message(sqlite_awkward, filter_string):
    from mlflow.exceptions import MlflowException
    from mlflow.utils.search_utils import SearchUtils

    uri, _ = sqlite_awkward
    with pytest.raises(FilterError) as ours:
        store.load_runs(uri, [AWKWARD_EXPERIMENT], filter_string)
    try:
        SearchUtils.parse_search_filter(filter_string)
        mlflow_message = None
    except MlflowException as exc:
        mlflow_message = exc.message
    if mlflow_message is not None:
        assert str(ours.value) == mlflow_message
    assert "Traceback" not in str(ours.value)


def test_unknown_experiment_is_named(sqlite_awkward):
    uri, _ = sqlite_awkward
    with pytest.raises(NotFoundError, match="no-such-exp"):
        store.load_runs(uri, ["no-such-exp"])


@pytest.mark.parametrize(
    "uri",
    [
        "http://alice:s3cret@127.0.0.1:9/",
        "postgresql://bob:s3cret@127.0.0.1:9/nodb",
        "mysql+pymysql://carol:s3cret@127.0.0.1:9/nodb",
    ],
)
def test_unreachable_store_names_redacted_uri(uri):
    with pytest.raises(StoreError) as err:
        store.list_experiments(uri)
    message = str(err.value)
    assert "s3cret" not in message
    # Databases show the user with the password redacted; a tracking server's credentials are
    # taken out of the URI (they travel as HTTP auth), so it is shown without them.
    assert (":***@127.0.0.1:9" if not uri.startswith("http") else "http://127.0.0.1:9") in message


def test_missing_file_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="mlruns"):
        store.list_experiments(str(tmp_path / "nowhere"))


def test_file_store_read_leaves_environment_alone(awkward_stores):
    uri, _ = awkward_stores.get("file")
    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    assert len(store.load_runs(uri, [AWKWARD_EXPERIMENT])) == 11
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


def test_metric_history(sqlite_awkward):
    uri, ids = sqlite_awkward
    hist = store.load_metric_history(uri, [ids["plain"], ids["nan"]], "loss")
    assert list(hist.columns) == ["run_id", "key", "step", "timestamp", "value"]
    assert list(hist["step"]) == [0, 1, 2, 3]
    assert list(hist["value"]) == [0.9, 0.5, 0.3, 0.25]


def test_empty_experiment_gives_empty_frame(fresh_sqlite_uri):
    from mlflow import MlflowClient

    MlflowClient(fresh_sqlite_uri).create_experiment("empty")
    df = store.load_runs(fresh_sqlite_uri, ["empty"])
    assert df.empty
    assert {"run_id", "run_name", "metrics" if False else "status"} <= set(df.columns)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_store_whose_tables_appear_after_podium_looked_is_read_without_a_restart(kind, tmp_path):
    """Podium started on an empty database (the team's MLflow server not started yet): "No MLflow
    store" at first, then, once MLflow has created its tables, the runs on the next try (Retry),
    not the first answer kept until a restart."""
    import contextlib

    import mlflow

    from harness import databases

    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            path = tmp_path / "later.db"
            path.touch()
            uri = f"sqlite:///{path}"
        else:
            uri = stack.enter_context(databases.postgres_database())
        with pytest.raises(StoreError, match="No MLflow store"):
            store.list_experiments(uri)
        client = mlflow.MlflowClient(uri)  # MLflow creates its tables (the team's server would)
        client.create_run(client.create_experiment("appeared"))
        assert [(e.name, e.run_count) for e in store.list_experiments(uri) if e.name == "appeared"] == [("appeared", 1)]
        assert len(store.load_runs(uri, ["appeared"])) == 1
