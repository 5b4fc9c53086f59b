"""RunFilter (podium.filters), column labels and the numeric view (podium.columns), MLflow UI links
(podium.links) and the Compare permalink state (podium.permalink)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from podium.errors import FilterError
from podium.columns import column_label, numeric_view, to_float, varying_columns
from podium.filters import RunFilter
from podium.links import LINK_DISPLAY_REGEX, mlflow_ui_base, run_links, run_url
from podium.permalink import CompareQuery
from podium.store import load_runs
from stores import AWKWARD_EXPERIMENT, HOSTILE_NAME, SECOND_EXPERIMENT


def runs_frame() -> pd.DataFrame:
    """A small runs frame with the columns load_runs gives (statuses, users, times, tags)."""
    t = pd.to_datetime(["2024-01-01 10:00", "2024-01-02 23:59", "2024-01-03 00:00", None], utc=True)
    return pd.DataFrame({
        "run_id": ["a", "b", "c", "d"],
        "run_name": ["one", "two", None, "four"],
        "experiment_id": ["1", "1", "2", "2"],
        "status": ["FINISHED", "FAILED", "FINISHED", "RUNNING"],
        "start_time": t,
        "user": ["alice", "bob", "alice", None],
        "metrics.accuracy": [0.95, 0.5, math.nan, math.inf],
        "params.optimizer": ["adam", "sgd", "adam", None],
        "tags.team": ["risk", "ops", None, "risk"],
    })


WIDGET_CASES = [
    (RunFilter(), ["a", "b", "c", "d"]),
    (RunFilter(statuses=("FINISHED",)), ["a", "c"]),
    (RunFilter(statuses=("FINISHED", "RUNNING")), ["a", "c", "d"]),
    (RunFilter(users=("alice",)), ["a", "c"]),
    (RunFilter(start_from=date(2024, 1, 2)), ["b", "c"]),  # a run without a start time never matches a range
    (RunFilter(start_to=date(2024, 1, 2)), ["a", "b"]),  # a date covers its whole day
    (RunFilter(start_from=date(2024, 1, 2), start_to=date(2024, 1, 2)), ["b"]),
    (RunFilter(start_to=datetime(2024, 1, 2, 23, 59, tzinfo=timezone.utc)), ["a", "b"]),
    (RunFilter(tags=(("team", ("risk",)),)), ["a", "d"]),
    (RunFilter(tags=(("missing_tag", ("x",)),)), []),
    (RunFilter(tags=(("team", ()),)), ["a", "b", "c", "d"]),  # no values chosen: no filter
    (RunFilter("metrics.accuracy > 0.9"), ["a", "d"]),  # inf is > 0.9; NaN never matches
    (RunFilter("params.optimizer = 'adam'", statuses=("FINISHED",), users=("alice",)), ["a", "c"]),
    (RunFilter("metrics.accuracy > 2", statuses=("FAILED",)), []),
]


@pytest.mark.parametrize("run_filter, expected", WIDGET_CASES)
def test_run_filter_apply(run_filter, expected):
    df = runs_frame()
    out = run_filter.apply(df)
    assert list(out["run_id"]) == expected
    assert list(out.columns) == list(df.columns)  # no column dropped, widgets stay stable


@pytest.mark.parametrize("run_filter, matched, total, expected", [
    (RunFilter("metrics.accuracy > 0.9 and params.optimizer = 'adam'", statuses=("FINISHED",)), 143, 300,
     "accuracy > 0.9, optimizer = adam, FINISHED, 143 of 300 runs"),
    (RunFilter(), 300, 300, "300 runs"),
    (RunFilter(), 1, None, "1 run"),
    (RunFilter(), None, None, "all runs"),
    (RunFilter("attributes.status != 'FAILED'", users=("alice", "bob")), 2, 4, "status != FAILED, user alice or bob, 2 of 4 runs"),
    (RunFilter("tags.team LIKE 'r%'", tags=(("stage", ("dev", "prod")),)), 0, 10, "team LIKE r%, stage = dev or prod, 0 of 10 runs"),
    (RunFilter(start_from=date(2024, 1, 1), start_to=date(2024, 1, 31)), 5, 9, "started 2024-01-01 – 2024-01-31, 5 of 9 runs"),
    (RunFilter("metrics.loss < 1e-3"), 1, 2, "loss < 0.001, 1 of 2 runs"),
    (RunFilter("metrics.epochs = 10"), 1, 2, "epochs = 10, 1 of 2 runs"),
])
def test_describe(run_filter, matched, total, expected):
    assert run_filter.describe(matched, total) == expected


@pytest.mark.parametrize("bad", ["metrics.accuracy >> 0.9", "accuracy > 0.9", "params.model = rf", "metrics.a > 1 or metrics.b < 2"])
def test_bad_filter_raises_mlflows_message(bad):
    with pytest.raises(FilterError) as err:
        RunFilter(bad).validate()
    assert str(err.value)
    with pytest.raises(FilterError):
        RunFilter(bad).apply(runs_frame())


def test_run_filter_on_a_real_store_matches_load_runs_with_the_same_filter(sqlite_awkward):
    uri, ids = sqlite_awkward
    experiments = [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]
    loaded = load_runs(uri, experiments)
    for text in ["metrics.accuracy > 0.85", "params.model = 'rf'", "tags.team = 'risk'", ""]:
        ours = RunFilter(text).apply(loaded)
        theirs = load_runs(uri, experiments, text)
        assert sorted(ours["run_id"]) == sorted(theirs["run_id"]), text
    failed = RunFilter(statuses=("FAILED",)).apply(loaded)
    assert list(failed["run_id"]) == [ids["failed"]]


VARYING_CASES = [
    ({"params.a": ["1", "1"], "params.b": ["1", "2"]}, ["params.b"]),
    ({"params.a": ["1", None], "params.b": [None, None]}, ["params.a"]),  # missing vs present varies
    ({"params.a": ["x"]}, []),  # a single run: nothing varies
    ({"params.a": []}, []),
    ({"params.a": ["x", "x"], "metrics.m": [1.0, math.nan]}, []),  # only params by default
]


@pytest.mark.parametrize("columns, expected", VARYING_CASES)
def test_varying_columns(columns, expected):
    assert varying_columns(pd.DataFrame(columns)) == expected


def test_varying_columns_of_metrics_counts_nan_and_inf_as_values():
    df = pd.DataFrame({"metrics.m": [1.0, math.nan], "metrics.n": [math.inf, math.inf], "metrics.o": [1.0, math.inf]})
    assert varying_columns(df, ["metrics."]) == ["metrics.m", "metrics.o"]


NUMERIC_CASES = [
    (["0.1", "1e-3", None], object, [0.1, 0.001, math.nan]),
    (["1", " 2 ", "inf"], object, [1.0, 2.0, math.inf]),
    (["1", "adam"], object, None),
    (["nan", "1"], object, None),
    ([None, None], object, None),
    (["True", "False"], object, None),
    (["0.5", "2"], "str", [0.5, 2.0]),
    ([1.5, math.nan], float, [1.5, math.nan]),
    ([], object, None),  # no values: nothing to put on a scale
    ([True, False], bool, None),
]


@pytest.mark.parametrize("values, dtype, expected", NUMERIC_CASES)
def test_numeric_view(values, dtype, expected):
    out = numeric_view(pd.Series(values, dtype=dtype))
    if expected is None:
        assert out is None
    else:
        np.testing.assert_array_equal(out.to_numpy(), np.array(expected, dtype=float))


BIG = np.finfo(float).max
LENIENT_CASES = [  # strict=False: every value, the ones that do not parse as NaN; never None
    (["1", "adam", None], object, [1.0, math.nan, math.nan]),
    (["nan", "1"], object, [math.nan, 1.0]),
    ([None, None], object, [math.nan, math.nan]),
    ([1.5, math.nan], float, [1.5, math.nan]),
    ([True, False], bool, [1.0, 0.0]),
]


@pytest.mark.parametrize("values, dtype, expected", LENIENT_CASES)
def test_numeric_view_not_strict(values, dtype, expected):
    out = numeric_view(pd.Series(values, dtype=dtype), strict=False)
    np.testing.assert_array_equal(out.to_numpy(), np.array(expected, dtype=float))


@pytest.mark.parametrize("strict", [True, False])
def test_numeric_view_shows_the_sql_stores_infinity_stand_ins_as_infinities(strict):
    series = pd.Series([BIG, -BIG, 1.0, math.nan])
    shown = numeric_view(series, strict=strict, infinities=True)
    np.testing.assert_array_equal(shown.to_numpy(), [math.inf, -math.inf, 1.0, math.nan])
    np.testing.assert_array_equal(numeric_view(series, strict=strict).to_numpy(), series.to_numpy())  # kept as stored


@pytest.mark.parametrize("value, expected", [
    (0.5, 0.5), (3, 3.0), ("1e-3", 0.001), ("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf),
    (None, math.nan), ("adam", math.nan), ("", math.nan),
])
def test_to_float(value, expected):
    np.testing.assert_equal(to_float(value), expected)


@pytest.mark.parametrize("column, columns, expected", [
    ("metrics.f1", ["metrics.f1", "params.lr"], "f1"),
    ("params.lr", ["metrics.lr", "params.lr"], "params.lr"),
    ("duration_s", [], "duration_s"),
    ("params.odd key:x/y", [], "odd key:x/y"),
])
def test_column_label(column, columns, expected):
    assert column_label(column, columns) == expected


UI_CASES = [
    ("http://127.0.0.1:5000", None, "http://127.0.0.1:5000"),
    ("https://alice:s3cret@mlflow.example.com/", None, "https://mlflow.example.com"),
    ("http://host:5000/mlflow/", "", "http://host:5000/mlflow"),
    ("sqlite:///mlflow.db", None, None),
    ("postgresql://u:p@db/mlflow", "http://ui.example.com:8080/", "http://ui.example.com:8080"),
    ("sqlite:///mlflow.db", "not a url", None),
    ("./mlruns", "https://bob:pw@ui.example.com", "https://ui.example.com"),
]


@pytest.mark.parametrize("uri, setting, expected", UI_CASES)
def test_mlflow_ui_base(uri, setting, expected):
    assert mlflow_ui_base(uri, setting) == expected


def test_run_url_and_links_show_the_name_as_text():
    assert run_url("http://h:5000/", "3", "abc") == "http://h:5000/#/experiments/3/runs/abc"
    df = pd.DataFrame({"run_id": ["abcdef123456", "r2"], "experiment_id": ["1", "2"],
                       "run_name": [HOSTILE_NAME, None]})
    links = run_links(df, "http://h:5000")
    assert links[0].startswith("http://h:5000/#/experiments/1/runs/abcdef123456?run=")
    assert "<" not in links[0] and " " not in links[0]
    # Streamlit's LinkColumn shows decodeURIComponent(first group of the regex) as plain text.
    shown = [unquote(re.search(LINK_DISPLAY_REGEX, link).group(1)) for link in links]
    assert shown == [HOSTILE_NAME, "r2"]


QUERY_CASES = [
    ({"exp": ["fraud-detection"], "filter": ["metrics.f1 > 0.8"]}, ("fraud-detection",), "metrics.f1 > 0.8"),
    ({"exp": ["a,b", "c"]}, ("a", "b", "c"), ""),
    ({"exp": "a, b"}, ("a", "b"), ""),
    ({"exp": ["team, risk"]}, ("team, risk",), ""),  # a known name with a comma stays whole
    ({}, (), ""),
]


@pytest.mark.parametrize("params, experiments, filter_string", QUERY_CASES)
def test_compare_query_from_params(params, experiments, filter_string):
    q = CompareQuery.from_params(params, known_experiments=["team, risk", "fraud-detection"])
    assert q.experiments == experiments and q.filter_string == filter_string


def test_compare_query_round_trip():
    q = CompareQuery(("a", "b ☃"), "params.x = 'y'", ("params.lr", "metrics.f1"), "metrics.f1",
                     "metrics.latency", "metrics.f1", ("r1", "r2"))
    params = q.to_params()
    assert params["exp"] == ["a", "b ☃"] and params["runs"] == ["r1", "r2"]
    assert CompareQuery.from_params(params) == q
    assert CompareQuery().to_params() == {}
