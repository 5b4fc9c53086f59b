"""The Model Registry and the models runs carry, on top of any backend's primitives.

Which runs carry a model, the version behind an alias (or, in registries before aliases, a
legacy stage), and the champion's writes (register a version, set the alias, audit tags). Every
write here is called only by :mod:`podium.champion` after the user confirmed (page) or passed
``--apply`` (CLI).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Iterator

import pandas as pd

from podium.errors import NotFoundError, PodiumError
from podium.store.backends import Backend
from podium.store.records import AliasedVersion, RegisteredModel, RegistryVersion, RunModel, utc_ms

# MLflow 2 records each log_model call in this run tag (a JSON list); MLflow 3 does not.
LOG_MODEL_HISTORY_TAG = "tags.mlflow.log-model.history"
# The legacy stage a registry without aliases marks its serving model with.
PRODUCTION_STAGE = "Production"

_global_uri_lock = threading.RLock()  # re-entrant: the demo nests promotion inside its own block
_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def process_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's process-global tracking and registry URIs at ``uri`` for a block, then put
    everything back exactly: the globals and the ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``
    environment variables, which ``mlflow.set_tracking_uri`` writes (and, restoring an unset
    global, deletes: a web app would then lose the store it was started on).

    Only for a confirmed write to a database or ``./mlruns`` store (MLflow's SQL registry resolves
    ``models:/`` sources through the global URI); never on a team server's request path, whose
    writes go over REST.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _global_uri_lock:
        saved_env = {k: os.environ.get(k) for k in _URI_ENV}
        saved_tracking, saved_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved_tracking)
            mlflow.set_registry_uri(saved_registry)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def registry_version(name: str, row: dict, aliases: dict) -> RegistryVersion:
    version = int(row["version"])
    names = tuple(sorted(a for a, v in aliases.items() if int(v) == version))
    return RegistryVersion(name, version, row["run_id"], row["source"], str(row["status"]), names, dict(row["tags"]),
                           utc_ms(row["created"]), row.get("stage") or "None")


def model(backend: Backend, name: str) -> RegisteredModel | None:
    found = backend.registered_models(name)
    return found[0] if found else None


def versions(backend: Backend, name: str) -> list[RegistryVersion]:
    """Every version of ``name``, newest first; [] when the model does not exist."""
    rm = model(backend, name)
    if rm is None:
        return []
    return sorted((registry_version(name, row, rm.aliases) for row in backend.model_versions(name)),
                  key=lambda v: v.version, reverse=True)


def by_alias(backend: Backend, name: str, alias: str) -> RegistryVersion | None:
    """The version behind ``alias``; for ``alias == "Production"`` on a registry without that
    alias, the newest version in the legacy Production stage."""
    rm = model(backend, name)
    if rm is None:
        return None
    if alias in rm.aliases:
        rows = backend.model_versions(name, rm.aliases[alias])
        return registry_version(name, rows[0], rm.aliases) if rows else None
    if alias == PRODUCTION_STAGE:
        staged = [v for v in versions(backend, name) if v.stage == PRODUCTION_STAGE]
        return staged[0] if staged else None
    return None


def champion_versions(backend: Backend, alias: str, model_name: str | None) -> list[AliasedVersion]:
    """Versions behind ``alias`` (or the legacy Production stage, see :func:`by_alias`)."""
    if model_name:
        models = backend.registered_models(model_name)
        if not models:
            raise NotFoundError(f"No registered model named {model_name!r}.")
    else:
        models = backend.registered_models()
    out = []
    for rm in models:
        if alias not in rm.aliases and alias != PRODUCTION_STAGE:
            continue
        mv = by_alias(backend, rm.name, alias)
        if mv is None:
            continue
        run_id = mv.run_id
        if not run_id and mv.source.startswith("models:/m-"):
            found = backend.logged_models(model_id=mv.source.split("/", 1)[1].lstrip("/"))
            run_id = found[0].source_run_id if found else None
        out.append(AliasedVersion(rm.name, alias, str(mv.version), run_id))
    return out


def run_models(backend: Backend, experiment_ids: list[str], runs: pd.DataFrame | None,
               scan_run_ids: list[str] | tuple[str, ...]) -> dict[str, RunModel]:
    """The model each run carries, by run id (runs without one are absent).

    Looks, in this order: MLflow 3 logged models (READY ones, by source run; the newest when a
    run logged several); MLflow 2's ``mlflow.log-model.history`` tag in ``runs``; and, for
    ``scan_run_ids`` only (listing artifacts costs a request per run), a top-level artifact
    folder holding an ``MLmodel`` file.
    """
    found: dict[str, RunModel] = {}
    if experiment_ids:
        for m in backend.logged_models([str(e) for e in experiment_ids]):
            if m.source_run_id and m.status == "READY":
                found[m.source_run_id] = RunModel(m.source_run_id, m.name, f"models:/{m.model_id}", m.model_id, "logged model")
    if runs is not None and LOG_MODEL_HISTORY_TAG in runs.columns:
        for run_id, history, artifact_uri in zip(runs["run_id"], runs[LOG_MODEL_HISTORY_TAG], runs["artifact_uri"]):
            if run_id in found:
                continue
            path = logged_model_path(history)
            if path:
                found[run_id] = RunModel(run_id, path, f"{artifact_uri}/{path}", None, "log-model tag")
    for run_id in scan_run_ids:
        if run_id in found:
            continue
        for path, is_dir in backend.list_artifacts(run_id):
            if is_dir and any(p.rsplit("/", 1)[-1] == "MLmodel" for p, _d in backend.list_artifacts(run_id, path)):
                frame = backend.runs_by_id([run_id])
                if len(frame):
                    found[run_id] = RunModel(run_id, path, f"{frame['artifact_uri'].iat[0]}/{path}", None, "MLmodel artifact")
                break
    return found


def logged_model_path(history) -> str | None:
    """The artifact path of the last model a ``mlflow.log-model.history`` tag records."""
    if not isinstance(history, str):
        return None
    try:
        entries = [e for e in json.loads(history) if isinstance(e, dict) and e.get("artifact_path")]
    except (ValueError, TypeError):
        return None
    return str(entries[-1]["artifact_path"]) if entries else None


def register(backend: Backend, name: str, run_model: RunModel) -> tuple[RegistryVersion, bool]:
    """The version of ``name`` made from ``run_model``'s run, registering one only when none exists.

    Safe when two promotions of the same run race: after creating, the oldest version of that run
    wins and is returned; a version this call made meanwhile is reported as not created.
    """
    existing = [v for v in versions(backend, name) if v.run_id == run_model.run_id]
    if existing:
        return existing[-1], False
    created = backend.create_model_version(name, run_model.source, run_model.run_id, run_model.model_id)
    mine = [v for v in versions(backend, name) if v.run_id == run_model.run_id]
    if not mine:
        raise PodiumError(f"Registered version {created} of {name!r} but cannot read it back.")
    first = mine[-1]
    return first, first.version == created
