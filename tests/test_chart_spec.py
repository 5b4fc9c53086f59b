"""Charts as a page sends them (ChartResult.spec/select) and the parallel coordinates drawn as a picture."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from podium import charts, parallel
from podium.chart_common import SELECTION_DATA


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "run_id": [f"r{i}" for i in range(n)], "run_name": [f"run-{i}" for i in range(n)],
        "params.model": rng.choice(["rf", "svm", "mlp"], n), "params.lr": [str(v) for v in rng.uniform(0.001, 0.1, n)],
        "metrics.f1": rng.uniform(0.3, 0.95, n), "metrics.latency": rng.uniform(1, 100, n),
    })


AXES = ["params.model", "params.lr", "metrics.latency", "metrics.f1"]


def records(data) -> list[dict]:
    """Rows as Altair writes them inline (NaN as None)."""
    if isinstance(data, list):
        return data
    return data.astype(object).where(data.notna(), None).to_dict("records")


def both(result) -> tuple[dict, dict]:
    return result.to_dict(), result.spec()


@pytest.mark.parametrize("build", [
    lambda df, sel: charts.parallel_coordinates(df, AXES, color="metrics.f1", selected=sel, brushable=True),
    lambda df, sel: charts.scatter(df, "metrics.latency", "metrics.f1", color="params.model", selected=sel,
                                   pareto=("min", "max"), tooltip=["params.lr"]),
])
def test_spec_is_the_inline_spec_with_named_frames(build):
    df = frame(60)
    result = build(df, ["r3", "r7"])
    inline, named = both(result)
    assert named["$schema"] == inline["$schema"]
    assert [layer["mark"] for layer in named["layer"]] == [layer["mark"] for layer in inline["layer"]]
    assert [layer["encoding"] for layer in named["layer"]] == [layer["encoding"] for layer in inline["layer"]]
    assert named["title"] == inline["title"] and named.get("params") == inline.get("params")
    for a, b in zip(inline["layer"], named["layer"]):
        assert records(named["datasets"][b["data"]["name"]]) == records(inline["datasets"][a["data"]["name"]])
    assert all(isinstance(d, pd.DataFrame) for d in named["datasets"].values())
    assert SELECTION_DATA in named["datasets"]
    assert list(result.spec()["datasets"]) == list(named["datasets"])  # the same names on every call


def test_select_changes_only_the_selection_layer():
    df = frame(60)
    pc = charts.parallel_coordinates(df, AXES, color="metrics.f1")
    spec = pc.spec()
    picked = pc.select(spec, ["r5", "r9"])
    assert set(picked["datasets"]) == set(spec["datasets"])
    for name, data in spec["datasets"].items():
        if name != SELECTION_DATA:
            assert picked["datasets"][name] is data
    rows = picked["datasets"][SELECTION_DATA]
    assert sorted(set(rows["run"])) == ["run-5", "run-9"] and rows["sel"].all()
    assert len(rows) == 2 * (len(AXES) - 1)  # one segment per pair of neighbouring axes
    assert spec["datasets"][SELECTION_DATA].empty  # the cached spec is not changed
    # Selecting in the page equals building the chart with the selection.
    built = charts.parallel_coordinates(df, AXES, color="metrics.f1", selected=["r5", "r9"]).spec()
    assert records(built["datasets"][SELECTION_DATA]) == records(rows)


def test_the_sample_of_a_large_chart_does_not_depend_on_the_selection():
    df = frame(500)
    plain = charts.parallel_coordinates(df, AXES, color="metrics.f1", max_lines=100).spec()
    picked = charts.parallel_coordinates(df, AXES, color="metrics.f1", max_lines=100, selected=["r1", "r2", "r499"]).spec()
    for name in plain["datasets"]:
        if name != SELECTION_DATA:
            pd.testing.assert_frame_equal(plain["datasets"][name], picked["datasets"][name])
    assert set(picked["datasets"][SELECTION_DATA]["run"]) == {"run-1", "run-2", "run-499"}


def test_scatter_select_rings_the_selected_points_only():
    df = frame(40)
    sc = charts.scatter(df, "metrics.latency", "metrics.f1")
    spec = sc.select(sc.spec(), ["r4"])
    assert list(spec["datasets"][SELECTION_DATA]["run_id"]) == ["r4"]
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert "sel" not in spec["datasets"][points["data"]["name"]].columns  # the points do not change with a selection


def picture(spec: dict) -> tuple[dict, Image.Image] | tuple[None, None]:
    for layer in spec["layer"]:
        if layer["mark"]["type"] == "image":
            row = records(spec["datasets"][layer["data"]["name"]])[0]
            data = base64.b64decode(row["url"].removeprefix("data:image/png;base64,"))
            return layer, Image.open(io.BytesIO(data))
    return None, None


def test_raster_draws_many_lines_as_one_image_and_keeps_selection_legend_and_brush():
    n = charts.TOOLTIP_MAX_LINES + 500
    df = frame(n)
    pc = charts.parallel_coordinates(df, AXES, color="metrics.f1", selected=["r1"], reference={"r2": "@champion"},
                                     brushable=True, raster=True)
    spec = pc.spec()
    layer, img = picture(spec)
    assert layer is not None and layer["mark"].get("aspect") is False
    assert img.mode == "RGBA" and img.size == (parallel.RASTER_WIDTH, 460)
    alpha = np.asarray(img)[:, :, 3]
    assert 0 < (alpha > 0).mean() < 1  # lines, and space between them
    lines = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule" and layer["data"]["name"].startswith("data-")]
    drawn = sum(len(spec["datasets"][layer["data"]["name"]]) for layer in lines)
    assert drawn == len(AXES) + (len(AXES) - 1)  # the axes' own rules and the dashed reference line only
    assert len(spec["datasets"][SELECTION_DATA]) == len(AXES) - 1  # r1, still marks
    selection = pc.select(spec, ["r1", "r3"])["datasets"][SELECTION_DATA]
    assert len(selection) == 2 * (len(AXES) - 1) and selection["sel"].all()
    assert any("color" in layer.get("encoding", {}) for layer in spec["layer"])  # the legend's scale
    assert any(p["name"] == "brush" for p in spec.get("params", []))
    assert pc.drawn == min(n, charts.MAX_LINES) and pc.total == n


def test_raster_is_only_for_lines_without_tooltips():
    df = frame(50)
    spec = charts.parallel_coordinates(df, AXES, color="metrics.f1", raster=True).spec()
    assert picture(spec) == (None, None)
    rows = [r for layer in spec["layer"] if layer["mark"]["type"] == "rule"
            for r in records(spec["datasets"][layer["data"]["name"]]) if "run" in r]
    assert len(rows) == 50 * (len(AXES) - 1)


def test_raster_pixels_follow_the_lines_colours():
    """Two runs on two axes: one at the top of both (best f1: yellow), one at the bottom (purple)."""
    df = pd.DataFrame({"run_id": [f"r{i}" for i in range(3000)], "run_name": [f"run-{i}" for i in range(3000)],
                       "metrics.a": [1.0, 0.0] * 1500, "metrics.f1": [0.9, 0.1] * 1500})
    pc = charts.parallel_coordinates(df, ["metrics.a", "metrics.f1"], color="metrics.f1", max_lines=3000, raster=True)
    _, img = picture(pc.spec())
    px = np.asarray(img).astype(int)
    top = np.argwhere(px[:, :, 3] > 0)
    assert top.size
    rows = sorted({int(r) for r, _ in top})
    high, low = px[rows[0]], px[rows[-1]]
    high_rgb = high[high[:, 3] > 0][:, :3].mean(axis=0)
    low_rgb = low[low[:, 3] > 0][:, :3].mean(axis=0)
    assert high_rgb[0] > 200 and high_rgb[1] > 200  # viridis' yellow end
    assert low_rgb[2] > low_rgb[1] and low_rgb[0] < 120  # its purple end


def test_scatter_samples_points_beyond_max_points_and_says_so():
    df = frame(300)
    sc = charts.scatter(df, "metrics.latency", "metrics.f1", pareto=("min", "max"), selected=["r299"], max_points=100)
    spec = sc.spec()
    points = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "circle")
    assert len(spec["datasets"][points["data"]["name"]]) == 100 and sc.drawn == 100 and sc.total == 300
    assert any("random sample of 100 of the 300 runs placed" in n for n in sc.notes)
    x_domain = points["encoding"]["x"]["scale"]["domain"]
    assert x_domain == [pytest.approx(df["metrics.latency"].min()), pytest.approx(df["metrics.latency"].max())]
    assert list(spec["datasets"][SELECTION_DATA]["run_id"]) == ["r299"]  # ringed, sampled or not
    assert len(sc.pareto) >= 1 and set(sc.pareto["run_id"]) <= set(df["run_id"])
    everything = charts.scatter(df, "metrics.latency", "metrics.f1", pareto=("min", "max"))
    assert list(everything.pareto["run_id"]) == list(sc.pareto["run_id"])  # the front is of every run


def test_charts_are_built_without_altairs_per_object_validation_and_come_out_the_same():
    """parallel_coordinates and scatter build inside chart_common.unvalidated (Altair's debug mode
    off: no schema validation of each object as it is made); the result validates as a whole, equals
    the chart built with validation on, and the flag is Altair's own again afterwards, also when
    nested or when the building fails."""
    from altair.utils import schemapi

    from podium.chart_common import unvalidated

    df = frame(300)
    assert schemapi.DEBUG_MODE is True
    seen = []
    with unvalidated():
        seen.append(schemapi.DEBUG_MODE)
        with unvalidated():
            seen.append(schemapi.DEBUG_MODE)
        seen.append(schemapi.DEBUG_MODE)
    assert seen == [False, False, False] and schemapi.DEBUG_MODE is True
    with pytest.raises(RuntimeError), unvalidated():
        raise RuntimeError("a chart that fails to build")
    assert schemapi.DEBUG_MODE is True

    fast = [charts.parallel_coordinates(df, AXES, color="metrics.f1"), charts.scatter(df, "metrics.latency", "metrics.f1")]
    assert schemapi.DEBUG_MODE is True
    with schemapi.debug_mode(True):  # the undecorated bodies, validating every object as it is made
        slow = [charts.parallel_coordinates.__wrapped__(df, AXES, color="metrics.f1"),
                charts.scatter.__wrapped__(df, "metrics.latency", "metrics.f1")]
    for a, b in zip(fast, slow):
        assert a.chart.to_dict(validate=True) == b.chart.to_dict(validate=True)


@pytest.mark.parametrize("values", [
    pd.Series(["0.1", "0.01", "adam", None, "sgd", "0.1", "10", "9"] * 50, dtype="string[pyarrow]"),
    pd.Series(["b", "a", None, "b", "a10", "a9"] * 50, dtype=object),
    pd.Series([1, True, "a", None, 2.5, "1"] * 50, dtype=object),  # 1 and True stay two values
])
def test_categorical_axis_places_each_run_at_its_values_text(values):
    """A category axis: the distinct texts in natural order, evenly spaced, each run at its own
    value's text (missing values on the n/a band), strings hashed once and anything else by str()."""
    from podium.chart_common import _natural

    layout = parallel.layout_axis(values, "params.p", "p")
    texts = [None if pd.isna(v) else str(v) for v in values.astype(object)]
    cats = sorted({t for t in texts if t is not None}, key=_natural)
    spot = {c: i / (len(cats) - 1) for i, c in enumerate(cats)}
    assert [c for _, c in layout.categories] == cats
    assert layout.positions.tolist() == [parallel.NA_Y if t is None else spot[t] for t in texts]
    assert layout.na == sum(t is None for t in texts)
