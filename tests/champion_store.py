"""A real store for champion tests: runs that log real scikit-learn models, written by MLflow.

Built once per session (logging a model takes about a second); each test that writes copies the
SQLite file (``fresh_copy``) so tests never see each other's registry changes. Artifacts stay in
the template's folder: registering a version only points at them.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import sqlalchemy as sa

EXP_A = "champ-a"
EXP_B = "champ-b"
MODEL = "churn-model"
T0 = 1_700_000_000_000

# label: (experiment, metrics, how the model is logged, status, start offset in seconds)
# model: "logged" (MLflow 3 logged model), "legacy" (MLflow 2: log-model tag + model/MLmodel),
# "artifact" (only a model/MLmodel folder), None (no model).
RUNS = {
    "best": (EXP_A, {"f1": 0.90, "auc": 0.80, "latency_ms": 30.0}, "logged", "FINISHED", 1),
    "slow": (EXP_A, {"f1": 0.95, "auc": 0.70, "latency_ms": 80.0}, "logged", "FINISHED", 2),
    "failed": (EXP_A, {"f1": 0.97, "auc": 0.60, "latency_ms": 10.0}, "logged", "FAILED", 3),
    "nomodel": (EXP_A, {"f1": 0.99, "auc": 0.99, "latency_ms": 5.0}, None, "FINISHED", 4),
    "nan": (EXP_A, {"f1": math.nan, "auc": 0.50, "latency_ms": 20.0}, "logged", "FINISHED", 5),
    "inf": (EXP_A, {"f1": math.inf, "auc": 0.50, "latency_ms": 20.0}, "logged", "FINISHED", 6),
    "tie-auc": (EXP_A, {"f1": 0.85, "auc": 0.95, "latency_ms": 20.0}, "logged", "FINISHED", 7),
    "tie-old": (EXP_A, {"f1": 0.85, "auc": 0.90, "latency_ms": 20.0}, "logged", "FINISHED", 8),
    "tie-new": (EXP_A, {"f1": 0.85, "auc": 0.90, "latency_ms": 20.0}, "logged", "FINISHED", 9),
    "tie-noauc": (EXP_A, {"f1": 0.85, "latency_ms": 20.0}, "logged", "FINISHED", 10),
    "legacy": (EXP_A, {"f1": 0.40, "auc": 0.40, "latency_ms": 1.0}, "legacy", "FINISHED", 11),
    "artifact": (EXP_A, {"f1": 0.30, "auc": 0.30, "latency_ms": 1.0}, "artifact", "FINISHED", 12),
    "other": (EXP_B, {"f1": 0.999, "auc": 0.999, "latency_ms": 90.0}, "logged", "FINISHED", 13),
}

REGISTRY_TABLES = ["registered_models", "model_versions", "registered_model_aliases", "model_version_tags",
                   "registered_model_tags"]


def _tiny_model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))


def build(base: Path, uri: str | None = None) -> tuple[str, dict[str, str]]:
    """Write the champion test store (SQLite under ``base`` unless ``uri`` names another
    database; artifacts under ``base``); return (uri, {label: run_id})."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    uri = uri or f"sqlite:///{base / 'mlflow.db'}"
    client = MlflowClient(uri)
    exps = {name: client.create_experiment(name, artifact_location=(base / "artifacts" / name).as_uri())
            for name in (EXP_A, EXP_B)}
    model = _tiny_model()
    saved = base / "saved-model"
    mlflow.sklearn.save_model(model, str(saved), pip_requirements=["scikit-learn"])
    ids = {}
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        for label, (exp, metrics, how, status, start) in RUNS.items():
            run = client.create_run(exps[exp], start_time=T0 + start * 1000, run_name=label)
            rid = ids[label] = run.info.run_id
            client.log_batch(rid, metrics=[Metric(k, v, T0 + start * 1000, 0) for k, v in metrics.items()])
            if how == "logged":
                with mlflow.start_run(run_id=rid):
                    mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
            elif how in ("legacy", "artifact"):
                client.log_artifacts(rid, str(saved), "model")
                if how == "legacy":
                    client.set_tag(rid, "mlflow.log-model.history", json.dumps(
                        [{"run_id": rid, "artifact_path": "model", "utc_time_created": "2023-11-14 22:13:20",
                          "flavors": {"sklearn": {}}}]))
            client.set_terminated(rid, status=status, end_time=T0 + start * 1000 + 500)
    finally:
        mlflow.set_tracking_uri(previous)
    return uri, ids


def fresh_copy(template_uri: str, dest: Path) -> str:
    """A copy of the template store's database (same artifacts), for a test that writes."""
    src = Path(template_uri.removeprefix("sqlite:///"))
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest / "mlflow.db")
    return f"sqlite:///{dest / 'mlflow.db'}"


def registry_dump(uri: str) -> dict[str, list[tuple]]:
    """Every row of the registry tables, in a stable order."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as c:
            return {t: sorted(tuple(map(repr, row)) for row in c.execute(sa.text(f"SELECT * FROM {t}")))
                    for t in REGISTRY_TABLES}
    finally:
        engine.dispose()


def file_hash(uri: str) -> str:
    return hashlib.sha256(Path(uri.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def register(uri: str, run_id: str, alias: str | None = None, name: str = MODEL) -> int:
    """Register a run's logged model as a version the way a user would (mlflow.register_model)."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(uri, registry_uri=uri)
    lm = [m for m in client.search_logged_models(
        [e.experiment_id for e in client.search_experiments()]) if m.source_run_id == run_id][0]
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        mv = mlflow.register_model(f"models:/{lm.model_id}", name)
    finally:
        mlflow.set_tracking_uri(previous)
    if alias:
        client.set_registered_model_alias(name, alias, str(mv.version))
    return int(mv.version)


_BUILT: dict[str, tuple[str, dict[str, str]]] = {}


def template(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """The session's template store, built on first use (shared by the champion test modules)."""
    if "t" not in _BUILT:
        _BUILT["t"] = build(tmp_path_factory.mktemp("champion"))
    return _BUILT["t"]


# --------------------------------------------------------------------------------------------
# A store of configurations repeated over seeds (the evidence tests): accuracy of a model with
# params max_depth / n_estimators, each configuration run with random_state 0..4.

SEEDS_EXP = "seeds"  # the champion's configuration and a lucky one
SEEDS_BETTER_EXP = "seeds-better"  # a clearly better configuration
SEEDS_SMALL_EXP = "seeds-small"  # a configuration better by a hair
HISTORY_EXP = "seeds-history"  # early-stopping runs: the best value is not the last
SEEDS_MODEL = "seeds-model"

# experiment -> {max_depth: [acc per seed 0..4]}
SEED_CONFIGS = {
    SEEDS_EXP: {"5": [0.900, 0.905, 0.893, 0.897, 0.908],   # the champion's configuration (mean 0.9006)
                "3": [0.860, 0.870, 0.930, 0.880, 0.865]},  # seed 2 is lucky: best single run, worse mean
    SEEDS_BETTER_EXP: {"10": [0.948, 0.941, 0.953, 0.944, 0.952]},  # clearly better (mean 0.9476)
    SEEDS_SMALL_EXP: {"7": [0.902, 0.909, 0.898, 0.906, 0.910]},  # mean 0.905: +0.0044
}
# label -> val_acc history (one value per epoch); "early" peaks then drops, "steady" ends highest.
HISTORIES = {"early": [0.80, 0.93, 0.84], "steady": [0.86, 0.87, 0.89]}
CHAMPION_SEED = ("5", 2)  # the registered champion: max_depth=5, random_state=2 (acc 0.893)


def _saved_model(base: Path) -> Path:
    import mlflow.sklearn

    saved = base / "saved-model"
    if not saved.exists():
        mlflow.sklearn.save_model(_tiny_model(), str(saved), pip_requirements=["scikit-learn"])
    return saved


def build_seeds(base: Path, uri: str | None = None) -> tuple[str, dict[str, str]]:
    """Write the repeats store; return (uri, {label: run_id}) with labels ``d5-s2``, ``early``…

    Models are logged the MLflow 2 way (an MLmodel folder and the log-model tag): quick to write."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    uri = uri or f"sqlite:///{base / 'seeds.db'}"
    client = MlflowClient(uri)
    saved = _saved_model(base)
    ids: dict[str, str] = {}
    t = T0
    for exp, configs in {**SEED_CONFIGS, HISTORY_EXP: {}}.items():
        exp_id = client.create_experiment(exp, artifact_location=(base / "artifacts" / exp).as_uri())
        runs = [(f"d{depth}-s{seed}", {"max_depth": depth, "n_estimators": "100", "random_state": str(seed)}, [acc])
                for depth, accs in configs.items() for seed, acc in enumerate(accs)]
        if exp == HISTORY_EXP:
            runs = [(label, {"max_depth": "4", "n_estimators": str(50 + 10 * i), "random_state": "0"}, hist)
                    for i, (label, hist) in enumerate(HISTORIES.items())]
        for label, params, history in runs:
            t += 60_000
            run = client.create_run(exp_id, start_time=t, run_name=label)
            rid = ids[label] = run.info.run_id
            key = "val_acc" if exp == HISTORY_EXP else "acc"
            client.log_batch(rid, metrics=[Metric(key, v, t + step, step) for step, v in enumerate(history)],
                             params=[Param(k, v) for k, v in params.items()],
                             tags=[RunTag("mlflow.log-model.history", json.dumps(
                                 [{"run_id": rid, "artifact_path": "model", "utc_time_created": "2023-11-14 22:13:20",
                                   "flavors": {"sklearn": {}}}]))])
            client.log_artifacts(rid, str(saved), "model")
            client.set_terminated(rid, status="FINISHED", end_time=t + 30_000)
    return uri, ids


def register_source(uri: str, run_id: str, name: str = SEEDS_MODEL, alias: str | None = None,
                    stage: str | None = None) -> int:
    """Register a run's ``model`` artifact folder as a version the way an MLflow 2 user would."""
    from mlflow import MlflowClient

    client = MlflowClient(uri, registry_uri=uri)
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name)
    run = client.get_run(run_id)
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run_id)
    if alias:
        client.set_registered_model_alias(name, alias, str(mv.version))
    if stage:
        client.transition_model_version_stage(name, str(mv.version), stage)
    return int(mv.version)


def seeds_template(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """The session's repeats store, built on first use; the champion's config's seed 2 is @champion."""
    if "seeds" not in _BUILT:
        uri, ids = build_seeds(tmp_path_factory.mktemp("seeds"))
        depth, seed = CHAMPION_SEED
        register_source(uri, ids[f"d{depth}-s{seed}"], alias="champion")
        _BUILT["seeds"] = (uri, ids)
    return _BUILT["seeds"]


def fresh_seeds(template_uri: str, dest: Path) -> str:
    src = Path(template_uri.removeprefix("sqlite:///"))
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest / "seeds.db")
    return f"sqlite:///{dest / 'seeds.db'}"
