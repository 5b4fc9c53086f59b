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
