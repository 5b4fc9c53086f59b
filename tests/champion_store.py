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
