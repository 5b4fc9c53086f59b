"""Incremental refresh: ``refresh_runs`` on a store that real MLflow clients keep writing to gives
the frame a full ``load_runs`` (and ``mlflow.search_runs``) gives, on every store kind.

Each store kind gets one store of its own; a scenario writes to it step by step with the real
MLflow client (new runs, a RUNNING run finishing with new metrics and a new param key, a run
starting to match a filter, a deletion, NaN values) and after every step each tracked frame
(several filters, with and without deleted runs) is refreshed and compared with a full load.
"""

from __future__ import annotations

import contextlib
import math
import os

import pandas as pd
import pytest

import stores
from podium import store
from test_fastpath import assert_same_frame
from test_store import assert_parity, reference

KINDS = ["sqlite", "postgresql", "mysql", "http", "file"]
EXP = "refresh ✓ exp"
OTHER = "refresh other"

# (filter, include_deleted): the frames a scenario keeps refreshing.
VIEWS = [
    ("", False),
    ("", True),
    ("metrics.accuracy > 0.5", False),
    ("params.model = 'rf'", False),
    ("attributes.status = 'RUNNING'", False),
    ("tags.team = 'risk' and metrics.f1 >= 0", True),
]


class Writer:
    """Writes runs with the real MLflow client, with a clock that only moves forward."""

    def __init__(self, uri: str):
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        self.exp = self.client.create_experiment(EXP)
        self.other = self.client.create_experiment(OTHER)
        self.now = 1_720_000_000_000
        self.ids: dict[str, str] = {}

    def tick(self) -> int:
        self.now += 1000
        return self.now

    def start(self, label, params=None, metrics=None, tags=None, exp=None, start=None) -> str:
        from mlflow.entities import Metric, Param

        run = self.client.create_run(exp or self.exp, start_time=start or self.tick(), tags=tags or {}, run_name=label)
        rid = self.ids[label] = run.info.run_id
        self.log(label, params, metrics)
        return rid

    def log(self, label, params=None, metrics=None) -> None:
        from mlflow.entities import Metric, Param

        self.client.log_batch(
            self.ids[label],
            metrics=[Metric(k, v, self.now, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, v) for k, v in (params or {}).items()],
        )

    def finish(self, label, status="FINISHED") -> None:
        self.client.set_terminated(self.ids[label], status=status, end_time=self.tick())

    def run(self, label, status="FINISHED", **kwargs) -> str:
        rid = self.start(label, **kwargs)
        self.finish(label, status)
        return rid


def step_initial(w: Writer) -> None:
    w.run("rf-1", params={"model": "rf", "n": "100"}, metrics={"accuracy": 0.9, "f1": 0.8}, tags={"team": "risk"})
    w.run("gbm-1", params={"model": "gbm"}, metrics={"accuracy": 0.4, "f1": math.nan}, tags={"team": "risk"})
    w.run("failed", params={"model": "rf"}, metrics={"accuracy": 0.1}, status="FAILED")
    w.start("live", params={"model": "rf"}, metrics={"accuracy": 0.6}, tags={"team": "risk"})
    w.start("live-low", params={"model": "svm"}, metrics={"accuracy": 0.2})
    w.start("live-doomed", params={"model": "rf", "doomed_only": "1"}, metrics={"accuracy": 0.7})
    w.run("deleted-early", params={"model": "rf"}, metrics={"accuracy": 0.99})
    w.client.delete_run(w.ids["deleted-early"])
    w.run("elsewhere", params={"model": "rf"}, metrics={"accuracy": 0.95}, exp=w.other)


def step_nothing(w: Writer) -> None:
    pass


def step_new_runs(w: Writer) -> None:
    w.run("rf-2", params={"model": "rf", "brand_new_param": "x"}, metrics={"accuracy": 0.93, "f1": 0.85},
          tags={"team": "risk", "fresh_tag": "yes"})
    w.run("lin-2", params={"model": "linear"}, metrics={"accuracy": 0.55})
    w.start("live-new", params={"model": "rf"}, metrics={"accuracy": 0.3})
    w.run("elsewhere-2", params={"model": "rf"}, metrics={"accuracy": 0.5}, exp=w.other)


def step_finish_live(w: Writer) -> None:
    w.log("live", params={"late_param": "42"}, metrics={"accuracy": 0.97, "auc": 0.99, "f1": 0.9})
    w.finish("live")


def step_low_run_starts_matching(w: Writer) -> None:
    # Was RUNNING and outside "metrics.accuracy > 0.5" at the last load; now it is in.
    w.log("live-low", metrics={"accuracy": 0.8, "f1": -math.inf})
    w.finish("live-low", status="KILLED")


def step_delete_live_and_nan(w: Writer) -> None:
    w.client.delete_run(w.ids["live-doomed"])
    w.log("live-new", metrics={"accuracy": math.nan, "only_nan": math.nan})


def step_only_a_logged_nan(w: Writer) -> None:
    # The frame shows a logged NaN like a missing metric; only the NaN record tells them apart.
    w.log("live-new", metrics={"nan_only_2": math.nan})


def step_same_start_and_no_longer_running(w: Writer) -> None:
    # A new run started in the same millisecond as the newest one already loaded.
    w.run("same-ms", params={"model": "rf"}, metrics={"accuracy": 0.61}, start=w.now)
    w.log("live-new", metrics={"accuracy": 0.7})
    w.finish("live-new")


# (step, {view: (new, updated, removed)} expected for some views, by run label).
SCENARIO = [
    (step_nothing, {("", False): ((), (), ()), ("metrics.accuracy > 0.5", False): ((), (), ())}),
    (step_new_runs, {("", False): (("rf-2", "lin-2", "live-new"), (), ()),
                     ("metrics.accuracy > 0.5", False): (("rf-2", "lin-2"), (), ())}),
    (step_finish_live, {("", False): ((), ("live",), ()),
                        ("attributes.status = 'RUNNING'", False): ((), (), ("live",))}),
    (step_low_run_starts_matching, {("", False): ((), ("live-low",), ()),
                                    ("metrics.accuracy > 0.5", False): (("live-low",), (), ())}),
    (step_delete_live_and_nan, {("", False): ((), ("live-new",), ("live-doomed",)),
                                ("", True): ((), ("live-new",), ())}),
    (step_only_a_logged_nan, {("", False): ((), ("live-new",), ())}),
    (step_same_start_and_no_longer_running, {("", False): (("same-ms",), ("live-new",), ())}),
]


@contextlib.contextmanager
def writable_store(kind: str, tmp_path):
    """A fresh, empty store of ``kind`` of this test's own."""
    if kind == "sqlite":
        yield stores.fresh_sqlite(tmp_path / "mlflow.db")
    elif kind == "postgresql":
        with stores.postgres_database(migrated=True) as uri:
            yield uri
    elif kind == "mysql":
        with stores.mysql_database(migrated=True) as uri:
            yield uri
    elif kind == "http":
        with stores.mlflow_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "artifacts") as uri:
            yield uri
    elif kind == "file":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        try:
            yield (tmp_path / "mlruns").resolve().as_uri()
        finally:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    else:
        raise ValueError(kind)


def labels(w: Writer, ids) -> tuple[str, ...]:
    by_id = {v: k for k, v in w.ids.items()}
    return tuple(sorted(by_id[i] for i in ids))


@pytest.mark.parametrize("kind", KINDS)
def test_refresh_equals_full_load_as_the_store_changes(kind, tmp_path):
    with writable_store(kind, tmp_path) as uri:
        w = Writer(uri)
        step_initial(w)
        frames = {view: store.load_runs(uri, [EXP], *view) for view in VIEWS}
        for step, expected in SCENARIO:
            step(w)
            for view in VIEWS:
                result = store.refresh_runs(uri, [EXP], frames[view], *view)
                full = store.load_runs(uri, [EXP], *view)
                where = f"{kind}, after {step.__name__}, view {view}"
                assert_same_frame(result.runs, full)
                assert result.full_reload is (kind == "file"), where
                if view in expected:
                    new, updated, removed = expected[view]
                    got = (labels(w, result.new), labels(w, result.updated), labels(w, result.removed))
                    assert got == (tuple(sorted(new)), tuple(sorted(updated)), tuple(sorted(removed))), where
                if not result.changed and kind != "file":
                    assert result.runs is frames[view], f"{where}: nothing changed, the frame is kept"
                frames[view] = result.runs
            # And the same answer as MLflow's own search.
            exp_id = str(w.exp)
            assert_parity(frames[("", False)], reference(uri, [exp_id], "", False))
            assert_parity(frames[("metrics.accuracy > 0.5", False)], reference(uri, [exp_id], "metrics.accuracy > 0.5", False))
        assert "params.brand_new_param" in frames[("", False)].columns
        assert "metrics.auc" in frames[("", False)].columns
        assert "metrics.only_nan" in frames[("", False)].columns  # kept: its only value is a logged NaN
        assert "params.doomed_only" not in frames[("", False)].columns  # its only run was deleted
        assert "params.doomed_only" in frames[("", True)].columns


def test_refresh_over_several_experiments(tmp_path):
    with writable_store("sqlite", tmp_path) as uri:
        w = Writer(uri)
        step_initial(w)
        both = [EXP, OTHER]
        previous = store.load_runs(uri, both)
        step_new_runs(w)
        result = store.refresh_runs(uri, both, previous)
        assert_same_frame(result.runs, store.load_runs(uri, both))
        assert labels(w, result.new) == ("elsewhere-2", "lin-2", "live-new", "rf-2")
        # A frame of other experiments than asked for is not merged into: a full load.
        assert store.refresh_runs(uri, [EXP], result.runs).full_reload


# Edits to runs that had finished when the frame was loaded: what a refresh sees, per store kind.
LIMITATION_KINDS = ["sqlite", "http"]


@pytest.mark.parametrize("kind", LIMITATION_KINDS)
def test_edits_to_finished_runs_need_a_full_reload(kind, tmp_path):
    with writable_store(kind, tmp_path) as uri:
        w = Writer(uri)
        step_initial(w)
        w.run("newest", params={"model": "rf"}, metrics={"accuracy": 0.5})
        previous = store.load_runs(uri, [EXP])
        w.client.set_tag(w.ids["rf-1"], "late_tag", "added after it finished")
        w.client.delete_run(w.ids["gbm-1"])
        result = store.refresh_runs(uri, [EXP], previous)
        full = store.load_runs(uri, [EXP])
        assert "tags.late_tag" not in result.runs.columns  # the documented limitation
        assert "tags.late_tag" in full.columns
        # A deletion is seen on a database store (the runs table tells), not over HTTP.
        assert (w.ids["gbm-1"] in set(result.runs["run_id"])) is (kind == "http")
        assert w.ids["gbm-1"] not in set(full["run_id"])


def test_refresh_without_a_previous_frame_is_a_full_load(sqlite_awkward):
    uri, _ = sqlite_awkward
    for previous in (None, store.empty_runs_frame()):
        result = store.refresh_runs(uri, [stores.AWKWARD_EXPERIMENT], previous)
        assert result.full_reload
        assert_same_frame(result.runs, store.load_runs(uri, [stores.AWKWARD_EXPERIMENT]))
        assert len(result.new) == len(result.runs)


@pytest.mark.parametrize("kind", ["sqlite", "http", "file"])
def test_progress_reports_run_counts(awkward_stores, kind):
    uri, _ = awkward_stores.get(kind)
    calls: list[tuple[int, int | None]] = []
    df = store.load_runs(uri, [stores.AWKWARD_EXPERIMENT], progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(df), len(df))
    assert all(total is None or done <= total for done, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_per_page_over_http(awkward_stores, monkeypatch):
    uri, _ = awkward_stores.get("http")
    from podium.store.backends import rest

    monkeypatch.setattr(rest, "FIRST_PAGE", 2)
    monkeypatch.setattr(rest, "PAGE", 3)
    calls: list[tuple[int, int | None]] = []
    df = store.load_runs(uri, [stores.AWKWARD_EXPERIMENT], progress=lambda done, total: calls.append((done, total)))
    assert len(df) == 11
    # 2, then a call per page of 3, then the end (a server may or may not need an empty last page).
    assert calls[:3] == [(2, None), (5, None), (8, None)]
    assert calls[-1] == (11, 11)
    assert set(calls[3:-1]) <= {(11, None)}


@pytest.mark.parametrize(
    "new, updated, removed, text",
    [
        ((), (), (), "No new or updated runs"),
        (("a",), (), (), "1 new run"),
        (("a", "b", "c"), ("d",), (), "3 new runs, 1 updated"),
        ((), (), ("x", "y"), "2 no longer listed"),
    ],
)
def test_describe(new, updated, removed, text):
    assert store.RunsRefresh(pd.DataFrame(), new, updated, removed).describe() == text
