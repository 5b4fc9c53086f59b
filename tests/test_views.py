"""Shared views (podium.views): experiment tags holding permalink queries, through real stores."""

from __future__ import annotations

import mlflow
import pytest

import stores
from podium import views
from podium.errors import PodiumError
from podium.permalink import CompareQuery

QUERY = views.query_string({"exp": ["fraud", "houses"], "filter": "metrics.f1 > 0.5 and params.opt = 'adam'",
                            "axes": ["params.lr", "metrics.f1"], "brush": ["metrics.f1:0.5:0.9"], "runs": ["a1", "b2"]})


@pytest.fixture(params=["sqlite", "http"])
def writable_store(request, tmp_path):
    """A fresh store of each kind with one experiment (and an MLflow tag of its own)."""
    backend = stores.fresh_sqlite(tmp_path / "mlflow.db")
    client = mlflow.MlflowClient(backend)
    exp_id = client.create_experiment("fraud", tags={"team": "risk"})
    if request.param == "sqlite":
        yield backend, exp_id
    else:
        with stores.mlflow_server(backend, tmp_path / "artifacts") as url:
            yield url, exp_id


def test_views_round_trip(writable_store):
    uri, exp_id = writable_store
    assert views.list_views(uri, "fraud") == []
    saved = views.save_view(uri, "fraud", "best models", QUERY)
    views.save_view(uri, exp_id, "a: first/second", "exp=fraud")
    listed = views.list_views(uri, "fraud")
    assert [v.name for v in listed] == ["a: first/second", "best models"]  # by name; MLflow's own tags are not views
    assert listed[1] == saved and listed[1].query == QUERY
    # The saved query opens the same Compare state.
    q = CompareQuery.from_params(listed[1].params(), ["fraud", "houses"])
    assert q.experiments == ("fraud", "houses") and q.filter_string == "metrics.f1 > 0.5 and params.opt = 'adam'"
    assert q.axes == ("params.lr", "metrics.f1") and q.runs == ("a1", "b2")
    assert listed[1].params()["brush"] == ["metrics.f1:0.5:0.9"]
    # Saving under the same name replaces; deleting removes only that view.
    views.save_view(uri, "fraud", "best models", "exp=fraud&filter=x")
    views.delete_view(uri, "fraud", "a: first/second")
    assert [(v.name, v.query) for v in views.list_views(uri, "fraud")] == [("best models", "exp=fraud&filter=x")]
    tags = mlflow.MlflowClient(uri).get_experiment(exp_id).tags
    assert tags["podium.view.best models"] == "exp=fraud&filter=x" and tags["team"] == "risk"


@pytest.mark.parametrize("name", ["", "   ", "a" * 101, "bad\nname", "semi;colon", "qu'ote", "a, b", "(x)", "a//b", "a/", "a/../b"])
def test_names_mlflow_cannot_keep_are_refused(fresh_sqlite_uri, name):
    mlflow.MlflowClient(fresh_sqlite_uri).create_experiment("fraud")
    with pytest.raises(PodiumError, match="A view name is"):
        views.save_view(fresh_sqlite_uri, "fraud", name, "exp=fraud")
    assert views.list_views(fresh_sqlite_uri, "fraud") == []


@pytest.mark.parametrize("experiment, message", [("nope", "No experiment 'nope'")])
def test_unknown_experiment_is_a_message(fresh_sqlite_uri, experiment, message):
    with pytest.raises(PodiumError, match=message):
        views.list_views(fresh_sqlite_uri, experiment)


def test_a_query_too_long_for_a_tag_is_refused(fresh_sqlite_uri):
    mlflow.MlflowClient(fresh_sqlite_uri).create_experiment("fraud")
    with pytest.raises(PodiumError, match="too long"):
        views.save_view(fresh_sqlite_uri, "fraud", "huge", "runs=" + "x" * views.MAX_QUERY)
