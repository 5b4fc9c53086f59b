"""Pareto fronts, group statistics, diffs and the Compare page's defaults (podium.analysis)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from podium import analysis
from podium.store import load_runs
from stores import AWKWARD_EXPERIMENT, SECOND_EXPERIMENT

INF, NAN = math.inf, math.nan


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values()))) if columns else 0
    base = {"run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)]}
    return pd.DataFrame({**base, **columns})


def brute_front(a, b, xd, yd) -> set[int]:
    """Reference: O(n²) dominance check."""
    sa = [v if xd == "max" else -v for v in a]
    sb = [v if yd == "max" else -v for v in b]
    ok = [i for i in range(len(a)) if not (math.isnan(sa[i]) or math.isnan(sb[i]))]
    out = set()
    for i in ok:
        dominated = any(
            sa[j] >= sa[i] and sb[j] >= sb[i] and (sa[j] > sa[i] or sb[j] > sb[i]) for j in ok if j != i
        )
        if not dominated:
            out.add(i)
    return out


PARETO_CASES = [
    # (x values, y values, x_dir, y_dir, expected run positions on the front)
    ([1, 2, 0.5, 0.4], [1, 0.5, 2, 0.4], "max", "max", {0, 1, 2}),
    ([10, 20, 5, 30], [0.8, 0.9, 0.7, 0.85], "min", "max", {0, 1, 2}),
    ([10, 20, 5, 30], [0.8, 0.9, 0.7, 0.85], "max", "min", {0, 2, 3}),
    ([1, 1, 2], [3, 3, 1], "max", "max", {0, 1, 2}),  # identical points are both kept
    ([1, 1, 0], [3, 2, 5], "max", "max", {0, 2}),  # same x: only the higher y
    ([1, NAN, 2], [1, 99, NAN], "max", "max", {0}),  # NaN objectives never on the front
    ([INF, 1, 0], [0, 1, 2], "max", "max", {0, 1, 2}),
    ([-INF, 1], [5, 1], "max", "max", {0, 1}),
    ([-INF, 1], [5, 1], "min", "max", {0}),  # -inf latency beats everything when minimising
    ([3.0], [4.0], "max", "min", {0}),  # a single run is its own front
    ([NAN, NAN], [1, 2], "max", "max", set()),
    ([], [], "max", "max", set()),
]


@pytest.mark.parametrize("xs, ys, xd, yd, expected", PARETO_CASES)
def test_pareto_front(xs, ys, xd, yd, expected):
    df = frame(**{"metrics.x": pd.Series(xs, dtype=float), "metrics.y": pd.Series(ys, dtype=float)})
    front = analysis.pareto_front(df, "metrics.x", "metrics.y", xd, yd)
    assert {int(i) for i in front.index} == expected
    assert expected == brute_front(xs, ys, xd, yd)
    assert list(front["metrics.x"]) == sorted(front["metrics.x"])


@pytest.mark.parametrize("seed, xd, yd", list(itertools.product([0, 1, 2], ["max", "min"], ["max", "min"])))
def test_pareto_front_matches_brute_force_on_random_data_with_ties_and_nan(seed, xd, yd):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, 60).astype(float)  # few distinct values: many ties
    b = rng.integers(0, 8, 60).astype(float)
    a[rng.integers(0, 60, 5)] = np.nan
    b[rng.integers(0, 60, 3)] = np.inf
    df = frame(**{"metrics.a": a, "metrics.b": b})
    front = analysis.pareto_front(df, "metrics.a", "metrics.b", xd, yd)
    assert set(front.index) == brute_front(list(a), list(b), xd, yd)


def test_pareto_front_parses_string_params_and_rejects_bad_direction():
    df = frame(**{"params.lr": ["0.1", "1e-3", "0.01"], "metrics.acc": [0.9, 0.8, 0.95]})
    front = analysis.pareto_front(df, "params.lr", "metrics.acc", "min", "up")
    assert list(front["run_id"]) == ["r1", "r2"]
    with pytest.raises(ValueError):
        analysis.pareto_front(df, "params.lr", "metrics.acc", "sideways", "max")


GROUP_CASES = [
    # (group values, metric values, expected {group: (runs, count, mean, min, max)})
    (["a", "a", "b"], [1.0, 3.0, 5.0], {"a": (2, 2, 2.0, 1.0, 3.0), "b": (1, 1, 5.0, 5.0, 5.0)}),
    (["a", None, "a"], [1.0, 7.0, NAN], {"a": (2, 1, 1.0, 1.0, 1.0), "n/a": (1, 1, 7.0, 7.0, 7.0)}),
    (["x", "x"], [INF, 1.0], {"x": (2, 2, INF, 1.0, INF)}),
    (["x"], [NAN], {"x": (1, 0, NAN, NAN, NAN)}),
]


@pytest.mark.parametrize("groups, values, expected", GROUP_CASES)
def test_group_stats(groups, values, expected):
    df = frame(**{"params.seed": pd.Series(groups, dtype=object), "metrics.acc": values})
    out = analysis.group_stats(df, "params.seed", ["metrics.acc"])
    assert out["runs"].sum() == len(df)  # no run lost, missing keys included
    got = {row["params.seed"]: (row["runs"], row["metrics.acc count"], row["metrics.acc mean"],
                                row["metrics.acc min"], row["metrics.acc max"]) for _, row in out.iterrows()}
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        for g, w in zip(got[key], want):
            assert (math.isnan(g) and math.isnan(w)) or g == w


def test_group_stats_orders_numeric_groups_numerically_and_na_last():
    df = frame(**{"params.n": pd.Series(["10", "9", None, "100"], dtype=object), "metrics.m": [1.0, 2.0, 3.0, 4.0]})
    assert list(analysis.group_stats(df, "params.n", ["metrics.m"])["params.n"]) == ["9", "10", "100", "n/a"]


def test_group_stats_of_no_runs_is_an_empty_table_with_the_columns():
    out = analysis.group_stats(frame(**{"params.n": [], "metrics.m": []}), "params.n", ["metrics.m"])
    assert out.empty and list(out.columns) == ["params.n", "runs", "metrics.m count", "metrics.m mean", "metrics.m min", "metrics.m max"]


def test_diff_shows_only_differing_params_and_deltas_against_the_baseline():
    df = frame(**{
        "params.model": ["rf", "rf", "gbm"],
        "params.seed": ["1", "1", "1"],
        "params.depth": [None, "3", "3"],
        "metrics.acc": [0.8, 0.9, NAN],
        "metrics.loss": [INF, 0.5, 0.25],
    })
    d = analysis.diff_runs(df, ["r1", "r0", "r2"], baseline="r1")
    assert list(d.params.columns) == ["run-1", "run-0", "run-2"]
    assert set(d.params.index) == {"model", "depth"}  # seed is the same everywhere
    assert d.params.loc["depth", "run-0"] is None
    assert d.hidden_params == 1
    assert d.metrics.loc["acc", "Δ run-0"] == pytest.approx(-0.1)
    assert math.isnan(d.metrics.loc["acc", "Δ run-2"])
    assert d.metrics.loc["loss", "Δ run-0"] == INF
    everything = analysis.diff_runs(df, ["r1", "r0"], only_differing=False)
    assert {"model", "seed", "depth"} == set(everything.params.index)
    assert everything.baseline == "r1"


@pytest.mark.parametrize("run_ids, n_params", [(["r0"], 1), ([], 0), (["nope"], 0)])
def test_diff_of_one_or_no_runs(run_ids, n_params):
    df = frame(**{"params.model": ["rf", "gbm"], "metrics.acc": [0.1, 0.2]})
    d = analysis.diff_runs(df, run_ids)
    assert len(d.params) == n_params
    assert not any(c.startswith("Δ") for c in d.metrics.columns)


def test_run_labels_disambiguate_duplicates_and_missing_names():
    df = pd.DataFrame({"run_id": ["aaaaaaaa1", "bbbbbbbb2", "cccccccc3"], "run_name": ["same", "same", None]})
    assert list(analysis.run_labels(df)) == ["same (aaaaaaaa)", "same (bbbbbbbb)", "cccccccc"]


PRIMARY_CASES = [
    ({"metrics.loss": [1.0, 2.0], "metrics.f1": [0.5, 0.6]}, "metrics.f1"),
    ({"metrics.zeta": [1.0, 2.0], "metrics.alpha": [0.5, 0.6]}, "metrics.alpha"),
    ({"metrics.f1": [NAN, 0.6], "metrics.custom": [0.1, 0.2]}, "metrics.custom"),  # coverage first
    ({"metrics.system/cpu": [1.0, 2.0]}, None),
    ({"metrics.acc": [NAN, NAN]}, None),
    ({}, None),
]


@pytest.mark.parametrize("columns, expected", PRIMARY_CASES)
def test_primary_metric(columns, expected):
    df = frame(**columns) if columns else frame(**{"params.x": ["a", "b"]})
    assert analysis.primary_metric(df) == expected


@pytest.mark.parametrize("name, direction", [
    ("metrics.accuracy", "max"), ("metrics.val_loss", "min"), ("metrics.latency_ms", "min"),
    ("metrics.rmse", "min"), ("metrics.f1", "max"), ("metrics.training_time", "min"), ("metrics.r2", "max"),
    # the common loss names (issue 11: `l2`, `rmse`-like keys were called "max")
    ("l2", "min"), ("l1", "min"), ("metrics.l2", "min"), ("val_l2", "min"), ("rmse", "min"), ("val_rmse", "min"),
    ("test_rmse", "min"), ("mse", "min"), ("mae", "min"), ("msle", "min"), ("rmsle", "min"), ("log_loss", "min"),
    ("logloss", "min"), ("train_loss", "min"), ("loss", "min"), ("val_error", "min"), ("error_rate", "min"),
    ("perplexity", "min"), ("nll", "min"), ("metrics.mean_squared_error", "min"), ("mape", "min"),
    # ... and names that only look like them
    ("accuracy", "max"), ("f1", "max"), ("roc_auc", "max"), ("precision", "max"), ("recall", "max"),
    ("best_iteration", "max"), ("params.l1_ratio", "max"), ("params.l2_regularization", "max"), ("map", "max"),
])
def test_metric_direction(name, direction):
    assert analysis.metric_direction(name) == direction


def test_defaults_on_the_awkward_store(sqlite_awkward):
    uri, _ = sqlite_awkward
    df = load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT])
    from podium.columns import varying_columns

    varying = varying_columns(df)
    primary = analysis.primary_metric(df)
    assert primary == "metrics.accuracy"
    axes = analysis.default_axes(df, varying, primary)
    assert axes[-1] == primary and len(axes) <= 7 and all(a in varying for a in axes[:-1])
    x, y = analysis.default_scatter(df, primary, varying)
    assert y == primary and x.startswith("metrics.") and x != y
    assert analysis.default_color_param(df, varying) in varying


SCATTER_CASES = [
    ({"metrics.acc": [1.0, 2.0], "metrics.latency_ms": [3.0, 4.0], "metrics.b": [1.0, 1.0]}, "metrics.latency_ms"),
    ({"metrics.acc": [1.0, 2.0], "metrics.latency_ms": [3.0, NAN], "metrics.b": [1.0, 1.0]}, "metrics.b"),
    ({"metrics.acc": [1.0, 2.0], "params.lr": ["0.1", "0.2"], "params.opt": ["a", "b"]}, "params.lr"),
    ({"metrics.acc": [1.0, 2.0], "duration_s": [1.0, 2.0]}, "duration_s"),
    # unfinished runs have no duration: no x rather than one that falls back to the metric (issue 11)
    ({"metrics.acc": [1.0, 2.0], "duration_s": [NAN, NAN]}, None),
]


@pytest.mark.parametrize("columns, x", SCATTER_CASES)
def test_default_scatter(columns, x):
    df = frame(**columns)
    varying = [c for c in df.columns if c.startswith("params.")]
    assert analysis.default_scatter(df, "metrics.acc", varying) == (x, "metrics.acc")


@pytest.mark.parametrize("columns, expected", [
    # a sweep parent's own params: one value, on one run of four -> left out
    ({"params.lr": ["0.1", "0.3", None, "0.2"], "params.n_candidates": [None, None, "13", None]}, ["params.lr"]),
    # one value on every run but the parent: left out too
    ({"params.lr": ["0.1", "0.3", None, "0.2"], "params.random_state": ["42", "42", None, "42"]}, ["params.lr"]),
    # values that differ, however few runs have them: kept
    ({"params.lr": ["0.1", "0.3", None, "0.2"], "params.rare": [None, None, "a", "b"]}, ["params.lr", "params.rare"]),
    # nothing else varies: kept rather than no axis at all
    ({"params.n_candidates": [None, None, "13", None]}, ["params.n_candidates"]),
])
def test_default_axes_leave_out_params_that_vary_only_by_being_missing(columns, expected):
    df = frame(**columns, **{"metrics.f1": [0.1, 0.2, 0.3, 0.4]})
    varying = [c for c in df.columns if c.startswith("params.")]
    assert analysis.default_axes(df, varying, "metrics.f1") == expected + ["metrics.f1"]


def test_default_axes_put_params_set_on_most_runs_first_and_seeds_last():
    df = frame(**{"params.a_rare": ["1", "2", None, None, None], "params.seed": ["1", "2", "3", "4", "5"],
                  "params.model": ["x", "y", "x", "x", "y"], "metrics.f1": [0.1, 0.2, 0.3, 0.4, 0.5]})
    axes = analysis.default_axes(df, ["params.a_rare", "params.model", "params.seed"], "metrics.f1", max_params=2)
    assert axes == ["params.model", "params.a_rare", "metrics.f1"]


@pytest.mark.parametrize("values, expected", [
    (["1e-4", "0.3", "0.01"], ["params.v"]),
    (["1", "2", "3"], []),
    (["0.0001", "0.0999"], ["params.v"]),  # three decades, just short of 1,000×
    (["1", "50"], []),
    (["0", "1e-4", "10"], []),  # zero: no log scale
    ([None, "1e-5", "1"], ["params.v"]),
    (["1", "100"], ["params.v"]),  # exactly 100×
    (["0.85", "1.7976931348623157e308"], ["params.v"]),  # an inf as SQL stores keep it: no overflow
])
def test_suggest_log_axes(values, expected):
    assert analysis.suggest_log_axes(frame(**{"params.v": values}), ["params.v"]) == expected


MERGE_CASES = [
    # current, widget, table, table_seen, chart, chart_seen -> expected
    (["a"], ["a"], None, None, None, None, ["a"]),
    (["a"], ["a", "b"], None, None, None, None, ["a", "b"]),  # the box changed
    (["a"], ["a"], ["c", "d"], ["c"], None, None, ["c", "d"]),  # the table changed
    (["a"], ["a"], ["c"], ["c"], ["e"], [], ["e"]),  # the chart changed, table as seen
    (["a"], ["a"], [], ["c"], None, None, []),  # rows unselected in the table
    (["a"], None, ["c"], ["c"], ["e"], ["e"], ["a"]),  # nothing changed
]


@pytest.mark.parametrize("current, widget, table, table_seen, chart, chart_seen, expected", MERGE_CASES)
def test_merge_selection(current, widget, table, table_seen, chart, chart_seen, expected):
    assert analysis.merge_selection(current, widget, table, table_seen, chart, chart_seen) == expected


@pytest.mark.parametrize("metrics, primary, expected", [
    (["metrics.f1", "metrics.train_loss", "metrics.best_val_loss"], "metrics.f1", "metrics.train_loss"),
    (["metrics.f1", "metrics.best_loss"], "metrics.f1", "metrics.f1"),
    (["metrics.a", "metrics.b"], None, "metrics.a"),
    ([], None, None),
])
def test_default_history_metric(metrics, primary, expected):
    assert analysis.default_history_metric(metrics, primary) == expected


LOGGED = frame(**{"metrics.eval_loss": [0.3, NAN, NAN], "metrics.f1": [0.8, 0.7, NAN], "metrics.all_nan": [NAN, NAN, NAN]})
ALL = ["metrics.eval_loss", "metrics.f1", "metrics.all_nan"]


@pytest.mark.parametrize("run_ids, metrics, expected", [
    (["r0"], ALL, ["metrics.eval_loss", "metrics.f1"]),
    (["r1"], ALL, ["metrics.f1"]),  # a logistic regression: no loss history
    (["r1", "r0"], ALL, ["metrics.eval_loss", "metrics.f1"]),
    (["r2"], ALL, ALL),  # nothing logged: offer everything rather than nothing
    (["gone"], ALL, ALL),
    (["r0"], ["metrics.f1", "metrics.missing_column"], ["metrics.f1"]),
    (["r0"], [], []),
])
def test_metrics_logged_by(run_ids, metrics, expected):
    assert analysis.metrics_logged_by(LOGGED, run_ids, metrics) == expected


def _version(model, version, run_id, alias="champion"):
    from podium.store import AliasedVersion

    return AliasedVersion(model, alias, version, run_id)


LOADED = frame(**{"metrics.f1": [0.1, 0.2, 0.3]})  # run ids r0, r1, r2


@pytest.mark.parametrize("versions, shown, expected", [
    ([], None, {}),
    ([_version("fraud", "2", "r1")], None, {"r1": "@champion fraud v2"}),
    ([_version("fraud", "2", "elsewhere")], None, {}),  # a champion from another experiment
    ([_version("fraud", "2", None)], None, {}),  # a version without a run
    ([_version("fraud", "2", "r1")], ["r0"], {"r1": "@champion fraud v2 (outside the filter)"}),
    ([_version("a", "1", "r2"), _version("b", "7", "r2")], ["r2"], {"r2": "@champion a v1, @champion b v7"}),
    ([_version("a", "1", "r0"), _version("b", "3", "r1")], None, {"r0": "@champion a v1", "r1": "@champion b v3"}),
])
def test_reference_labels(versions, shown, expected):
    assert analysis.reference_labels(versions, LOADED, shown) == expected


@pytest.mark.parametrize("columns, expected", [
    ({"params.model": ["rf", "gbm", "rf", None], "params.lr": ["0.1", "0.2", "0.3", None]}, "params.model"),
    ({"params.search": [None, None, None, "grid"], "params.lr": ["0.1", "0.2", "0.3", None]}, None),  # parent-only
    ({"params.search": [None, None, None, "grid"]}, "params.search"),  # the only thing that varies
    ({"params.opt": [str(i) + "x" for i in range(4)]}, "params.opt"),
    ({"params.lr": ["0.1", "0.2", "0.3", "0.4"]}, None),  # numbers colour by scale, not by category
])
def test_default_color_param(columns, expected):
    df = frame(**columns)
    assert analysis.default_color_param(df, [c for c in df.columns if c.startswith("params.")]) == expected
