"""Data sets that break naive tools, written into real stores by MLflow's own client.

``populate_awkward`` fills a store with NaN and ±inf metrics, params missing from some runs,
unicode and HTML-looking names, deleted, FAILED and RUNNING runs, nested runs, metric histories
and tags. ``populate_search_cases`` writes the runs whose values make filter semantics differ.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

AWKWARD_EXPERIMENT = "awkward ☃ <b>exp</b> | `x`"
SECOND_EXPERIMENT = "second-exp"
HOSTILE_NAME = "<script>alert('run')</script> | **bold** [x](javascript:alert(1))"


def populate_awkward(tracking_uri: str) -> dict[str, str]:
    """Write the awkward data set into ``tracking_uri``; return {label: run_id}."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=tracking_uri)
    exp1 = client.create_experiment(AWKWARD_EXPERIMENT, tags={"team": "fraud & risk"})
    exp2 = client.create_experiment(SECOND_EXPERIMENT)
    ids: dict[str, str] = {}
    t0 = 1_700_000_000_000

    def run(label, exp, name, params=None, metrics=None, tags=None, status="FINISHED", start=0, history=None, parent=None):
        tags = dict(tags or {})
        if parent:
            tags["mlflow.parentRunId"] = ids[parent]
        r = client.create_run(exp, start_time=t0 + start * 1000, tags=tags, run_name=name)
        rid = r.info.run_id
        ids[label] = rid
        client.log_batch(
            rid,
            metrics=[Metric(k, v, t0 + start * 1000, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, v) for k, v in (params or {}).items()],
        )
        for key, values in (history or {}).items():
            client.log_batch(rid, metrics=[Metric(key, v, t0 + start * 1000 + s, s) for s, v in enumerate(values)])
        if status != "RUNNING":
            client.set_terminated(rid, status=status, end_time=t0 + start * 1000 + 1500 + start * 10)
        return rid

    run("plain", exp1, "plain-rf", {"model": "rf", "n_estimators": "100", "lr": "0.1"},
        {"accuracy": 0.91, "f1": 0.8, "latency_ms": 12.5}, {"team": "risk", "stage": "dev"}, start=1,
        history={"loss": [0.9, 0.5, 0.3, 0.25]})
    run("nan", exp1, "nan-metric", {"model": "gbm", "n_estimators": "200"},
        {"accuracy": math.nan, "f1": 0.7, "latency_ms": 30.0}, {"team": "risk"}, start=2)
    run("posinf", exp1, "inf-loss", {"model": "gbm", "lr": "1e-3"},
        {"accuracy": 0.5, "loss": math.inf, "latency_ms": -math.inf}, start=3)
    run("unicode", exp1, "ラン-✓ émoji 🚀", {"model": "logreg", "C": "0.5", "penalty": "l2"},
        {"accuracy": 0.88, "f1": 0.85}, {"note": "naïve — ünïcödé"}, start=4)
    run("hostile", exp1, HOSTILE_NAME,
        {"model": "<img src=x onerror=alert(1)>", "odd key:x/y": "a|b`c`", "n_estimators": "50"},
        {"accuracy": 0.93, "f1": 0.9, "latency_ms": 40.0},
        {"mlflow.note.content": "<script>alert('note')</script>", "team": "<b>ops</b>"}, start=5)
    run("failed", exp1, "failed-run", {"model": "rf", "n_estimators": "10"}, {"accuracy": 0.1}, status="FAILED", start=6)
    run("running", exp1, "still-running", {"model": "rf"}, {"accuracy": 0.6}, status="RUNNING", start=7)
    run("parent", exp1, "sweep-parent", {"sweep": "yes"}, {}, start=8)
    run("child1", exp1, "sweep-child-1", {"model": "rf", "n_estimators": "300"}, {"accuracy": 0.92, "f1": 0.81}, parent="parent", start=9)
    run("child2", exp1, "sweep-child-2", {"model": "rf", "n_estimators": "400"}, {"accuracy": 0.94, "f1": 0.83}, parent="parent", start=10)
    run("deleted", exp1, "deleted-run", {"model": "rf"}, {"accuracy": 0.99}, start=11)
    client.delete_run(ids["deleted"])
    run("noname", exp1, None, {"model": "svm"}, {"accuracy": 0.7, "zero": 0.0, "neg": -1.5}, start=12)
    run("other1", exp2, "other-a", {"optimizer": "adam", "batch": "32"}, {"accuracy": 0.77, "val_loss": 0.4}, start=13)
    run("other2", exp2, "other-b", {"optimizer": "sgd"}, {"accuracy": 0.79}, {"team": "vision"}, start=14)
    return ids


def file_store_allowed():
    """MLflow 3 writes a legacy file store only with ``MLFLOW_ALLOW_FILE_STORE``: set for the write
    alone (Podium's own helper for its confirmed writes; its reads never need it)."""
    from podium.store._connect import allow_file_store

    return allow_file_store()


def populate_file_store(path: Path) -> dict[str, str]:
    """Write the awkward data set into a legacy ``mlruns`` folder at ``path``."""
    with file_store_allowed():
        return populate_awkward(path.resolve().as_uri())


SEARCH_EXPERIMENT = "search cases ✓"


def populate_search_cases(tracking_uri: str) -> dict[str, str]:
    """Write runs whose values make filter semantics differ (case, LIKE wildcards, NaN, inf...).

    One experiment, :data:`SEARCH_EXPERIMENT`, in a store of its own (it does not touch the
    awkward stores, whose run counts other tests rely on). Returns {label: run_id}.
    """
    import math

    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.create_experiment(SEARCH_EXPERIMENT)
    ids: dict[str, str] = {}
    t0 = 1_710_000_000_000

    def run(label, name, start, tags=None, params=None, metrics=None, status="FINISHED", dataset=None):
        r = client.create_run(exp, start_time=t0 + start * 1000, tags=tags or {}, run_name=name)
        rid = ids[label] = r.info.run_id
        client.log_batch(
            rid,
            metrics=[Metric(k, v, t0, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, v) for k, v in (params or {}).items()],
        )
        if dataset:
            ds_name, digest, context = dataset
            client.log_inputs(rid, [DatasetInput(Dataset(ds_name, digest, "local", f"/data/{ds_name}"),
                                                 [InputTag("mlflow.data.context", context)])])
        if status != "RUNNING":
            client.set_terminated(rid, status=status, end_time=t0 + start * 1000 + 500)

    run("upper", "Upper_Case", 1,
        tags={"cap": "Alpha", "uni": "École", "under": "a_b", "pct": "50%", "bs": "a\\b",
              "nl": "line1\nline2", "space": "x ", "empty": ""},
        params={"p": "Alpha", "lr": "0.1"}, metrics={"m": 1.0, "big": math.inf, "zero": 0.0},
        dataset=("iris", "abc123", "training"))
    run("lower", "lower_case", 2,
        tags={"cap": "alpha", "uni": "école", "under": "axb", "pct": "50x", "bs": "ab",
              "nl": "line1", "space": "x", "empty": "set"},
        params={"p": "alpha"}, metrics={"m": math.nan, "big": -math.inf, "zero": -0.0},
        dataset=("wine", "def456", "evaluation"))
    run("bare", "bare", 3, metrics={"big": 5.0})
    run("running", "RUNNING-one", 4, tags={"cap": "ALPHA"}, params={"p": "ALPHA"}, metrics={"m": 2.0},
        status="RUNNING", dataset=("iris", "abc123", "evaluation"))
    run("failed", "failed%run", 5, tags={"cap": "beta"}, metrics={"m": 0.0}, status="FAILED")
    return ids


def global_mlflow_state() -> tuple:
    """MLflow's process-wide tracking/registry URIs and the environment variables that set them."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    env = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT")
    return (tracking_utils._tracking_uri, registry_utils._registry_uri, *(os.environ.get(k) for k in env))
