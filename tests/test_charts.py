"""Altair specs of the Compare page (podium.charts), checked on the spec dicts themselves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podium import charts
from podium.store import load_metric_history, load_runs
from stores import AWKWARD_EXPERIMENT, HOSTILE_NAME, SECOND_EXPERIMENT

INF, NAN = math.inf, math.nan
LONG = "HistGradientBoostingClassifier(max_leaf_nodes=31, l2_regularization=0.0)"


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)], **columns})


def layers(spec: dict) -> list[tuple[dict, list[dict]]]:
    """(layer, its data rows) for every layer of a layered spec."""
    out = []
    for layer in spec.get("layer", []):
        name = layer.get("data", {}).get("name")
        out.append((layer, spec["datasets"].get(name, []) if name else []))
    return out


def line_rows(spec: dict) -> list[dict]:
    """Rows of every line (rule/tick) layer of a parallel-coordinates spec: one per run and segment."""
    return [r for layer, rows in layers(spec)
            if layer["mark"]["type"] in ("rule", "tick") and rows and "sel" in rows[0] for r in rows]


def texts(spec: dict) -> list[str]:
    return [r["t"] for layer, rows in layers(spec) if layer["mark"]["type"] == "text" for r in rows]


PC_CASES = [
    # (columns, axes, expected label texts present, expected n/a counts per axis label)
    ({"params.model": ["rf", LONG, None, "rf"], "metrics.acc": [0.9, 0.8, NAN, INF]},
     ["params.model", "metrics.acc"], [LONG, "rf", "n/a (1)", "+inf (1)"], {"model": 1, "acc": 1}),
    ({"metrics.loss": [-INF, 1.0, 2.0]}, ["metrics.loss"], ["−inf (1)", "1", "2"], {}),
    ({"params.lr": ["0.1", "0.01", "1e-3"], "params.opt": ["adam", "sgd", "adam"]},
     ["params.lr", "params.opt"], ["0.001", "0.1", "adam", "sgd"], {}),
    ({"params.only": [None, None]}, ["params.only"], ["n/a (2)"], {"only": 2}),
    ({"metrics.one": [0.5]}, ["metrics.one"], ["0.5"], {}),  # a single run
]


@pytest.mark.parametrize("columns, axes, labels, na", PC_CASES)
def test_parallel_coordinates_keeps_every_run_and_labels_in_full(columns, axes, labels, na):
    df = frame(**columns)
    result = charts.parallel_coordinates(df, axes, color=axes[-1])
    spec = result.to_dict()
    rows = line_rows(spec)
    per_segment = max(len(axes) - 1, 1)
    assert len(rows) == len(df) * per_segment  # no run dropped, NaN and inf included
    shown = texts(spec)
    for label in labels:
        assert label in shown
    assert {ax.label: ax.na for ax in result.axes if ax.na} == na
    assert any(layer["mark"]["type"] == "rect" for layer, _ in layers(spec)) == bool(na)  # the n/a band
    if na:
        assert any("n/a band" in n for n in result.notes)
        assert any("n/a band" in s for s in spec["title"]["subtitle"])
    assert spec["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    assert all(-0.25 < r["y"] < 1.25 for r in rows)  # every position is drawable (no NaN/inf)


def test_parallel_coordinates_categories_are_ordered_and_evenly_spaced():
    df = frame(**{"params.opt": ["sgd", "adam", "Adagrad", "adam"]})
    ax = charts.parallel_coordinates(df, ["params.opt"]).axes[0]
    assert [t for _, t in ax.ticks] == ["Adagrad", "adam", "sgd"]  # case-insensitive order
    assert [p for p, _ in ax.ticks] == [0.0, 0.5, 1.0]
    assert list(ax.positions) == [1.0, 0.5, 0.0, 0.5]


def test_parallel_coordinates_mixed_categories_put_numbers_first_in_numeric_order():
    df = frame(**{"params.max_depth": ["12", "None", "2", "3"]})
    ax = charts.parallel_coordinates(df, ["params.max_depth"]).axes[0]
    assert ax.kind == "categorical" and [t for _, t in ax.ticks] == ["2", "3", "12", "None"]


def test_parallel_coordinates_numeric_axis_shows_real_values_at_the_ends():
    df = frame(**{"metrics.acc": [0.61, 0.93, 0.7]})
    ax = charts.parallel_coordinates(df, ["metrics.acc"]).axes[0]
    assert ax.ticks[0] == (0.0, "0.61") and ax.ticks[-1] == (1.0, "0.93")
    assert ax.positions[0] == 0.0 and ax.positions[1] == 1.0


@pytest.mark.parametrize("values, log, note", [
    (["1e-4", "1e-2", "1"], True, ""),
    (["0", "1e-2", "1"], False, "log scale needs positive values"),
])
def test_parallel_coordinates_log_axes(values, log, note):
    result = charts.parallel_coordinates(frame(**{"params.lr": values}), ["params.lr"], log_axes=["params.lr"])
    ax = result.axes[0]
    assert ax.log is log
    if log:
        assert [t for _, t in ax.ticks] == ["0.0001", "0.001", "0.01", "0.1", "1"]
        assert ax.positions[1] == pytest.approx(0.5)
    assert (note in " ".join(result.notes)) if note else not any("log" in n for n in result.notes)


def test_parallel_coordinates_samples_beyond_the_threshold_and_says_so():
    n = 500
    rng = np.random.default_rng(0)
    df = frame(**{"params.p": rng.choice(["a", "b"], n), "metrics.acc": np.arange(n) / n})
    selected = ["r3", "r7"]
    result = charts.parallel_coordinates(df, ["params.p", "metrics.acc"], color="metrics.acc",
                                         selected=selected, max_lines=100)
    spec = result.to_dict()
    assert result.drawn == 100 and result.total == n
    assert "Showing 100 of 500 runs: the 25 best by acc" in spec["title"]["subtitle"][0]
    rows = line_rows(spec)
    colours = sorted({r["c"] for r in rows})
    assert colours[-25:] == [v / n for v in range(n - 25, n)]  # the 25 best are all drawn
    drawn_selected = [r for r in rows if r["sel"]]
    assert sorted(r["run"] for r in drawn_selected) == ["run-3", "run-7"]  # selected runs always drawn


def test_parallel_coordinates_highlights_selected_runs_in_their_own_layer():
    df = frame(**{"metrics.a": [1.0, 2.0, 3.0], "metrics.b": [3.0, 2.0, 1.0]})
    spec = charts.parallel_coordinates(df, ["metrics.a", "metrics.b"], selected=["r1"]).to_dict()
    top = [(layer, rows) for layer, rows in layers(spec) if layer["mark"].get("color") == charts.SELECTED_COLOR]
    assert len(top) == 1 and [r["run"] for r in top[0][1]] == ["run-1"]


def test_parallel_coordinates_runs_without_the_colour_metric_are_grey_not_dropped():
    df = frame(**{"params.p": ["a", "b", "c"], "metrics.acc": [0.5, NAN, 0.7]})
    spec = charts.parallel_coordinates(df, ["params.p", "metrics.acc"], color="metrics.acc").to_dict()
    grey = [rows for layer, rows in layers(spec) if layer["mark"].get("color") == charts.MISSING_COLOR]
    assert [r["run"] for r in grey[0]] == ["run-1"]


@pytest.mark.parametrize("metric, values, drawn_last", [
    ("metrics.f1", [0.9, 0.2, 0.5, NAN], 0.9),  # higher is better: the best line is drawn last
    ("metrics.val_loss", [0.9, 0.2, 0.5, NAN], 0.2),  # a loss: lower is better
])
def test_parallel_coordinates_draw_the_best_runs_on_top(metric, values, drawn_last):
    df = frame(**{"params.x": ["a", "b", "c", "d"], metric: values})
    spec = charts.parallel_coordinates(df, ["params.x", metric], color=metric).to_dict()
    coloured = [rows for layer, rows in layers(spec)
                if layer["mark"]["type"] == "rule" and rows and "c" in rows[0] and rows[0]["c"] is not None]
    assert len(coloured) == 1
    assert [r["c"] for r in coloured[0]][-1] == drawn_last
    assert sorted(r["c"] for r in coloured[0]) == sorted(v for v in values if v == v)  # none dropped here


def test_parallel_coordinates_of_no_runs_and_no_axes_do_not_fail():
    empty = frame(**{"metrics.a": pd.Series([], dtype=float)})
    assert charts.parallel_coordinates(empty, ["metrics.a"]).drawn == 0
    assert charts.parallel_coordinates(frame(**{"metrics.a": [1.0]}), []).to_dict()


def test_parallel_coordinates_on_the_awkward_store(sqlite_awkward):
    uri, _ = sqlite_awkward
    df = load_runs(uri, [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT])
    axes = ["params.model", "params.n_estimators", "metrics.loss", "metrics.accuracy"]
    result = charts.parallel_coordinates(df, axes, color="metrics.accuracy")
    spec = result.to_dict()
    assert len(line_rows(spec)) == len(df) * 3
    assert "<img src=x onerror=alert(1)>" in texts(spec)  # drawn as text, in full
    loss = result.axes[2]
    assert loss.pos_inf == 1  # the inf loss sits on its own band (SQL stores keep it as float max)
    assert loss.na == len(df) - 2  # only plain-rf (0.25) and inf-loss have a loss


def scatter_frame() -> pd.DataFrame:
    return frame(**{
        "metrics.latency": [10.0, 20.0, 5.0, NAN, INF, 30.0],
        "metrics.acc": [0.8, 0.9, 0.7, 0.95, 0.99, 0.85],
        "params.model": ["rf", "gbm", "rf", "rf", LONG, None],
        "experiment_name": ["e1", "e1", "e2", "e2", "e2", "e1"],
    })


def test_scatter_selection_tooltips_and_undrawable_runs_are_counted():
    result = charts.scatter(scatter_frame(), "metrics.latency", "metrics.acc", color="params.model")
    spec = result.to_dict()
    pick = [p for p in spec["params"] if p["name"] == "pick"]
    assert pick[0]["select"]["fields"] == ["run_id"]
    points_view = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert pick[0]["views"] == [points_view["name"]]
    assert result.drawn == 4 and "2 of 6 runs not drawn" in spec["title"]["subtitle"][0]
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    titles = [t["title"] for t in points["encoding"]["tooltip"]]
    assert titles[:2] == ["Run", "Experiment"] and "latency" in titles and "model" in titles
    assert points["encoding"]["color"]["type"] == "nominal"


@pytest.mark.parametrize("x_dir, y_dir, front", [
    ("min", "max", ["run-2", "run-0", "run-1"]),
    ("max", "max", ["run-1", "run-5"]),
    ("max", "min", ["run-2", "run-0", "run-5"]),
])
def test_scatter_draws_and_lists_the_pareto_front(x_dir, y_dir, front):
    result = charts.scatter(scatter_frame(), "metrics.latency", "metrics.acc", pareto=(x_dir, y_dir))
    assert list(result.pareto["run_name"]) == front
    spec = result.to_dict()
    line = [rows for layer, rows in layers(spec) if layer["mark"]["type"] == "line"]
    assert [r["run"] for r in line[0]] == front
    assert any(f"{len(front)} runs" in s for s in spec["title"]["subtitle"])


def test_scatter_log_axes_and_categorical_axes():
    df = frame(**{"params.lr": ["0.1", "0", "1e-3"], "params.opt": ["adam", LONG, "sgd"]})
    result = charts.scatter(df, "params.lr", "params.opt", log_x=True)
    spec = result.to_dict()
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert points["encoding"]["x"]["scale"]["type"] == "log"
    assert points["encoding"]["y"]["type"] == "nominal" and points["encoding"]["y"]["axis"]["labelLimit"] == 0
    assert result.drawn == 2  # lr = 0 cannot sit on a log axis, and the chart says so
    assert "≤ 0 on a log axis" in spec["title"]["subtitle"][0]


def test_scatter_pareto_needs_numbers_and_single_or_empty_frames_work():
    df = frame(**{"params.opt": ["a", "b"], "metrics.acc": [0.1, 0.2]})
    assert charts.scatter(df, "params.opt", "metrics.acc", pareto=("max", "max")).pareto is None
    one = charts.scatter(frame(**{"metrics.a": [1.0], "metrics.b": [2.0]}), "metrics.a", "metrics.b", pareto=("max", "max"))
    assert list(one.pareto["run_id"]) == ["r0"]
    none = charts.scatter(frame(**{"metrics.a": [NAN], "metrics.b": [2.0]}), "metrics.a", "metrics.b", pareto=("max", "max"))
    assert none.drawn == 0 and none.pareto.empty


def test_scatter_marks_selected_runs():
    spec = charts.scatter(scatter_frame(), "metrics.latency", "metrics.acc", selected=["r1"]).to_dict()
    rings = [rows for layer, rows in layers(spec) if layer["mark"].get("color") == charts.SELECTED_COLOR]
    assert [r["run_id"] for r in rings[0]] == ["r1"]


def test_metric_history_from_the_store_draws_finite_values_and_counts_the_rest(sqlite_awkward):
    uri, ids = sqlite_awkward
    history = load_metric_history(uri, [ids["plain"], ids["posinf"]], "loss")
    result = charts.metric_history(history, {ids["plain"]: "plain-rf", ids["posinf"]: "inf-loss"}, "loss")
    spec = result.to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert sorted({r["series"] for r in rows}) == ["plain-rf"]
    assert [r["y"] for r in rows] == [0.9, 0.5, 0.3, 0.25]
    # SQL stores keep the logged inf as float max: it is shown as the inf it was, i.e. not drawn
    assert result.total == 2 and result.drawn == 1
    assert result.notes == ["1 NaN/inf values not drawn."]


def test_metric_history_says_how_many_values_were_not_finite():
    history = pd.DataFrame({"run_id": ["a"] * 3, "key": ["m"] * 3, "step": [0, 1, 2],
                            "timestamp": pd.to_datetime([0, 1, 2], unit="ms", utc=True), "value": [1.0, NAN, INF]})
    result = charts.metric_history(history, {"a": HOSTILE_NAME}, "m")
    assert result.notes == ["2 NaN/inf values not drawn."]
    rows = next(iter(result.to_dict()["datasets"].values()))
    assert rows[0]["series"] == HOSTILE_NAME  # the name as data, drawn as text by Vega


@pytest.mark.parametrize("lo, hi, expected", [
    (0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),
    (0.565, 0.9473, [0.6, 0.7, 0.8, 0.9]),
    (5.0, 5.0, [5.0]),
    (-INF, 1.0, []),
])
def test_nice_ticks(lo, hi, expected):
    assert charts.nice_ticks(lo, hi) == pytest.approx(expected)


def test_large_charts_serialise_without_altairs_row_limit():
    n = 6000  # more than Altair's default 5,000-row limit
    df = frame(**{"metrics.a": np.arange(n, dtype=float), "metrics.b": np.arange(n, dtype=float)[::-1]})
    pc = charts.parallel_coordinates(df, ["metrics.a", "metrics.b"], max_lines=n)
    assert len(line_rows(pc.to_dict())) == n
    sc = charts.scatter(df, "metrics.a", "metrics.b", pareto=("max", "max"))
    assert sc.drawn == n and len(sc.pareto) == n  # a perfect trade-off: every run is on the front
    assert sc.to_dict()


CHAMPION = {"r3": "@champion: churn v2 (run-3)"}


@pytest.mark.parametrize("max_lines", [100, 10_000])  # sampled or not, the reference run is drawn
def test_parallel_coordinates_draws_reference_runs_dashed_on_top(max_lines):
    n = 500
    df = frame(**{"metrics.acc": np.arange(n) / n, "metrics.loss": np.arange(n)[::-1] / n})
    spec = charts.parallel_coordinates(df, ["metrics.acc", "metrics.loss"], color="metrics.acc",
                                       max_lines=max_lines, reference=CHAMPION).to_dict()
    dashed = [(layer, rows) for layer, rows in layers(spec) if layer["mark"].get("strokeDash")]
    assert len(dashed) == 1 and dashed[0][0]["mark"]["color"] == charts.REFERENCE_COLOR
    assert [r["run"] for r in dashed[0][1]] == ["run-3"]
    assert "Dashed black: @champion: churn v2 (run-3)." in spec["title"]["subtitle"]


@pytest.mark.parametrize("reference", [None, {}, {"not-a-run": "@champion"}])
def test_parallel_coordinates_without_a_reference_in_the_frame(reference):
    df = frame(**{"metrics.a": [1.0, 2.0], "metrics.b": [2.0, 1.0]})
    spec = charts.parallel_coordinates(df, ["metrics.a", "metrics.b"], reference=reference).to_dict()
    assert not [layer for layer, _ in layers(spec) if layer["mark"].get("strokeDash")]
    assert not any("Dashed" in s for s in spec["title"]["subtitle"])


@pytest.mark.parametrize("run, placed", [("r1", True), ("r4", False)])
def test_scatter_stars_reference_runs_or_says_why_not(run, placed):
    df = frame(**{"metrics.latency": [10.0, 20.0, 30.0, 40.0, NAN], "metrics.acc": [0.5, 0.9, 0.7, 0.8, 0.6]})
    label = "@champion: churn v2"
    spec = charts.scatter(df, "metrics.latency", "metrics.acc", reference={run: label}).to_dict()
    stars = [rows for layer, rows in layers(spec) if layer["mark"].get("shape") == charts.STAR]
    texts = [rows for layer, rows in layers(spec) if layer["mark"]["type"] == "text"]
    if placed:
        assert [r["run_id"] for r in stars[0]] == [run] and [r["ref"] for r in texts[0]] == [label]
    else:
        assert not stars and f"Not drawn for lack of a latency or acc value: {label}." in spec["title"]["subtitle"]


def test_reference_runs_outside_the_frame_are_marks_only():
    """A champion the filter leaves out: a dashed line and a star, not a run of the chart (not
    counted, not on the Pareto front), and the axes stretch to reach it."""
    df = frame(**{"metrics.latency": [10.0, 20.0], "metrics.acc": [0.5, 0.9]})
    champion = pd.DataFrame({"run_id": ["c"], "run_name": ["champ"], "metrics.latency": [1.0], "metrics.acc": [0.99]})
    label = {"c": "@champion m v1 (outside the filter)"}
    pc = charts.parallel_coordinates(df, ["metrics.latency", "metrics.acc"], reference=label, reference_runs=champion)
    spec = pc.to_dict()
    assert pc.drawn == 2 and pc.total == 2 and spec["title"]["text"] == "Parallel coordinates · 2 runs"
    dashed = [rows for layer, rows in layers(spec) if layer["mark"].get("strokeDash")]
    plain = [r for layer, rows in layers(spec) if layer["mark"]["type"] == "rule" and not layer["mark"].get("strokeDash")
             and rows and "sel" in rows[0] for r in rows]
    assert {r["run"] for r in dashed[0]} == {"champ"} and "champ" not in {r["run"] for r in plain}
    assert pc.axes[0].positions.tolist()[-1] == pytest.approx(0.0)  # latency 1.0 is the axis minimum
    no_f1 = charts.parallel_coordinates(df, ["metrics.acc"], reference=label, reference_runs=champion.drop(columns="metrics.acc"))
    assert no_f1.axes[0].na == 0  # the champion sits on the n/a band without being counted there
    band = [r["t"] for layer, rows in layers(no_f1.to_dict()) if layer["mark"]["type"] == "text" for r in rows]
    assert "n/a" in band and not any(t.startswith("n/a (") for t in band)
    sc = charts.scatter(df, "metrics.latency", "metrics.acc", pareto=("min", "max"), reference=label, reference_runs=champion)
    sspec = sc.to_dict()
    assert sc.drawn == 2 and sc.total == 2 and "c" not in set(sc.pareto["run_id"])
    points = [rows for layer, rows in layers(sspec) if layer["mark"]["type"] == "circle"]
    stars = [rows for layer, rows in layers(sspec) if layer["mark"].get("shape") == charts.STAR]
    assert {r["run_id"] for r in points[0]} == {"r0", "r1"} and [r["run_id"] for r in stars[0]] == ["c"]
