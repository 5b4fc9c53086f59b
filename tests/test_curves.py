"""Metric histories ready to draw (podium.curves) and sweeps (podium.sweeps), on known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podium import curves, sweeps

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("values, weight, expected", [
    ([1.0, 2.0, 3.0], 0.0, [1.0, 2.0, 3.0]),
    ([4.0, 4.0, 4.0], 0.9, [4.0, 4.0, 4.0]),  # debiased: a constant stays constant from the first point
    ([0.0, 1.0], 0.5, [0.0, (0.5 * 0.0 * 0.5 + 0.5 * 1.0) / (1 - 0.25)]),
    ([1.0, NAN, 3.0], 0.5, [1.0, NAN, (0.25 + 1.5) / 0.75]),
])
def test_smooth(values, weight, expected):
    np.testing.assert_allclose(curves.smooth(np.array(values), weight), expected, equal_nan=True)


def history() -> pd.DataFrame:
    rows = []
    for run, t0, vals in (("a", 1_000_000, [3.0, 2.0, 1.0]), ("b", 5_000_000, [5.0, INF, 1.7976931348623157e308])):
        for step, v in enumerate(vals):
            rows.append({"run_id": run, "key": "loss", "step": step, "timestamp": t0 + 2000 * step, "value": v})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("x, expected_a", [
    ("step", [0.0, 1.0, 2.0]),
    ("relative", [0.0, 2.0, 4.0]),
])
def test_prepare_x_modes_drop_non_finite(x, expected_a):
    out = curves.prepare(history(), x=x)
    assert list(out[out["run_id"] == "a"]["x"]) == expected_a
    assert list(out[out["run_id"] == "b"]["y"]) == [5.0]  # inf and float max left out


def test_prepare_wall_time_and_bad_mode():
    out = curves.prepare(history(), x="wall")
    assert str(out["x"].iloc[0]) == "1970-01-01 00:16:40+00:00"
    with pytest.raises(ValueError):
        curves.prepare(history(), x="epoch")


def runs_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": ["s0", "s1", "s2", "o1", "d0", "d1", "lone"],
        "run_name": list("ABCDEFG"), "experiment_id": ["1"] * 6 + ["2"], "experiment_name": ["e"] * 6 + ["f"],
        "params.depth": ["3", "3", "3", "5", "3", "3", "3"],
        "params.seed": ["0", "1", "2", "0", None, None, "9"],
        "params.random_state": [None, None, None, None, "1", "2", None],
        "params.opt": ["adam", "adam", "adam", "adam", "sgd", "sgd", "adam"],
    })


def test_seed_groups_gather_repeats_of_one_configuration():
    groups = curves.seed_groups(runs_frame(), ["s0", "s1", "s2", "o1", "d0", "d1", "lone"])
    assert groups["s0"] == groups["s1"] == groups["s2"] != groups["d0"] == groups["d1"]
    assert "o1" not in groups and "lone" not in groups  # alone in their configuration
    assert groups["s0"].endswith("(3 seeds)") and "depth=3" in groups["s0"]
    assert curves.seed_groups(runs_frame(), ["s0"]) == {}
    assert curves.seed_groups(runs_frame().drop(columns=["params.seed", "params.random_state"]), ["s0", "s1"]) == {}


@pytest.mark.parametrize("kind, lo, hi", [("minmax", [1.0, 2.0], [3.0, 6.0]), ("sd", [2 - 1.0, 4 - 2.0], [2 + 1.0, 4 + 2.0])])
def test_band_over_seeds(kind, lo, hi):
    rows = [{"run_id": r, "key": "m", "step": s, "timestamp": 1000 * s, "value": v}
            for r, vals in (("s0", [1.0, 2.0]), ("s1", [2.0, 4.0]), ("s2", [3.0, 6.0])) for s, v in enumerate(vals)]
    out = curves.band(curves.prepare(pd.DataFrame(rows)), {"s0": "g", "s1": "g", "s2": "g"}, kind)
    assert list(out["mean"]) == [2.0, 4.0] and list(out["n"]) == [3, 3]
    np.testing.assert_allclose(out["lo"], lo)
    np.testing.assert_allclose(out["hi"], hi)


def sweep_frame() -> pd.DataFrame:
    t = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame({
        "run_id": ["p", "c3", "c1", "c2", "c4", "q", "x1"], "run_name": ["sweep", "c3", "c1", "c2", "c4", "other", "x1"],
        "experiment_name": ["e"] * 7,
        "start_time": [t, t + pd.Timedelta(3, "s"), t + pd.Timedelta(1, "s"), t + pd.Timedelta(2, "s"), t + pd.Timedelta(4, "s"), t, t],
        "tags.mlflow.parentRunId": [None, "p", "p", "p", "p", None, "q"],
        "params.lr": [None, "0.3", "0.1", "0.2", "0.1", None, "1"],
        "params.depth": [None, "2", "2", "2", "2", None, "1"],
        "metrics.val_loss": [NAN, 0.5, 0.9, 0.7, NAN, NAN, NAN],
        "metrics.f1": [NAN, 0.6, 0.4, 0.8, 0.5, NAN, NAN],
    })


def test_find_sweeps_needs_two_children():
    found = sweeps.find_sweeps(sweep_frame())
    assert [(s.parent_id, s.label, s.children) for s in found] == [("p", "sweep", 4)]
    assert sweeps.find_sweeps(sweep_frame().drop(columns=["tags.mlflow.parentRunId"])) == []


@pytest.mark.parametrize("metric, direction, best, improved", [
    ("metrics.f1", "max", [0.4, 0.8, 0.8, 0.8], ["c1", "c2"]),
    ("metrics.val_loss", "min", [0.9, 0.7, 0.5, 0.5], ["c1", "c2", "c3"]),  # c4 has no value: the best so far stays
])
def test_best_so_far_over_start_times(metric, direction, best, improved):
    kids = sweeps.children(sweep_frame(), "p")
    assert list(kids["run_id"]) == ["c1", "c2", "c3", "c4"]
    curve = sweeps.best_so_far(kids, metric, direction)
    assert list(curve["best"]) == best and list(curve["trial"]) == [1, 2, 3, 4]
    assert list(curve.loc[curve["is_best"], "run_id"]) == improved


def test_spread_and_swept_params():
    kids = sweeps.children(sweep_frame(), "p")
    s = sweeps.spread(kids, "metrics.f1")
    assert s["n"] == 4 and s["min"] == 0.4 and s["max"] == 0.8 and s["mean"] == pytest.approx(0.575)
    assert s["sd"] == pytest.approx(float(np.std([0.6, 0.4, 0.8, 0.5], ddof=1)))
    assert sweeps.swept_params(kids) == ["params.lr"]
    assert sweeps.spread(kids, "metrics.nothing")["n"] == 0


def test_the_demo_sweeps_are_found(demo_store_uri):
    from podium.store import load_runs

    df = load_runs(demo_store_uri, ["fraud-detection", "wine-small-data"])
    found = sweeps.find_sweeps(df)
    assert any(s.label == "gbm-sweep" for s in found)
    assert any(s.label.startswith("seed-study-") for s in found)
    for s in found:
        kids = sweeps.children(df, s.parent_id)
        assert len(kids) == s.children >= 2
