"""Reports on the runs real stores hold that the happy path does not: stores written by old MLflow
versions (unnamed runs, models named only by the ``mlflow.log-model.history`` tag, FAILED and
RUNNING runs, ±inf kept as float max), control and bidi characters in run data (vl-convert once
aborted the whole process on them), a committed ``mlruns/`` folder, and chart data compaction.
Issue 11 (report bugs) and issue 17 (report size)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from podium.report import build_report, chartdata
from podium.report.html import render_html
from podium.report.markdown import ChartImageError, markdown_zip, render_markdown, render_pngs
from podium.report.safe import md_text, visible
from report_store import assert_inert

ROOT = Path(__file__).absolute().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stores"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
TRAIN = "fixture-train"
EDGE = "edges ‮ <exp>"
ANSI = "0\x1b[0m"
RLO_NAME = "report\u202efdp.exe"
CONTROL = ["\x1b[31mred\x1b[0m", "nul\x00byte", "bell\x07", "del\x7f", "c1\x9b", "bom\ufeff", "non\ufffechar", "rlo\u202e",
           "lri\u2066x\u2069", "lone\ud800surrogate"]


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory):
    """A SQLite store (MLflow's own client) whose runs are hard to report on; {label: run_id}."""
    from harness.databases import fresh_sqlite
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    uri = fresh_sqlite(tmp_path_factory.mktemp("edges") / "mlflow.db")
    client = MlflowClient(uri)
    exp = client.create_experiment(EDGE)
    ids = {}
    t0 = 1_700_000_000_000
    rows = [  # label, name, score, status (None: never ended), params, tags
        ("pinf", "plus-inf", math.inf, "FINISHED", {"kind": "a"}, {}),
        ("ninf", "minus-inf", -math.inf, "FINISHED", {"kind": "a"}, {}),
        ("tie_old", "tie-old", 0.5, "FINISHED", {"kind": "b"}, {}),
        ("tie_new", "tie-new", 0.5, "FINISHED", {"kind": "b"}, {}),
        ("failed", "crashed", 0.8, "FAILED", {"kind": "a"}, {}),
        ("running", "still-going", 0.7, None, {"kind": "a"}, {}),
        ("nan", "no-score", math.nan, "FINISHED", {"kind": "a"}, {}),
        ("ansi", RLO_NAME, 0.6, "FINISHED", {"kind": ANSI, "color": "\x1b[31mred\x1b[0m"}, {}),
        ("tagged", "mlflow2-model", 0.4, "FINISHED", {"kind": "c"}, {
            # What MLflow 2's log_model writes; this store has no artifacts (copied without them).
            "mlflow.log-model.history": json.dumps([{"run_id": "x", "artifact_path": "model", "utc_time_created":
                                                     "2024-01-01 00:00:00.000000", "flavors": {"python_function": {}}}])}),
    ]
    for i, (label, name, score, status, params, tags) in enumerate(rows):
        run = client.create_run(exp, run_name=name, start_time=t0 + i * 1000)
        run_id = run.info.run_id
        ids[label] = run_id
        client.log_batch(run_id, metrics=[Metric("score", score, t0, 0), Metric("latency_ms", 10.0 + i, t0, 0)],
                         params=[Param(k, v) for k, v in params.items()], tags=[RunTag(k, v) for k, v in tags.items()])
        if status:
            client.set_terminated(run_id, status, end_time=t0 + i * 1000 + 500)
    # tie_new started after tie_old: same score, so MLflow puts it first.
    return uri, ids


def fixture_copy(name: str, tmp_path: Path) -> str:
    """A private copy of one of the old-MLflow fixture stores (tests/fixtures/stores)."""
    source = FIXTURES / name
    if name.endswith(".db"):
        shutil.copyfile(source, tmp_path / name)
        return f"sqlite:///{tmp_path / name}"
    shutil.copytree(source, tmp_path / name)
    return (tmp_path / name).resolve().as_uri()


# --- ranking: as MLflow orders runs --------------------------------------------------------------


@pytest.mark.parametrize("mode, order_by", [("max", "metrics.score DESC"), ("min", "metrics.score ASC")])
def test_leaderboard_order_is_mlflows_with_inf_at_the_ends(edge_store, mode, order_by):
    from mlflow import MlflowClient

    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", mode, top=20, charts=False)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(EDGE).experiment_id
    mlflow_order = [x.info.run_id for x in client.search_runs([exp], order_by=[order_by], max_results=100)]
    mlflow_order.remove(ids["nan"])  # MLflow puts NaN last; the report leaves it unranked and says so
    assert [row.run_id for row in r.leaderboard] == mlflow_order
    assert r.leaderboard[0 if mode == "max" else -1].run_id == ids["pinf"]
    assert math.isinf(r.leaderboard[0].score)  # float max read back from SQLite is infinity again
    assert [row.run_id for row in r.leaderboard].index(ids["tie_new"]) < [row.run_id for row in r.leaderboard].index(ids["tie_old"])


def test_infinity_is_shown_as_infinity_in_both_formats(edge_store):
    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", "max", top=3, charts=False)
    md, html = render_markdown(r), render_html(r)
    assert "| 1 | plus-inf | **∞** |" in md
    assert ">∞</strong>" in html
    for text in (md, html):
        assert "1.798e+308" not in text and "e+308" not in text


# --- status, names, models -------------------------------------------------------------------------


def test_unfinished_runs_are_marked(edge_store):
    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", "max", top=3, charts=False)
    assert [(row.run_id, row.status) for row in r.leaderboard] == [
        (ids["pinf"], "FINISHED"), (ids["failed"], "FAILED"), (ids["running"], "RUNNING")]
    assert any("2 of the top 3 runs did not finish (#2 FAILED, #3 RUNNING)" in n for n in r.notes)
    md = render_markdown(r)
    assert "| 2 | crashed **FAILED** |" in md and "| 3 | still-going **RUNNING** |" in md
    assert "### 2. crashed (FAILED)" in md
    html = render_html(r)
    assert html.count('<span class="badge status-badge"') == 4  # leaderboard and cards, 2 runs each


def test_model_named_by_the_log_model_tag_is_not_missing(edge_store):
    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", filter_string="params.kind = 'c'", top=1, charts=False)
    (card,) = r.cards
    assert card.run_id == ids["tagged"]
    (model,) = card.models
    assert (model.name, model.uri, model.files_checked) == ("model", f"runs:/{ids['tagged']}/model", False)
    assert "no model logged" not in card.missing and "no environment file with the model" not in card.missing
    assert "not checked (the model's files were not listed)" in render_markdown(r)


@pytest.mark.parametrize("fixture", ["mlflow-1.26.1.db", "mlflow-1.30.1.db", "mlflow-2.9.2.db", "mlflow-2.22.5.db"])
def test_old_mlflow_stores_label_every_run_and_find_tagged_models(fixture, tmp_path):
    info = MANIFEST[fixture]
    uri = fixture_copy(fixture, tmp_path)
    r = build_report(uri, [TRAIN], "accuracy", "max", top=20, charts=False)
    names = {row.run_id: row.run_name for row in r.leaderboard}
    assert all(n.strip() for n in names.values())
    unnamed = info["runs"]["unnamed"]
    if not info["named_runs"]:  # MLflow 1.26: no name anywhere; labelled by its short id
        assert names[unnamed] == unnamed[:8]
    status = {row.run_id: row.status for row in r.leaderboard}
    assert status[info["runs"]["running"]] == "RUNNING"
    cards = {c.run_id: c for c in r.cards}
    for label in ("rf-1", "rf-2"):  # pyfunc models logged by MLflow itself, artifacts not copied
        card = cards[info["runs"][label]]
        assert [m.name for m in card.models] == ["model"] and "no model logged" not in card.missing
    assert "no model logged" in cards[info["runs"]["rf-3"]].missing


# --- control and bidi characters -------------------------------------------------------------------


@pytest.mark.parametrize("value", CONTROL)
def test_visible_leaves_no_control_or_bidi_character(value):
    import unicodedata

    shown = visible(value)
    assert not [c for c in shown if unicodedata.category(c) in ("Cc", "Cs") or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffe"]
    shown.encode("utf-8")  # no lone surrogate left
    assert md_text(value) == md_text(shown)


@pytest.mark.parametrize("value, shown", [("0\x1b[0m", "0␛[0m"), ("a\x00b", "a␀b"), ("a\u202eb", "a\ufffdb"),
                                          ("tab\there", "tab\there"), ("ünïcode ✓ 😀", "ünïcode ✓ 😀")])
def test_visible_shows_what_was_replaced(value, shown):
    assert visible(value) == shown


def test_control_characters_in_run_data_do_not_stop_the_chart_images(edge_store):
    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", "max", top=20)
    assert r.charts
    with zipfile.ZipFile(io.BytesIO(markdown_zip(r, "team"))) as zf:
        names = sorted(zf.namelist())
        text = zf.read("team.md").decode()
    assert names == ["team.md", "team_files/parallel.png", "team_files/scatter.png"]
    assert "could not be drawn" not in text
    assert "report\ufffdfdp\\.exe" in text and "\u202e" not in text  # the override shown, not obeyed
    html = render_html(r)
    assert "\u202e" not in html and "\x1b" not in html
    assert_inert(html, allowed_scripts=2)


def test_a_renderer_crash_is_a_message_not_the_end_of_the_process():
    # vl-convert aborts its process on an unsanitised ESC; it runs in a child, so this one survives.
    spec = {"data": {"values": [{"a": "\x1b[0m", "b": 1}]}, "mark": "bar",
            "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}}}
    with pytest.raises(ChartImageError, match="vl-convert"):
        render_pngs({"crash.png": spec})
    assert render_pngs({"ok.png": chartdata.compact(spec)})["ok.png"].startswith(b"\x89PNG")


def test_cli_markdown_with_an_ansi_param_exits_0(edge_store, tmp_path):
    uri, _ = edge_store
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_DISABLE_TELEMETRY": "true"}
    res = subprocess.run([sys.executable, "-m", "podium", "report", "--tracking-uri", uri, "--experiment", EDGE,
                          "--metric", "score", "--format", "md", "--output", str(tmp_path / "r.md")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "r_files").iterdir()) == ["parallel.png", "scatter.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "r_files"]  # nothing else written here


# --- committed mlruns folders ----------------------------------------------------------------------


@pytest.mark.parametrize("trash", [False, True], ids=["as-git-commits-it", "with-trash-folder"])
def test_committed_mlruns_folder_reports_with_notes_not_a_crash(tmp_path, trash):
    """git drops empty folders (artifacts/, .trash/); MLflow's client then cannot read a run."""
    uri = fixture_copy("mlruns-2.9.2-git", tmp_path)
    if trash:  # someone committed a .gitkeep there: only the runs' artifacts/ folders are missing
        (tmp_path / "mlruns-2.9.2-git" / ".trash").mkdir()
    info = MANIFEST["mlruns-2.9.2-git"]
    r = build_report(uri, [TRAIN], "accuracy", "max", top=5)
    assert [row.run_id for row in r.leaderboard][:2] == [info["runs"]["rf-2"], info["runs"]["mlp-3"]]
    assert all("\n" not in (card.unreadable or "") for card in r.cards)  # a reason in one line, if any
    md = render_markdown(r)
    for card in r.cards:
        assert ("could not read this run's data sets and models" in md) >= bool(card.unreadable)


# --- chart data ------------------------------------------------------------------------------------


def test_chart_data_keeps_only_what_is_drawn_rounded_and_as_csv(edge_store):
    uri, ids = edge_store
    r = build_report(uri, [EDGE], "score", "max", top=3)
    scatter = next(c.spec for c in r.charts if c.key == "scatter")
    points = next(layer for layer in scatter["layer"] if layer["mark"]["type"] == "circle")
    name = points["data"]["name"]
    assert isinstance(scatter["datasets"][name], str) and points["data"]["format"]["type"] == "csv"
    rows = chartdata.rows(scatter, name)
    assert set(rows[0]) == {"run_id", "run", "x", "y"}  # no sel/ref/experiment: nothing draws them
    assert points["encoding"]["color"]["field"] == "y"  # coloured by score, its y: that column written once
    assert all(len(row["run_id"]) <= 4 for row in rows)  # ids only tell points apart for the selection
    by_run = {row["run"]: row for row in rows}
    assert by_run[visible(RLO_NAME)]["y"] == pytest.approx(0.6)
    assert set(by_run) >= {"tie-old", "tie-new", "crashed"}


@pytest.mark.parametrize("values, expect", [
    ([0.123456789, 0.9], [0.1235, 0.9]),  # 4 significant digits, as tooltips show
    ([0.123456789, 0.2], [0.12346, 0.2]),  # one more: 0.0001 would be 1/800 of this range
    ([1000.0001, 1000.0002], [1000.0001, 1000.0002]),  # close together: enough digits to keep them apart
    ([1e-7, 0.5], [1e-7, 0.5]),
    ([3.0, math.nan, math.inf], [3.0, None, None]),  # JSON has no NaN or inf: missing
])
def test_numbers_are_rounded_to_what_can_be_seen(values, expect):
    spec = {"data": {"name": "d"}, "mark": "point", "encoding": {"x": {"field": "v", "type": "quantitative"}},
            "datasets": {"d": [{"v": v, "label": f"r{i}"} for i, v in enumerate(values)]}}
    out = chartdata.compact(spec)
    assert [row["v"] for row in chartdata.rows(out, "d")] == expect
    assert "label" not in out["datasets"]["d"]  # not drawn


@pytest.mark.parametrize("text", ['a,b', 'say "hi"', "two\nlines", "  padded  ", "=1+1", "null", "1e5", "<script>x</script>"])
def test_strings_survive_csv_exactly(text):
    spec = {"data": {"name": "d"}, "mark": "text", "encoding": {"text": {"field": "t", "type": "nominal"}},
            "datasets": {"d": [{"t": text}, {"t": "other"}]}}
    out = chartdata.compact(spec)
    assert chartdata.rows(out, "d")[0]["t"] == text


def test_ten_thousand_runs_cost_well_under_a_megabyte_of_chart_data():
    import numpy as np
    import pandas as pd

    from podium import charts

    rng = np.random.default_rng(0)
    n = 10_000
    runs = pd.DataFrame({"run_id": [f"{i:032x}" for i in range(n)], "run_name": [f"sweep-{i:05d}" for i in range(n)],
                         "experiment_name": "e", "metrics.f1": rng.random(n), "metrics.latency_ms": rng.random(n) * 200,
                         "params.lr": [f"{x:.6g}" for x in 10 ** rng.uniform(-4, -1, n)]})
    spec = charts.scatter(runs, "metrics.latency_ms", "metrics.f1", color="metrics.f1").to_dict()
    raw = len(json.dumps(spec, allow_nan=True, default=str))
    small = len(json.dumps(chartdata.compact(spec), default=str))
    assert small < raw / 3 and small < 500_000, (raw, small)
