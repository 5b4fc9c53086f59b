"""Brushing the parallel coordinates (podium.brush): ranges, permalinks, intervals dragged on the chart."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from podium import brush, charts
from podium.brush import Range

INF, NAN = math.inf, math.nan
BIG = 1.7976931348623157e308  # how SQL stores keep +inf


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": list("abcdef"), "run_name": list("ABCDEF"),
        "params.lr": ["0.001", "0.01", "0.1", None, "0.3", "1"],
        "params.opt": ["adam", "sgd", "adam", "rmsprop", None, "sgd"],
        "metrics.f1": [0.2, 0.5, 0.9, NAN, INF, BIG],
    })


MASK_CASES = [
    ({"params.lr": Range(0.01, 0.3)}, "bce"),
    ({"params.lr": Range(0.01, 0.3, na=True)}, "bcde"),
    ({"params.opt": Range(values=("adam",))}, "ac"),
    ({"params.opt": Range(values=("adam",), na=True)}, "ace"),
    ({"params.opt": Range(values=())}, ""),
    ({"metrics.f1": Range(0.5, INF)}, "bcef"),  # float max is +inf, as the charts draw it
    ({"metrics.f1": Range(INF, INF)}, "ef"),
    ({"metrics.f1": Range(NAN, NAN, na=True)}, "d"),
    ({"metrics.f1": Range(0.4, 1.0), "params.opt": Range(values=("adam", "sgd"))}, "bc"),
    ({"params.missing_column": Range(0, 1)}, "abcdef"),  # a column these runs lack is ignored
    ({"params.opt": Range(0, 1)}, ""),  # a numeric range on words keeps nothing
    ({}, "abcdef"),
]


@pytest.mark.parametrize("ranges, kept", MASK_CASES)
def test_brush_keeps_the_runs_inside(ranges, kept):
    assert "".join(brush.apply(frame(), ranges)["run_id"]) == kept


@pytest.mark.parametrize("ranges", [c[0] for c in MASK_CASES if c[0]] + [
    {"params.a:b": Range(-INF, 2.5)}, {"params.x": Range(values=("a,b", "c|d", 'q"'), na=True)},
])
def test_permalink_round_trip(ranges):
    back = brush.from_params(brush.to_params(ranges))
    assert brush.to_params(back) == brush.to_params(ranges)
    assert "".join(brush.apply(frame(), back)["run_id"]) == "".join(brush.apply(frame(), ranges)["run_id"])


@pytest.mark.parametrize("values", [["nonsense"], ["a:b"], ["x:=notjson"], ["x:={}"], [":1:2"]])
def test_bad_permalink_values_are_skipped(values):
    assert brush.from_params(values) == {}


@pytest.mark.parametrize("ranges, text", [
    ({"params.lr": Range(0.01, 0.3)}, "0.01 ≤ params.lr ≤ 0.3"),
    ({"params.opt": Range(values=("adam",), na=True)}, "(params.opt in {adam} or no params.opt)"),
    ({"metrics.f1": Range(0.5, INF), "params.opt": Range(values=("sgd",))}, "0.5 ≤ metrics.f1 ≤ inf and params.opt in {sgd}"),
])
def test_describe(ranges, text):
    assert brush.describe(ranges) == text


def layouts(log=()):
    df = frame()
    return [charts.layout_axis(df[c], c, c, log=c in log) for c in ("params.lr", "params.opt", "metrics.f1")]


INTERVAL_CASES = [
    # whole lr axis (x around 0, y over [0, 1]): every finite value, the extremes exactly
    ({"x": [-0.1, 0.1], "y": [-0.01, 1.01]}, (), {"params.lr": Range(0.001, 1.0)}),
    ({"x": [-0.1, 0.1], "y": [0.5, 1.0]}, (), {"params.lr": Range(0.001 + 0.5 * 0.999, 1.0)}),
    ({"x": [-0.1, 0.1], "y": [0.5, 1.0]}, ("params.lr",), {"params.lr": Range(10 ** -1.5, 1.0)}),  # log axis
    ({"x": [0.9, 1.1], "y": [0.9, 1.0]}, (), {"params.opt": Range(values=("sgd",))}),
    ({"x": [0.9, 1.1], "y": [-0.2, 0.1]}, (), {"params.opt": Range(values=("adam",), na=True)}),
    ({"x": [1.9, 2.1], "y": [0.9, 1.1]}, (), {"metrics.f1": Range(0.2 + 0.9 * 0.7, INF)}),  # into the +inf band
    ({"x": [1.9, 2.1], "y": [-0.2, -0.1]}, (), {"metrics.f1": Range(NAN, NAN, na=True)}),
    ({"x": [0.4, 0.45], "y": [0.0, 1.0]}, (), {"params.lr": Range(0.001, 1.0)}),  # between axes: the nearest
]


@pytest.mark.parametrize("interval, log, expected", INTERVAL_CASES)
def test_interval_dragged_on_the_chart(interval, log, expected):
    got = brush.from_interval(layouts(log), interval)
    assert list(got) == list(expected)
    for column, r in expected.items():
        g = got[column]
        assert g.values == r.values and g.na == r.na
        for a, b in ((g.lo, r.lo), (g.hi, r.hi)):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-3)  # bounds kept short
        # ... and rounded outwards: never narrower than the box dragged
        assert math.isnan(r.lo) or g.lo <= r.lo
        assert math.isnan(r.hi) or g.hi >= r.hi


def test_interval_bounds_are_short_in_the_permalink_and_read_back_exactly():
    got = brush.from_interval(layouts(), {"x": [1.9, 2.1], "y": [0.37, 0.61]})
    [value] = brush.to_params(got)
    assert value == "metrics.f1:0.459:0.627"
    assert brush.from_params([value]) == got


def test_a_box_over_two_axes_brushes_both():
    got = brush.from_interval(layouts(), {"x": [-0.1, 1.1], "y": [0.9, 1.0]})
    assert set(got) == {"params.lr", "params.opt"}
