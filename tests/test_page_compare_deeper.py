"""AppTest of Compare's deeper views on real stores: brushing, metric values and summaries, shared
views, importance, sweeps, unnamed runs, one-metric stores of unfinished runs (issue 11)."""

from __future__ import annotations

import json
import sqlite3

import mlflow
import pytest
from mlflow.entities import Metric
from stores import AWKWARD_EXPERIMENT

from podium import views

PAGE = "app_pages/compare.py"


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def table(at):
    return at.dataframe[0].value


def query(at, name: str) -> list[str]:
    value = at.query_params.get(name, [])
    return [value] if isinstance(value, str) else list(value)


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


@pytest.mark.parametrize("brush, kept", [
    ("metrics.accuracy:0.9:1", ["plain", "hostile", "child1", "child2"]),
    ('params.model:=["rf"]', ["plain", "failed", "running", "child1", "child2"]),
    ("metrics.accuracy:0.9:1:na", ["plain", "hostile", "child1", "child2", "parent", "nan"]),
])
def test_brush_in_the_url_narrows_the_table_and_stays_in_the_permalink(sqlite_awkward, open_app, brush, kept):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": AWKWARD_EXPERIMENT, "brush": brush})
    assert not at.exception
    assert sorted(table(at)["run_id"]) == sorted(ids[k] for k in kept)
    assert f"· {len(kept)} of 11 runs" in texts(at.caption) and "Brushed:" in texts(at.caption)
    assert query(at, "brush") == [brush]
    scatter = specs(at)[1]
    assert f"· {len(kept)} runs" in scatter["title"]["text"] or "not drawn" in json.dumps(scatter["title"])
    at.button(key="compare_clear_brush").click().run()
    assert len(table(at)) == 11 and query(at, "brush") == []


def test_metric_values_min_and_summary_columns(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": AWKWARD_EXPERIMENT})
    at.multiselect(key="compare_summary_metrics").set_value(["metrics.loss"]).run()
    t = table(at).set_index("run_id")
    assert t.at[ids["plain"], "metrics.loss (min)"] == 0.25 and t.at[ids["plain"], "metrics.loss (max)"] == 0.9
    assert t.at[ids["plain"], "metrics.loss (n)"] == 4 and t.at[ids["plain"], "metrics.loss (best step)"] == 3
    assert t.at[ids["plain"], "metrics.loss"] == 0.25  # MLflow's own value: the last
    assert list(table(at).columns[:4]) == ["run_id", "run_name", "metrics.loss (min)", "metrics.loss (max)"]
    at.segmented_control(key="compare_value").set_value("max").run()
    assert not at.exception
    assert table(at).set_index("run_id").at[ids["plain"], "metrics.loss"] == 0.9
    assert query(at, "value") == ["max"]
    assert "Metric values: the max of each run's history." in texts(at.caption).replace("\\", "")


def test_importance_and_sweep_sections(demo_store_uri, open_app):
    at = open_app(demo_store_uri, PAGE, query={"exp": "fraud-detection"})
    assert not at.exception
    titles = [s.get("title", {}).get("text", "") if isinstance(s.get("title"), dict) else "" for s in specs(at)]
    assert any(t.startswith("Which params explain") for t in titles)
    assert any(t.startswith("Best ") and "so far" in t for t in titles)
    assert "gbm-sweep" in at.selectbox(key="compare_sweep").format_func(at.selectbox(key="compare_sweep").value)


def test_one_metric_and_unfinished_runs_do_not_crash(fresh_sqlite_uri, open_app):
    # Issue 11: "Duplicate column names" when the only metric was also the default scatter x.
    # Also issue 11: unnamed runs (every MLflow 1.x run: an empty name, no mlflow.runName tag)
    # showed a blank Run column; they are labelled by a short run id.
    client = mlflow.MlflowClient(fresh_sqlite_uri)
    exp = client.create_experiment("live")
    ids = []
    for i in range(3):
        run = client.create_run(exp, run_name=f"r{i}")
        client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0 / (i + 1), 0, 0)])
        ids.append(run.info.run_id)
    with sqlite3.connect(fresh_sqlite_uri.removeprefix("sqlite:///")) as db:  # as MLflow 1.x left it
        db.execute("UPDATE runs SET name = '' WHERE run_uuid = ?", (ids[0],))
        db.execute("DELETE FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", (ids[0],))
    at = open_app(fresh_sqlite_uri, PAGE, query={"exp": "live"})
    assert not at.exception
    names = dict(zip(table(at)["run_id"], table(at)["run_name"]))
    assert names == {ids[0]: ids[0][:8], ids[1]: "r1", ids[2]: "r2"}
    # Unfinished runs have no duration: x is not the metric again, and the page says what to do.
    assert at.selectbox(key="compare_x").value != at.selectbox(key="compare_y").value
    assert "Choose x and y" in texts(at.info)


def test_a_saved_view_opens_the_same_view_in_another_session(fresh_sqlite_uri, open_app):
    client = mlflow.MlflowClient(fresh_sqlite_uri)
    exp = client.create_experiment("fraud")
    for i, (opt, f1) in enumerate([("adam", 0.9), ("sgd", 0.5), ("adam", 0.7)]):
        run = client.create_run(exp, run_name=f"r{i}")
        client.log_batch(run.info.run_id, metrics=[Metric("f1", f1, 0, 0)], params=[mlflow.entities.Param("opt", opt)])
        client.set_terminated(run.info.run_id)
    at = open_app(fresh_sqlite_uri, PAGE, query={"exp": "fraud", "filter": "params.opt = 'adam'", "brush": "metrics.f1:0.8:1"})
    assert len(table(at)) == 1
    at.text_input(key="compare_view_name").input("adam best").run()
    at.button(key="compare_view_save").click().run()
    assert views.list_views(fresh_sqlite_uri, "fraud") == []  # nothing written before the confirmation
    assert "Save the view 'adam best'" in texts(at.warning)
    at.button(key="compare_view_confirm").click().run()
    saved = views.list_views(fresh_sqlite_uri, "fraud")
    assert [v.name for v in saved] == ["adam best"]
    assert saved[0].params()["filter"] == ["params.opt = 'adam'"] and saved[0].params()["brush"] == ["metrics.f1:0.8:1"]

    other = open_app(fresh_sqlite_uri, PAGE, query={"exp": "fraud"})
    assert len(table(other)) == 3
    other.selectbox(key="compare_view_pick").set_value("adam best").run()
    other.button(key="compare_view_open").click().run()
    assert not other.exception
    assert other.text_input(key="compare_filter").value == "params.opt = 'adam'"
    assert len(table(other)) == 1 and query(other, "brush") == ["metrics.f1:0.8:1"]

    other.button(key="compare_view_delete").click().run()
    assert [v.name for v in views.list_views(fresh_sqlite_uri, "fraud")] == ["adam best"]
    other.button(key="compare_view_confirm").click().run()
    assert views.list_views(fresh_sqlite_uri, "fraud") == []
