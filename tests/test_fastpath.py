"""The database fast path gives the client path's frame and mlflow.search_runs' runs, and never writes.

For SQLite, PostgreSQL and MariaDB stores, ``load_runs`` reads MLflow's tables directly; these
tests compare its frame with one built from MLflow's own client (``MlflowClient.search_runs``, the
reference) cell by cell, dtype by dtype, and its run ids with ``mlflow.search_runs``. The test
stores are at MLflow's current schema, so opening them with MLflow's client changes nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from podium import search, store
from podium.errors import NotFoundError, StoreError
from stores import AWKWARD_EXPERIMENT, SEARCH_EXPERIMENT, SECOND_EXPERIMENT
from test_search import SEARCH_FILTERS
from test_store import VALID_FILTERS, assert_parity, reference

DB_KINDS = ["sqlite", "postgresql", "mysql"]

DATASET_FILTERS = [
    "datasets.name = 'iris'",
    "datasets.name != 'iris'",
    "datasets.digest LIKE 'abc%'",
    "datasets.context = 'training'",
    "datasets.context IN ('evaluation', 'x')",
    "datasets.name ILIKE 'WINE' and metrics.m != 1",
]


def client_frame(uri: str, experiments: list[str], filter_string: str = "", include_deleted: bool = False) -> pd.DataFrame:
    """The runs frame built from MLflow's client's own Run objects (the reference path)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from podium.store.backends.client import all_pages
    from podium.store.frame import with_backend

    names = store.resolve_experiments(uri, experiments)
    client = MlflowClient(tracking_uri=uri)
    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    runs = all_pages(lambda token: client.search_runs(list(names), filter_string, view, store.MAX_PAGE_SIZE, None, token))
    return with_backend(store.runs_to_frame(runs, names), uri)


def client_experiments(uri: str, include_deleted: bool) -> list[store.Experiment]:
    """The experiments list built from MLflow's client (the reference path)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from podium.store.backends.client import all_pages
    from podium.store.records import last_activity, newest_first

    client = MlflowClient(tracking_uri=uri)
    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    out = []
    for exp in all_pages(lambda token: client.search_experiments(view_type=view, max_results=1000, page_token=token)):
        runs = all_pages(lambda token, e=exp: client.search_runs([e.experiment_id], "", ViewType.ACTIVE_ONLY, 50_000, None, token))
        last = last_activity(max((r.info.start_time or 0 for r in runs), default=0), exp.last_update_time, exp.creation_time)
        out.append(store.Experiment(exp.experiment_id, exp.name, len(runs), last, exp.lifecycle_stage))
    return newest_first(out)


def assert_same_frame(fast: pd.DataFrame, client: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fast, client, check_exact=True)
    assert fast.attrs == client.attrs


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("filter_string", VALID_FILTERS)
def test_fast_path_matches_client_and_mlflow_on_awkward_data(awkward_stores, kind, filter_string):
    uri, _ = awkward_stores.get(kind)
    exps = [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]
    fast = store.load_runs(uri, exps, filter_string)
    assert_same_frame(fast, client_frame(uri, exps, filter_string))
    assert_parity(fast, reference(uri, list(store.resolve_experiments(uri, exps)), filter_string, False))


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("filter_string", SEARCH_FILTERS + DATASET_FILTERS)
def test_fast_path_matches_client_and_mlflow_on_search_cases(search_stores, kind, filter_string):
    uri, _ = search_stores(kind)
    fast = store.load_runs(uri, [SEARCH_EXPERIMENT], filter_string)
    assert_same_frame(fast, client_frame(uri, [SEARCH_EXPERIMENT], filter_string))
    assert_parity(fast, reference(uri, list(store.resolve_experiments(uri, [SEARCH_EXPERIMENT])), filter_string, False))


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_fast_path_deleted_runs(awkward_stores, kind, include_deleted):
    uri, ids = awkward_stores.get(kind)
    fast = store.load_runs(uri, [AWKWARD_EXPERIMENT], include_deleted=include_deleted)
    assert (ids["deleted"] in set(fast["run_id"])) is include_deleted
    assert_same_frame(fast, client_frame(uri, [AWKWARD_EXPERIMENT], include_deleted=include_deleted))


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_fast_list_experiments_matches_client(awkward_stores, kind, include_deleted):
    uri, _ = awkward_stores.get(kind)
    assert store.list_experiments(uri, include_deleted) == client_experiments(uri, include_deleted)


@pytest.mark.parametrize("kind", DB_KINDS)
def test_dataset_filters_on_a_loaded_frame(search_stores, kind):
    from podium.store.backends import _tables

    uri, _ = search_stores(kind)
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    datasets = _tables.read_datasets(uri, list(frame["run_id"]))
    for filter_string in DATASET_FILTERS:
        ours = search.filter_frame(frame, filter_string, datasets=datasets)
        assert list(ours["run_id"]) == list(store.load_runs(uri, [SEARCH_EXPERIMENT], filter_string)["run_id"])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_sqlite_file_is_reported_and_stays_missing(tmp_path):
    path = tmp_path / "nothing-here.db"
    uri = f"sqlite:///{path}"
    with pytest.raises(StoreError, match="No MLflow store at .*never creates"):
        store.list_experiments(uri)
    assert store.store_is_empty(uri)
    with pytest.raises(StoreError, match="No MLflow store"):
        store.load_runs(uri, ["anything"])
    assert not path.exists()


@pytest.mark.parametrize("content", ["empty file", "other tables"])
def test_sqlite_without_mlflow_tables_is_not_migrated(tmp_path, content):
    path = tmp_path / "not-mlflow.db"
    with sqlite3.connect(path) as conn:
        if content == "other tables":
            conn.execute("CREATE TABLE notes (x TEXT)")
    before = _digest(path)
    uri = f"sqlite:///{path}"
    with pytest.raises(StoreError, match="No MLflow store"):
        store.list_experiments(uri)
    with pytest.raises(StoreError, match="No MLflow store"):
        store.load_runs(uri, ["anything"])
    assert _digest(path) == before
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == ({"notes"} if content == "other tables" else set())


def test_reading_a_sqlite_store_leaves_the_file_untouched(sqlite_awkward):
    uri, _ = sqlite_awkward
    path = Path(uri.removeprefix("sqlite:///"))
    before = _digest(path)
    store.list_experiments(uri)
    store.load_runs(uri, [AWKWARD_EXPERIMENT], "metrics.accuracy > 0.5")
    assert _digest(path) == before


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_empty_server_database_is_not_migrated(kind):
    import sqlalchemy as sa

    import stores

    make = stores.postgres_database if kind == "postgresql" else stores.mysql_database
    with make() as uri:
        with pytest.raises(StoreError, match="No MLflow store"):
            store.list_experiments(uri)
        assert store.store_is_empty(uri)
        eng = sa.create_engine(uri)
        try:
            with eng.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []
        finally:
            eng.dispose()
        from podium.store.backends import _tables

        # Let the test helper drop the database: close the pooled connection first.
        _tables.engine(uri).dispose()


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://bob:s3cret@127.0.0.1:9/nodb",
        "mysql+pymysql://carol:s3cret@127.0.0.1:9/nodb",
    ],
)
def test_fast_path_connection_failure_is_a_store_error(uri):
    with pytest.raises(StoreError) as err:
        store.load_runs(uri, ["x"])
    assert "s3cret" not in str(err.value)
    assert ":***@127.0.0.1:9" in str(err.value)


# --- HTTP: the REST fast path against a real ``mlflow server`` (SQLite behind it) ---


@pytest.mark.parametrize("filter_string", VALID_FILTERS)
def test_http_path_matches_client_and_mlflow_on_awkward_data(awkward_stores, filter_string):
    uri, _ = awkward_stores.get("http")
    exps = [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]
    fast = store.load_runs(uri, exps, filter_string)
    assert_same_frame(fast, client_frame(uri, exps, filter_string))
    assert_parity(fast, reference(uri, list(store.resolve_experiments(uri, exps)), filter_string, False))


@pytest.mark.parametrize("filter_string", SEARCH_FILTERS + DATASET_FILTERS)
def test_http_path_matches_client_and_mlflow_on_search_cases(search_stores, filter_string):
    uri, _ = search_stores("http")
    fast = store.load_runs(uri, [SEARCH_EXPERIMENT], filter_string)
    assert_same_frame(fast, client_frame(uri, [SEARCH_EXPERIMENT], filter_string))
    assert_parity(fast, reference(uri, list(store.resolve_experiments(uri, [SEARCH_EXPERIMENT])), filter_string, False))


@pytest.mark.parametrize("include_deleted", [False, True])
def test_http_path_deleted_runs(awkward_stores, include_deleted):
    uri, ids = awkward_stores.get("http")
    fast = store.load_runs(uri, [AWKWARD_EXPERIMENT], include_deleted=include_deleted)
    assert (ids["deleted"] in set(fast["run_id"])) is include_deleted
    assert_same_frame(fast, client_frame(uri, [AWKWARD_EXPERIMENT], include_deleted=include_deleted))


@pytest.mark.parametrize("filter_string", ["metrics.accuracy >> 0.9", "params.model > 'a'", "attributes.status IN ('X')"])
def test_http_path_bad_filter_is_a_filter_error(awkward_stores, filter_string):
    from podium.errors import FilterError

    uri, _ = awkward_stores.get("http")
    with pytest.raises(FilterError) as err:
        store.load_runs(uri, [AWKWARD_EXPERIMENT], filter_string)
    with pytest.raises(FilterError) as expected:
        search.validate_filter(filter_string)
    assert str(err.value) == str(expected.value)


@pytest.mark.parametrize(("first", "page", "parallel"), [(2, 3, 4), (1, 1, 2), (5, 100, 3), (100, 1, 1)])
def test_http_paging_in_parallel_gives_every_run_once(awkward_stores, monkeypatch, first, page, parallel):
    # Small pages so the awkward store (13 runs) spans many of them.
    from podium.store.backends import rest

    monkeypatch.setattr(rest, "FIRST_PAGE", first)
    monkeypatch.setattr(rest, "PAGE", page)
    monkeypatch.setattr(rest, "PARALLEL", parallel)
    uri, _ = awkward_stores.get("http")
    exps = [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]
    for include_deleted in (False, True):
        fast = store.load_runs(uri, exps, include_deleted=include_deleted)
        assert fast["run_id"].is_unique
        assert_same_frame(fast, client_frame(uri, exps, include_deleted=include_deleted))


@pytest.mark.parametrize("offset", [0, 1, 1000, 49_999])
def test_page_token_is_mlflows(offset):
    from mlflow.utils.search_utils import SearchUtils

    from podium.store.backends import rest

    assert rest.offset_token(offset) == SearchUtils.create_page_token(offset).decode()
    assert rest.page_offset(rest.offset_token(offset)) == offset
