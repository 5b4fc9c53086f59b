"""AppTest of the Runs home page on real stores."""

from __future__ import annotations

import pytest
from stores import AWKWARD_EXPERIMENT, SECOND_EXPERIMENT


def test_runs_table_shows_runs_of_the_latest_experiment(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri)
    assert not at.exception
    picker = at.multiselect(key="runs_experiments")
    assert picker.value == [SECOND_EXPERIMENT]  # most recent activity first
    picker.set_value([AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 13  # 11 active awkward runs + 2 in the second experiment
    assert "experiment_name" in table.columns
    assert "params.model" in table.columns and "metrics.accuracy" in table.columns
    assert any("13 runs" in c.value for c in at.caption)


def test_store_is_shown_with_password_redacted(open_app):
    at = open_app("http://alice:s3cret@127.0.0.1:9/")
    assert not at.exception
    shown = " ".join(str(el.value) for el in list(at.code) + list(at.error))
    assert "alice:***@127.0.0.1:9" in shown
    assert "s3cret" not in shown
    assert at.button(key="runs_store_retry")  # a retry, not a traceback


def test_empty_store_points_to_the_demo(fresh_sqlite_uri, open_app):
    from mlflow import MlflowClient

    MlflowClient(fresh_sqlite_uri).create_experiment("nothing-yet")
    at = open_app(fresh_sqlite_uri)
    assert not at.exception
    assert any("podium demo" in i.value for i in at.info)


@pytest.mark.parametrize("key", ["runs_experiments", "runs_refresh"])
def test_widgets_have_stable_keys(sqlite_awkward, open_app, key):
    uri, _ = sqlite_awkward
    at = open_app(uri)
    widgets = {w.key for w in at.main if getattr(w, "key", None)}
    assert key in widgets


def _log_run(client, exp_id, name, accuracy, start, status="FINISHED"):
    from mlflow.entities import Metric, Param

    run = client.create_run(exp_id, start_time=start, run_name=name)
    client.log_batch(run.info.run_id, metrics=[Metric("accuracy", accuracy, start, 0)], params=[Param("model", "rf")])
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status=status, end_time=start + 500)
    return run.info.run_id


def _table_names(at) -> list[str]:
    return list(at.dataframe[0].value["run_name"])


def test_refresh_reads_new_and_running_runs_and_full_reload_reads_everything(fresh_sqlite_uri, open_app):
    from mlflow import MlflowClient

    client = MlflowClient(fresh_sqlite_uri)
    exp = client.create_experiment("live-exp")
    t0 = 1_730_000_000_000
    first = _log_run(client, exp, "first", 0.5, t0)
    live = _log_run(client, exp, "live", 0.6, t0 + 1000, status="RUNNING")
    at = open_app(fresh_sqlite_uri)
    assert not at.exception
    assert sorted(_table_names(at)) == ["first", "live"]

    _log_run(client, exp, "second", 0.7, t0 + 2000)
    _log_run(client, exp, "third", 0.8, t0 + 3000)
    client.set_terminated(live, end_time=t0 + 5000)
    client.set_tag(first, "mlflow.runName", "first-renamed")  # an edit to a finished run
    client.update_run(first, name="first-renamed")

    # Without a click the kept frame is shown: nothing was read.
    at.run()
    assert sorted(_table_names(at)) == ["first", "live"]

    at.button(key="runs_refresh").click().run()
    assert not at.exception
    assert _table_names(at) == ["third", "second", "live", "first"]  # newest start first
    assert [t.value for t in at.toast] == ["2 new runs, 1 updated"]
    assert any("4 runs (4 finished)" in c.value for c in at.caption)

    at.button(key="runs_refresh").click().run()
    assert [t.value for t in at.toast] == ["No new or updated runs"]

    at.button(key="runs_full_reload").click().run()
    assert not at.exception
    assert _table_names(at) == ["third", "second", "live", "first-renamed"]
    assert [t.value for t in at.toast] == ["Reloaded all runs"]


@pytest.mark.parametrize(
    "expected, loaded, total, text, value",
    [
        (10_000, 0, 10_000, "Loading 10,000 runs…", 0),
        (10_000, 4_000, None, "Loaded 4,000 of 10,000 runs", 40),  # a server's page: the expected total
        (None, 2_500, None, "Loaded 2,500 runs", 0),
        (100, 150, None, None, None),  # more than expected and no total: nothing misleading
        (10, 10, 10, None, None),  # done: the bar is gone
    ],
)
def test_runs_progress_shows_run_counts(expected, loaded, total, text, value):
    from streamlit.testing.v1 import AppTest

    def script(expected, loaded, total):
        from app_pages._widgets import runs_progress

        report = runs_progress(expected).__enter__()  # left open: the bar stays for the test to read
        report(loaded, total)

    at = AppTest.from_function(script, args=(expected, loaded, total)).run()
    assert not at.exception
    if text is None:
        assert not at.get("progress")
    else:
        (bar,) = at.get("progress")
        assert bar.proto.text == text
        assert bar.proto.value == value


def test_refresh_also_brings_other_kept_selections_up_to_date(fresh_sqlite_uri, open_app):
    from mlflow import MlflowClient

    client = MlflowClient(fresh_sqlite_uri)
    t0 = 1_730_000_000_000
    exp_a = client.create_experiment("exp-a")
    exp_b = client.create_experiment("exp-b")
    _log_run(client, exp_a, "a-1", 0.5, t0)
    _log_run(client, exp_b, "b-1", 0.5, t0 + 1000)
    at = open_app(fresh_sqlite_uri)
    at.multiselect(key="runs_experiments").set_value(["exp-a"]).run()
    assert _table_names(at) == ["a-1"]
    at.multiselect(key="runs_experiments").set_value(["exp-b"]).run()
    _log_run(client, exp_a, "a-2", 0.6, t0 + 2000)

    at.button(key="runs_refresh").click().run()
    assert [t.value for t in at.toast] == ["No new or updated runs"]  # exp-b's own news
    at.multiselect(key="runs_experiments").set_value(["exp-a"]).run()
    assert not at.exception
    assert _table_names(at) == ["a-2", "a-1"]  # exp-a's kept frame was refreshed on its next use


def test_experiments_from_the_url_and_shared_with_other_pages(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, query={"exp": [AWKWARD_EXPERIMENT, "no-such-experiment"]})
    assert not at.exception
    assert at.multiselect(key="runs_experiments").value == [AWKWARD_EXPERIMENT]
    assert "No experiment named 'no-such-experiment'" in " ".join(w.value for w in at.warning)
    at.multiselect(key="runs_experiments").set_value([SECOND_EXPERIMENT]).run()
    assert at.query_params["exp"] in (SECOND_EXPERIMENT, [SECOND_EXPERIMENT])  # the address follows the picker
    at.switch_page("app_pages/report.py").run()
    assert not at.exception
    assert at.multiselect(key="report_experiments").value == [SECOND_EXPERIMENT]


def test_infinity_kept_as_float_max_by_sql_stores_shows_as_infinity(tmp_path, open_app):
    import math
    import shutil
    from pathlib import Path

    path = tmp_path / "mlflow.db"
    shutil.copyfile(Path(__file__).resolve().parent / "fixtures" / "stores" / "mlflow-2.9.2.db", path)
    at = open_app(f"sqlite:///{path}", "app_pages/runs.py", query={"exp": "fixture-train"})
    assert not at.exception
    loss = at.dataframe[0].value["metrics.loss"]
    assert math.inf in set(loss) and max(loss) == math.inf
