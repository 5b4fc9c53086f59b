"""Filter parity with ``mlflow.search_runs`` on the cases issue 11 found Podium answering differently.

A SQLite store (MLflow's own schema, migrated by the installed MLflow) and a file store are
written once per module by the real MLflow client: runs whose start and end times fall on exact
odd milliseconds, one whose client logged microseconds (a start time past the year 2262), runs with
an empty ``user_id`` (one of them with an ``mlflow.user`` tag that says otherwise), and runs
without an ``mlflow.runName`` tag. Each filter is applied by ``search.filter_frame`` to the
unfiltered frame from ``store.load_runs`` and compared, run ids and order, with what
``mlflow.search_runs`` returns for the same experiment and filter. Integers beyond 64 bits are
also checked on PostgreSQL and MySQL (the session's search-case stores): MLflow raises on SQLite
and PostgreSQL and compares on MySQL and file stores, and so must Podium.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import stores

from podium import search, store
from podium.errors import FilterError
from test_store import assert_parity, reference

TIMES, FAR, USERS = "parity-times", "parity-far-times", "parity-users"
UNTAGGED, MIXED = "parity-names-untagged", "parity-names-mixed"
KINDS = ["sqlite", "file"]

BASE = 1_700_000_000_000
# Start times on odd milliseconds (float rounding of such values was off by one in a quarter of them).
STARTS = [BASE + 30, BASE + 31, BASE + 29, BASE + 1, BASE + 999, BASE + 1000] + [BASE + 13 + 37 * k for k in range(24)]
MICROS_START = 1_700_000_000_030_123  # a client that logged microseconds: the year 55,800
MICROS_END = 1_700_000_000_090_456


def end_of(i: int, start: int) -> int:
    return start + 1000 * i + 7


def populate(uri: str) -> dict[str, str]:
    """Write the parity cases with MLflow's own client; returns {label: run_id}."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    ids: dict[str, str] = {}
    exp = client.create_experiment(TIMES)
    for i, start in enumerate(STARTS):
        run = client.create_run(exp, start_time=start, run_name=f"t{i}", tags={"mlflow.user": "alice"})
        client.set_terminated(run.info.run_id, "FINISHED", end_time=end_of(i, start))
        ids[f"t{i}"] = run.info.run_id
    ids["running"] = client.create_run(exp, start_time=BASE + 77, run_name="running").info.run_id

    exp = client.create_experiment(FAR)
    run = client.create_run(exp, start_time=MICROS_START, run_name="micros", tags={"mlflow.user": "alice"})
    client.set_terminated(run.info.run_id, "FINISHED", end_time=MICROS_END)
    ids["micros"] = run.info.run_id
    run = client.create_run(exp, start_time=BASE + 5, run_name="near")
    client.set_terminated(run.info.run_id, "FINISHED", end_time=BASE + 6)
    ids["near"] = run.info.run_id
    ids["far-running"] = client.create_run(exp, start_time=BASE + 7, run_name="far-running").info.run_id

    exp = client.create_experiment(USERS)
    # create_run takes user_id from the mlflow.user tag ("unknown" without one).
    ids["alice"] = client.create_run(exp, start_time=BASE + 1, run_name="u-alice", tags={"mlflow.user": "alice"}).info.run_id
    ids["empty"] = client.create_run(exp, start_time=BASE + 2, run_name="u-empty", tags={"mlflow.user": ""}).info.run_id
    run = client.create_run(exp, start_time=BASE + 3, run_name="u-empty-tag-bob", tags={"mlflow.user": ""})
    client.set_tag(run.info.run_id, "mlflow.user", "bob")  # user_id stays '', Podium's user says bob
    ids["empty-bob"] = run.info.run_id
    ids["unknown"] = client.create_run(exp, start_time=BASE + 4, run_name="u-unknown").info.run_id

    for exp_name, untagged in ((UNTAGGED, ("alpha", "beta")), (MIXED, ("beta",))):
        exp = client.create_experiment(exp_name)
        for j, name in enumerate(("alpha", "beta", "gamma")):
            if exp_name == UNTAGGED and name == "gamma":
                continue
            rid = client.create_run(exp, start_time=BASE + 10 + j, run_name=name).info.run_id
            if name in untagged:
                # As MLflow <= 1.29 left runs: a name, but no mlflow.runName tag to search.
                client.delete_tag(rid, "mlflow.runName")
            ids[f"{exp_name}:{name}"] = rid
    return ids


@pytest.fixture(scope="module")
def parity_stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("filter-parity")
    out = {}
    uri = stores.fresh_sqlite(base / "parity.db")
    out["sqlite"] = (uri, populate(uri))
    path = base / "mlruns"
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        out["file"] = (str(path), populate(Path(path).as_uri()))
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    return out


def check(parity_stores, kind: str, experiment: str, filter_string: str):
    uri, ids = parity_stores[kind]
    frame = store.load_runs(uri, [experiment])
    exp_id = frame["experiment_id"].iloc[0]
    theirs = reference(uri, [exp_id], filter_string, False)
    ours = search.filter_frame(frame, filter_string)
    assert_parity(ours, theirs)
    return ours, theirs, ids


EXACT = [BASE + 30, BASE + 31, BASE + 29, BASE + 1000, STARTS[10], STARTS[17]]
TIME_FILTERS = (
    [f"attributes.start_time {op} {t}" for t in EXACT for op in ("=", "!=", ">=", "<", ">", "<=")]
    + [f"attributes.end_time = {end_of(i, STARTS[i])}" for i in (0, 1, 2, 10, 17)]
    + [f"attributes.end_time >= {end_of(5, STARTS[5])}", f"attributes.created = {BASE + 31}"]
    + [
        f"attributes.start_time = {BASE + 30}.0",
        f"attributes.start_time > {BASE + 29}.5",
        f"attributes.start_time <= {BASE + 30}.5",
        f"attributes.start_time != {BASE + 30}.5",
        "attributes.end_time != 0",
        f"attributes.start_time >= {BASE + 30} and attributes.end_time < {end_of(10, STARTS[10])}",
    ]
)
# A start time in microseconds (past what nanosecond datetimes hold) beside ordinary ones.
FAR_FILTERS = [
    "attributes.start_time > 0",
    "attributes.end_time > 0",
    "attributes.end_time != 0",
    "attributes.start_time < 0",
    f"attributes.start_time = {MICROS_START}",
    f"attributes.start_time != {MICROS_START}",
    f"attributes.start_time > {BASE * 10}",
    f"attributes.end_time <= {MICROS_END}",
    f"attributes.end_time < {MICROS_END}",
    f"attributes.created = {BASE + 5}",
    "attributes.start_time > 1e18",
    "attributes.start_time < 1e300",
    "attributes.start_time <= 9223372036854775807",
    "attributes.start_time > -9223372036854775808",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("filter_string", TIME_FILTERS)
def test_exact_millisecond_times(parity_stores, kind, filter_string):
    check(parity_stores, kind, TIMES, filter_string)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("filter_string", FAR_FILTERS)
def test_times_past_2262(parity_stores, kind, filter_string):
    check(parity_stores, kind, FAR, filter_string)


def test_exact_time_hits_exactly_one_run(parity_stores):
    ours, _, ids = check(parity_stores, "sqlite", TIMES, f"attributes.start_time = {BASE + 30}")
    assert list(ours["run_id"]) == [ids["t0"]]


@pytest.mark.parametrize("kind", KINDS)
def test_times_past_2262_do_not_crash(parity_stores, kind):
    ours, _, ids = check(parity_stores, kind, FAR, "attributes.start_time > 0")
    assert set(ours["run_id"]) == {ids["micros"], ids["near"], ids["far-running"]}


USER_FILTERS = [
    "attributes.user_id = ''",
    "attributes.user_id != ''",
    "attributes.user_id = 'bob'",
    "attributes.user_id != 'bob'",
    "attributes.user_id = 'alice'",
    "attributes.user_id = 'unknown'",
    "attributes.user_id LIKE '%'",
    "attributes.user_id LIKE 'b%'",
    "attributes.user_id ILIKE '%O%'",
    "attributes.user_id != 'nobody'",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("filter_string", USER_FILTERS)
def test_user_id_is_mlflows_raw_user_id(parity_stores, kind, filter_string):
    check(parity_stores, kind, USERS, filter_string)


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("attributes.user_id = ''", {"empty", "empty-bob"}),
    ("attributes.user_id = 'bob'", set()),
    ("attributes.user_id != 'alice'", {"empty", "empty-bob", "unknown"}),
])
def test_empty_user_ids_on_sqlite(parity_stores, filter_string, expected):
    ours, _, ids = check(parity_stores, "sqlite", USERS, filter_string)
    assert {label for label, rid in ids.items() if rid in set(ours["run_id"])} == expected


NAME_FILTERS = [
    "attributes.run_name = 'alpha'",
    "attributes.run_name = 'beta'",
    "attributes.run_name != 'alpha'",
    "attributes.run_name LIKE '%a'",
    "attributes.run_name ILIKE 'BETA'",
    "run_name LIKE '%'",
    "attributes.`Run name` = 'gamma'",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("experiment", [UNTAGGED, MIXED])
@pytest.mark.parametrize("filter_string", NAME_FILTERS)
def test_run_name_without_the_tag(parity_stores, kind, experiment, filter_string):
    check(parity_stores, kind, experiment, filter_string)


def test_sqlite_run_name_is_only_the_tag(parity_stores):
    ours, theirs, ids = check(parity_stores, "sqlite", UNTAGGED, "run_name LIKE '%'")
    assert ours.empty and theirs.empty  # the runs have names, but no tag MLflow's SQL search sees


TOO_LARGE = [
    "attributes.start_time > 99999999999999999999",
    "attributes.end_time < -99999999999999999999",
    "attributes.start_time = 9223372036854775808",
    "attributes.created != -9223372036854775809",
]


def too_large_store(parity_stores, search_stores, kind: str) -> tuple[str, str]:
    """(uri, experiment) of a store with runs for the too-large-integer cases."""
    if kind in parity_stores:
        return parity_stores[kind][0], FAR
    from stores import SEARCH_EXPERIMENT

    return search_stores(kind)[0], SEARCH_EXPERIMENT


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("filter_string", TOO_LARGE)
def test_integers_beyond_64_bits_raise_where_mlflow_raises(parity_stores, search_stores, kind, filter_string):
    """SQLite cannot bind them (OverflowError); PostgreSQL casts them to BIGINT ("bigint out of range")."""
    uri, experiment = too_large_store(parity_stores, search_stores, kind)
    frame = store.load_runs(uri, [experiment])
    with pytest.raises(Exception):  # noqa: B017  (the driver's own error, sometimes wrapped by MLflow)
        reference(uri, [frame["experiment_id"].iloc[0]], filter_string, False)
    with pytest.raises(FilterError, match="too large for a .* store"):
        search.filter_frame(frame, filter_string)


@pytest.mark.parametrize("kind", ["file", "mysql"])
@pytest.mark.parametrize("filter_string", TOO_LARGE)
def test_integers_beyond_64_bits_compare_where_mlflow_compares(parity_stores, search_stores, kind, filter_string):
    uri, experiment = too_large_store(parity_stores, search_stores, kind)
    frame = store.load_runs(uri, [experiment])
    ours = search.filter_frame(frame, filter_string)
    assert_parity(ours, reference(uri, [frame["experiment_id"].iloc[0]], filter_string, False))
