"""Specs of Compare's deeper views (podium.insight_charts, podium.charts history options, brushing)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podium import analysis, charts, curves, insight_charts, sweeps
from podium.brush import Range

NAN, INF = math.nan, math.inf


def rows_of(spec: dict) -> list[list[dict]]:
    return list(spec.get("datasets", {}).values())


def runs(n=30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    lr = rng.uniform(0.01, 0.3, n)
    return pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)],
        "params.lr": [f"{v:.4f}" for v in lr], "params.opt": rng.choice(["adam", "sgd"], n),
        "params.depth": [str(v) for v in rng.integers(2, 6, n)], "metrics.f1": 2 * lr, "metrics.loss": 1 - lr,
    })


def test_importance_chart_orders_bars_and_colours_the_sign():
    df = runs()
    imp = analysis.parameter_importance(df, "metrics.f1", ["params.lr", "params.opt", "params.depth"])
    spec = insight_charts.importance_chart(imp, "f1", list(df.columns)).to_dict()
    assert spec["encoding"]["y"]["sort"][0] == "lr"
    data = rows_of(spec)[0]
    first = next(r for r in data if r["label"] == "lr")
    assert first["sign"] == "higher → higher" and first["corr"] == 1.0
    assert next(r for r in data if r["label"] == "opt")["sign"] == "category"
    assert spec["title"]["text"] == "Which params explain f1 · 30 runs"


@pytest.mark.parametrize("columns, panels", [(["metrics.f1", "params.lr"], 4), (["metrics.f1", "params.lr", "params.opt"], 9),
                                             (["metrics.f1", "metrics.loss", "params.lr", "params.opt", "params.depth", "params.x"], 25)])
def test_scatter_matrix_has_every_pair_up_to_five(columns, panels):
    df = runs().assign(**{"params.x": "1"})
    spec = insight_charts.scatter_matrix(df, columns, selected=["r1"]).to_dict()
    cells = [c for row in spec["vconcat"] for c in row["hconcat"]]
    assert len(cells) == panels
    assert sum(c["mark"]["type"] == "bar" for c in cells) == int(math.isqrt(panels))  # the diagonal


def test_scatter_matrix_counts_runs_missing_a_value():
    df = runs().assign(**{"metrics.loss": [NAN] * 5 + [0.5] * 25})
    result = insight_charts.scatter_matrix(df, ["metrics.f1", "metrics.loss"])
    assert result.notes == ["5 of 30 runs lack a value on some axis (left out of those panels)."]


def test_sweep_charts():
    df = runs(6).assign(**{"tags.mlflow.parentRunId": [None] + ["r0"] * 5,
                           "start_time": pd.date_range("2026-01-01", periods=6, freq="min", tz="UTC")})
    kids = sweeps.children(df, "r0")
    curve = sweeps.best_so_far(kids, "metrics.f1", "max")
    spec = insight_charts.best_so_far_chart(curve, {}, "f1").to_dict()
    assert spec["title"]["text"] == "Best f1 so far · 5 children"
    swept = sweeps.swept_params(kids)
    slices = insight_charts.slice_chart(kids, "metrics.f1", swept).to_dict()
    assert len(swept) >= 2 and len([c for row in slices["vconcat"] for c in row["hconcat"]]) == len(swept)


def history(runs_steps: dict) -> pd.DataFrame:
    return pd.DataFrame([{"run_id": r, "key": "loss", "step": s, "timestamp": 1_000 * s + (10_000 if r == "b" else 0), "value": v}
                         for r, vals in runs_steps.items() for s, v in enumerate(vals)])


@pytest.mark.parametrize("options, title, note", [
    ({}, "loss by step", None),
    ({"x": "relative"}, "loss by time since start", None),
    ({"x": "wall"}, "loss by wall time", None),
    ({"smoothing": 0.6}, "loss by step", "Smoothed (weight 0.6); raw values faint."),
    ({"log_y": True}, "loss by step", "1 values ≤ 0 not drawn on the log axis."),
    ({"groups": {"a": "g (2 seeds)", "b": "g (2 seeds)"}}, "loss by step",
     "1 group of runs repeating one configuration over seeds: mean line, min–max band."),
    ({"groups": {"a": "g", "b": "g"}, "band": "sd"}, "loss by step", "1 group of runs repeating one configuration over seeds: mean line, ±1 sd band."),
])
def test_history_options(options, title, note):
    h = history({"a": [3.0, 2.0, 1.0], "b": [4.0, 2.5, 0.0], "c": [1.0, 1.0, 1.0]})
    result = charts.metric_history(h, {"a": "A", "b": "B", "c": "C"}, "loss", **options)
    spec = result.to_dict()
    assert spec["title"]["text"] == title
    if note:
        assert note in result.notes
    if "groups" in options:
        marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
        assert "area" in marks
        series = {r["series"] for rows in rows_of(spec) for r in rows if "series" in r}
        assert series == {"C", next(iter(options["groups"].values()))}  # the group drawn once, not run by run


def test_parallel_coordinates_brush_mutes_runs_outside_and_carries_an_interval():
    df = runs()
    spec = charts.parallel_coordinates(df, ["params.lr", "params.opt", "metrics.f1"], color="metrics.f1",
                                       brush={"params.opt": Range(values=("adam",))}, brushable=True).to_dict()
    assert [p["name"] for p in spec["params"]] == ["brush"] and spec["params"][0]["select"]["type"] == "interval"
    kept = int((df["params.opt"] == "adam").sum())
    assert spec["title"]["subtitle"][0] == f"Brushed: {kept} of 30 drawn runs inside opt in {{adam}}."
    muted = [r for rows in rows_of(spec) for r in rows if r.get("muted")]
    assert len(muted) == 2 * (30 - kept)  # two segments per run on three axes
    # The colour scale is that of every run, so brushing keeps the colours.
    colored = next(layer for layer in spec["layer"] if "color" in layer.get("encoding", {}) and "field" in layer["encoding"]["color"])
    assert colored["encoding"]["color"]["scale"]["domain"] == pytest.approx([df["metrics.f1"].min(), df["metrics.f1"].max()])


def test_history_seed_band_from_seed_groups():
    df = pd.DataFrame({"run_id": ["a", "b"], "run_name": ["A", "B"], "experiment_id": ["1", "1"],
                       "params.seed": ["0", "1"], "params.lr": ["0.1", "0.1"]})
    groups = curves.seed_groups(df, ["a", "b"])
    result = charts.metric_history(history({"a": [3.0, 2.0], "b": [5.0, 4.0]}), {}, "loss", groups=groups)
    band = [r for rows in rows_of(result.to_dict()) for r in rows if "lo" in r]
    assert [(r["lo"], r["mean"], r["hi"]) for r in band] == [(3.0, 4.0, 5.0), (2.0, 3.0, 4.0)]
