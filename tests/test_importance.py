"""Parameter importance (podium.analysis.parameter_importance) against planted effects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podium import analysis
from podium.importance import MIN_RUNS
from stores import AWKWARD_EXPERIMENT, SECOND_EXPERIMENT


def runs(n: int, metric, seed: int = 0, **extra) -> pd.DataFrame:
    """``n`` runs with params ``lr`` (numeric), ``depth`` (numeric), ``opt`` (category) and noise
    ``seed``; ``metric(lr, depth, opt, rng)`` gives the metric. Params are strings, as MLflow keeps them."""
    rng = np.random.default_rng(seed)
    lr = rng.uniform(0.001, 0.3, n)
    depth = rng.integers(2, 12, n)
    opt = rng.choice(["adam", "sgd", "rmsprop"], n)
    noise_seed = rng.integers(0, 10_000, n)
    values = metric(lr, depth, opt, rng)
    df = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)],
        "params.lr": [f"{v:.5f}" for v in lr], "params.depth": [str(v) for v in depth],
        "params.opt": list(opt), "params.seed": [str(v) for v in noise_seed], "metrics.score": values,
    })
    for k, v in extra.items():
        df[k] = v
    return df


PARAMS = ["params.lr", "params.depth", "params.opt", "params.seed"]
PLANTED = [
    # (metric, the param that must rank first, sign of its correlation)
    (lambda lr, d, o, rng: 3 * lr + rng.normal(0, 0.01, lr.size), "params.lr", 1),
    (lambda lr, d, o, rng: -0.1 * d + rng.normal(0, 0.02, d.size), "params.depth", -1),
    (lambda lr, d, o, rng: np.where(o == "adam", 1.0, 0.2) + rng.normal(0, 0.02, o.size), "params.opt", None),
]


@pytest.mark.parametrize("n", [40, 300])
@pytest.mark.parametrize("metric, first, sign", PLANTED)
def test_a_planted_effect_ranks_first(metric, first, sign, n):
    df = runs(n, metric)
    out = analysis.parameter_importance(df, "metrics.score", PARAMS)
    assert list(out.columns[:2]) == ["param", "importance"]
    assert out["param"].iloc[0] == first
    assert list(out["importance"]) == sorted(out["importance"], reverse=True)
    assert out["importance"].iloc[0] > 5 * out["importance"].iloc[1:].max()
    row = out.iloc[0]
    if sign is None:
        assert row["kind"] == "categorical" and math.isnan(row["correlation"]) and row["best_value"] == "adam"
    else:
        assert row["kind"] == "numeric" and np.sign(row["correlation"]) == sign and abs(row["correlation"]) > 0.8
    assert out.attrs["runs"] == n


def test_missing_values_and_non_finite_metrics_are_handled():
    df = runs(60, lambda lr, d, o, rng: 3 * lr)
    df.loc[::5, "params.lr"] = None  # a param missing on some runs
    df.loc[::7, "params.opt"] = None
    df.loc[1, "metrics.score"] = math.nan
    df.loc[2, "metrics.score"] = math.inf
    df.loc[3, "metrics.score"] = 1.7976931348623157e308  # how SQL stores keep +inf
    out = analysis.parameter_importance(df, "metrics.score", PARAMS)
    assert out["param"].iloc[0] == "params.lr"
    assert out.attrs["runs"] == 57
    assert out["importance"].notna().all()


def test_lower_is_better_picks_the_lowest_mean_as_best_value():
    df = runs(60, lambda lr, d, o, rng: np.where(o == "sgd", 0.1, 0.9)).rename(columns={"metrics.score": "metrics.val_loss"})
    out = analysis.parameter_importance(df, "metrics.val_loss", PARAMS)
    assert out.set_index("param").at["params.opt", "best_value"] == "sgd"


@pytest.mark.parametrize("n, note", [
    (0, "Too few runs"), (MIN_RUNS - 1, "Too few runs"),
])
def test_too_few_runs_gives_an_empty_frame_and_a_note(n, note):
    df = runs(max(n, 1), lambda lr, d, o, rng: lr).iloc[:n]
    out = analysis.parameter_importance(df, "metrics.score", PARAMS)
    assert out.empty and list(out.columns[:2]) == ["param", "importance"]
    assert note in out.attrs["note"]


@pytest.mark.parametrize("change, note", [
    ({"metrics.score": 1.0}, "same value in every run"),
    ({"params.depth": "5"}, "with one value in these runs scored 0"),
])
def test_degenerate_inputs_say_why(change, note):
    df = runs(30, lambda lr, d, o, rng: lr)
    for k, v in change.items():
        df[k] = v
    out = analysis.parameter_importance(df, "metrics.score", PARAMS)
    assert note in out.attrs["note"]
    if "params.depth" in change:
        assert out.set_index("param").at["params.depth", "importance"] == 0


def test_same_seed_same_answer():
    df = runs(50, lambda lr, d, o, rng: lr + 0.01 * d)
    a = analysis.parameter_importance(df, "metrics.score", PARAMS, seed=3)
    b = analysis.parameter_importance(df, "metrics.score", PARAMS, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_importance_on_a_real_store(sqlite_awkward):
    from podium.store import load_runs

    uri, _ = sqlite_awkward
    df = load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT])
    params = [c for c in df.columns if c.startswith("params.")]
    out = analysis.parameter_importance(df, "metrics.accuracy", params)
    assert set(out["param"]) == set(params) or out.empty
    assert out.attrs["note"] or len(out)
