"""``search.filter_frame`` keeps exactly the runs ``mlflow.search_runs`` returns for a filter.

Each filter is applied to the unfiltered frame from ``store.load_runs`` and compared with what
``mlflow.search_runs`` (the backend's own SQL, or the file store's Python) returns for the same
filter string, run ids in the same order, on every backend.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podium import search, store
from podium.errors import FilterError
from stores import AWKWARD_EXPERIMENT, SEARCH_EXPERIMENT, SECOND_EXPERIMENT
from test_store import INVALID_FILTERS, VALID_FILTERS, assert_parity, reference

SEARCH_KINDS = ["sqlite", "postgresql", "mysql", "file"]

# Filters whose answer depends on NaN/inf/missing handling, LIKE wildcards, case folding and
# backslash escapes: the places where backends (and naive re-implementations) differ.
SEARCH_FILTERS = [
    "tags.cap = 'alpha'",
    "tags.cap != 'alpha'",
    "tags.cap LIKE 'a%'",
    "tags.cap LIKE 'A%'",
    "tags.cap ILIKE 'a%'",
    "tags.cap ILIKE 'ALPHA'",
    "tags.uni ILIKE 'é%'",
    "tags.uni ILIKE 'ÉCOLE'",
    "tags.uni LIKE '_cole'",
    "tags.under LIKE 'a_b'",
    "tags.under LIKE 'a\\_b'",
    "tags.bs LIKE 'a\\b'",
    "tags.bs = 'a\\b'",
    "tags.pct LIKE '50%'",
    "tags.pct LIKE '50\\%'",
    "tags.nl LIKE 'line1%'",
    "tags.nl LIKE '%line2'",
    "tags.nl LIKE 'line1_line2'",
    "tags.space = 'x'",
    "tags.space LIKE 'x_'",
    "tags.empty = ''",
    "tags.empty != 'x'",
    "tags.empty LIKE '%'",
    "tags.empty IS NULL",
    "tags.empty IS NOT NULL",
    "tags.cap IS NULL",
    "params.p IS NOT NULL",
    "params.lr IS NULL",
    "params.p = 'alpha'",
    "params.p ILIKE 'alpha'",
    "params.p != 'ALPHA'",
    "params.missing != 'x'",
    "metrics.m != 1",
    "metrics.m = 0",
    "metrics.m < 2",
    "metrics.m >= 0",
    "metrics.missing != 0",
    "metrics.big > 1e308",
    "metrics.big >= 1.7976931348623157e308",
    "metrics.big < -1e308",
    "metrics.big != 5",
    "metrics.zero = 0",
    "metrics.zero = -0.0",
    "metrics.zero < 0",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'RUNNING'",
    "attributes.status LIKE 'F%'",
    "attributes.status ILIKE 'fin%'",
    "attributes.run_name = 'Upper_Case'",
    "attributes.run_name LIKE '%\\_case'",
    "attributes.run_name ILIKE '%_CASE'",
    "attributes.run_name != 'bare'",
    "attributes.`Run name` LIKE 'failed%'",
    "run_name LIKE '%\\%%'",
    "attributes.end_time > 0",
    "attributes.end_time != 0",
    "attributes.start_time >= 1710000003000",
    "attributes.created < 1710000003000",
    "attributes.start_time != 1710000003000",
    "attributes.user_id LIKE '%'",
    "attributes.user_id != 'nobody'",
    "attributes.artifact_uri LIKE '%'",
    "attributes.artifact_uri ILIKE '%ARTIFACTS%'",
    "metrics.m > 0 and tags.cap ILIKE 'alpha' and attributes.status != 'FAILED'",
    "tags.cap != 'alpha' and metrics.m != 1",
]

# Filters MLflow rejects only when it searches (the parser alone accepts them).
SEARCH_INVALID = INVALID_FILTERS + [
    "metrics.m LIKE '%1'",
    "params.p > 'a'",
    "tags.cap < 'b'",
    "attributes.status IN ('FINISHED')",
    "metrics.m IS NULL",
    "attributes.start_time LIKE '1%'",
    "attributes.nope = 'x'",
    "datasets.size = 'x'",
]


@pytest.mark.parametrize("kind", SEARCH_KINDS)
@pytest.mark.parametrize("filter_string", SEARCH_FILTERS)
def test_filter_frame_matches_search_runs(search_stores, kind, filter_string):
    uri, _ = search_stores(kind)
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    ours = search.filter_frame(frame, filter_string)
    exp_id = frame["experiment_id"].iloc[0]
    assert_parity(ours, reference(uri, [exp_id], filter_string, False))


@pytest.mark.parametrize("kind", SEARCH_KINDS)
@pytest.mark.parametrize(
    "filter_string",
    [
        "attributes.run_id IN ('{upper}', '{bare}')",
        "attributes.run_id NOT IN ('{upper}', '{bare}')",
        "attributes.run_id = '{lower}'",
        "attributes.run_id != '{lower}'",
        "attributes.run_id IN ('{failed}') and metrics.m = 0",
        "attributes.run_id LIKE '{running}'",
    ],
)
def test_run_id_filters_match_search_runs(search_stores, kind, filter_string):
    uri, ids = search_stores(kind)
    filter_string = filter_string.format(**ids)
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    ours = search.filter_frame(frame, filter_string)
    assert_parity(ours, reference(uri, [frame["experiment_id"].iloc[0]], filter_string, False))


@pytest.mark.parametrize("filter_string", VALID_FILTERS)
def test_filter_frame_on_awkward_stores(awkward_store, filter_string):
    uri, _ = awkward_store
    frame = store.load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT])
    exp_ids = list(dict.fromkeys(frame["experiment_id"]))
    assert_parity(search.filter_frame(frame, filter_string), reference(uri, exp_ids, filter_string, False))


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        # A logged NaN matches "!=" only; a run without the metric matches nothing.
        ("metrics.m != 1", {"lower", "running", "failed"}),
        ("metrics.m = 0", {"failed"}),
        ("metrics.missing != 0", set()),
        # A missing tag never matches, not even "!="; IS NULL finds it.
        ("tags.cap != 'alpha'", {"upper", "running", "failed"}),
        ("tags.cap IS NULL", {"bare"}),
        # LIKE is case-sensitive; "_" and "%" match newlines; the tag value '' is present.
        ("tags.cap LIKE 'a%'", {"lower"}),
        ("tags.nl LIKE 'line1_line2'", {"upper"}),
        ("tags.empty = ''", {"upper"}),
        # SQLite's ILIKE folds ASCII only: 'é' does not match 'É'.
        ("tags.uni ILIKE 'é%'", {"lower"}),
        ("attributes.end_time != 0", {"upper", "lower", "bare", "failed"}),
    ],
)
def test_semantics_on_sqlite(search_stores, filter_string, expected):
    uri, ids = search_stores("sqlite")
    ours = search.filter_frame(store.load_runs(uri, [SEARCH_EXPERIMENT]), filter_string)
    labels = {label for label, rid in ids.items() if rid in set(ours["run_id"])}
    assert labels == expected


@pytest.mark.parametrize("filter_string", SEARCH_INVALID)
def test_invalid_filter_raises_mlflows_message(search_stores, filter_string):
    from mlflow.exceptions import MlflowException

    uri, _ = search_stores("sqlite")
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    with pytest.raises(FilterError) as ours:
        search.filter_frame(frame, filter_string)
    with pytest.raises(MlflowException) as theirs:
        reference(uri, [frame["experiment_id"].iloc[0]], filter_string, False)
    assert str(ours.value) == theirs.value.message
    with pytest.raises(FilterError):
        search.validate_filter(filter_string)
    with pytest.raises(FilterError):
        store.validate_filter(filter_string)


@pytest.mark.parametrize("filter_string", ["", "   ", None])
def test_empty_filter_keeps_every_run(search_stores, filter_string):
    uri, ids = search_stores("sqlite")
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    out = search.filter_frame(frame, filter_string)
    assert list(out["run_id"]) == list(frame["run_id"])
    assert len(out) == len(ids)


def test_filter_keeps_columns_and_order(search_stores):
    uri, _ = search_stores("sqlite")
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    out = search.filter_frame(frame, "attributes.status != 'RUNNING'")
    assert list(out.columns) == list(frame.columns)
    assert list(out["run_id"]) == [r for r in frame["run_id"] if r in set(out["run_id"])]
    assert out.index.tolist() == list(range(len(out)))


def test_dataset_filter_needs_datasets(search_stores):
    uri, _ = search_stores("sqlite")
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    with pytest.raises(FilterError, match="datasets"):
        search.filter_frame(frame, "datasets.name = 'iris'")


def test_nan_record_survives_row_selection(search_stores):
    uri, ids = search_stores("sqlite")
    frame = store.load_runs(uri, [SEARCH_EXPERIMENT])
    subset = frame[frame["status"] != "FAILED"]
    out = search.filter_frame(subset, "metrics.m != 1")
    assert set(out["run_id"]) == {ids["lower"], ids["running"]}
    assert math.isnan(out.set_index("run_id").at[ids["lower"], "metrics.m"])


def _times_frame(kind: str) -> pd.DataFrame:
    """Runs a, b, c with start times 1700000000030, ...031 and none, in one of the forms a frame
    may hold them: UTC datetimes of each resolution, or epoch milliseconds as ints or floats."""
    ms = [1700000000030, 1700000000031, None]
    if kind == "int":
        start = pd.Series(ms, dtype="Int64")
    elif kind == "float":
        start = pd.Series(ms, dtype=float)
    else:
        start = pd.to_datetime(pd.Series(ms, dtype=float), unit="ms", utc=True).astype(f"datetime64[{kind}, UTC]")
    return pd.DataFrame({"run_id": ["a", "b", "c"], "start_time": start})


@pytest.mark.parametrize("kind", ["ns", "us", "ms", "int", "float"])
@pytest.mark.parametrize(("filter_string", "expected"), [
    ("attributes.start_time = 1700000000030", ["a"]),
    ("attributes.start_time = 1700000000030.0", ["a"]),
    ("attributes.start_time != 1700000000030", ["b"]),
    ("attributes.start_time > 1700000000030", ["b"]),
    ("attributes.start_time >= 1700000000030.5", ["b"]),
    ("attributes.start_time < 1700000000030.5", ["a"]),
    ("attributes.start_time > 0", ["a", "b"]),
    ("attributes.start_time < 99999999999999999999.0", ["a", "b"]),
])
def test_times_compare_as_exact_milliseconds_in_every_frame_form(kind, filter_string, expected):
    out = search.filter_frame(_times_frame(kind), filter_string, dialect="sqlite")
    assert list(out["run_id"]) == expected


@pytest.mark.parametrize(("dialect", "raises"), [("sqlite", True), ("postgresql", True), ("mysql", False), ("file", False)])
def test_integer_beyond_64_bits_raises_only_where_mlflow_does(dialect, raises):
    frame = _times_frame("us")
    if raises:
        with pytest.raises(FilterError, match="too large"):
            search.filter_frame(frame, "attributes.start_time < 99999999999999999999", dialect=dialect)
    else:
        out = search.filter_frame(frame, "attributes.start_time < 99999999999999999999", dialect=dialect)
        assert list(out["run_id"]) == ["a", "b"]
