"""``./mlruns`` folders through MLflow's own file stores, opened so that reading creates nothing.

MLflow's ``FileStore`` creates ``.trash/`` (tracking) and ``models/`` (registry) when it opens a
folder, and a missing folder it creates as a new store. Podium opens a read-only subclass of
each that skips that, reports a folder that is no store, and treats a missing ``models/`` as an
empty registry. Writes (a confirmed promotion or report) go through MLflow's client
(:class:`ClientWrites`, shared with the SQL backend).
"""

from __future__ import annotations

import contextlib
import os

import pandas as pd

from podium.errors import NotFoundError
from podium.store._connect import check_file_store, writable_client
from podium.store.backends.base import Backend
from podium.store.frame import MAX_PAGE_SIZE, Progress, runs_to_frame, with_backend
from podium.store.records import DatasetRef, Experiment, LoggedModel, RegisteredModel, last_activity, newest_first


def all_pages(fetch) -> list:
    items, token = [], None
    while True:
        page = fetch(token)
        items.extend(page)
        token = page.token
        if not token:
            return items


def _tracking_store(root_uri: str):
    from mlflow.store.tracking.file_store import FileStore

    class ReadOnlyFileStore(FileStore):
        def __init__(self, root: str) -> None:  # FileStore.__init__ without its mkdirs
            from mlflow.utils.file_utils import local_file_uri_to_path, path_to_local_file_uri

            self.root_directory = local_file_uri_to_path(root)
            self.artifact_root_uri = path_to_local_file_uri(self.root_directory)
            self.trash_folder = os.path.join(self.root_directory, FileStore.TRASH_FOLDER_NAME)

        # git keeps no empty folder: a committed run may lack metrics/, params/ or artifacts/.
        # A run folder is its meta.yaml; none of those names may be a file (MLflow's check
        # against a meta.yaml planted in an artifact folder keeps its intent).
        def _is_valid_run_directory(self, run_dir):
            parts = [os.path.join(run_dir, p) for p in (FileStore.METRICS_FOLDER_NAME, FileStore.PARAMS_FOLDER_NAME,
                                                        FileStore.ARTIFACTS_FOLDER_NAME)]
            return os.path.isfile(os.path.join(run_dir, "meta.yaml")) and not any(
                os.path.exists(p) and not os.path.isdir(p) for p in parts)

        # ... and a committed mlruns/ has no .trash/, so nothing is deleted.
        def _get_deleted_experiments(self, full_path=False):
            return super()._get_deleted_experiments(full_path) if os.path.isdir(self.trash_folder) else []

        def _get_experiment_path(self, experiment_id, view_type=None, assert_exists=False):
            from mlflow.entities import ViewType

            view_type = ViewType.ALL if view_type is None else view_type
            if not os.path.isdir(self.trash_folder):
                if view_type == ViewType.DELETED_ONLY and not assert_exists:
                    return None
                view_type = ViewType.ACTIVE_ONLY
            return super()._get_experiment_path(experiment_id, view_type, assert_exists)

    # Its own __init__ skips FileStore's, so neither MLFLOW_ALLOW_FILE_STORE (process-wide) nor
    # a folder is touched to read.
    return ReadOnlyFileStore(root_uri)


def _registry_store(root: str):
    """The folder's model registry, or None when it has none (``models/`` absent)."""
    from mlflow.store.model_registry.file_store import FileStore

    if not os.path.isdir(os.path.join(root, FileStore.MODELS_FOLDER_NAME)):
        return None

    class ReadOnlyRegistry(FileStore):
        def __init__(self, directory: str) -> None:
            self.root_directory = directory

    return ReadOnlyRegistry(root)


class ClientWrites:
    """Confirmed writes through MLflow's client (database and ``./mlruns`` stores)."""

    def create_registered_model(self, name: str) -> None:
        with writable_client(self.t) as client:
            client.create_registered_model(name)

    def create_model_version(self, name: str, source: str, run_id: str, model_id: str | None) -> int:
        from podium.store.registry import process_tracking_uri

        with writable_client(self.t) as client:
            # MLflow's SQL registry resolves a ``models:/`` source through the process-global
            # tracking URI (its own TODO says so), so point it at this store for this call only.
            with process_tracking_uri(self.t.uri):
                mv = client.create_model_version(name, source=source, run_id=run_id, model_id=model_id)
        return int(mv.version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        with writable_client(self.t) as client:
            client.set_registered_model_alias(name, alias, str(version))

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with writable_client(self.t) as client:
            client.set_model_version_tag(name, str(version), key, value)

    def log_run_files(self, experiment_id: str, files: list[tuple[str, str]], run_name: str, tags: dict[str, str]) -> str:
        with writable_client(self.t) as client:
            run = client.create_run(experiment_id, run_name=run_name, tags=tags)
            try:
                for path, folder in files:
                    client.log_artifact(run.info.run_id, path, artifact_path=folder or None)
            except Exception:
                client.set_terminated(run.info.run_id, status="FAILED")
                raise
            client.set_terminated(run.info.run_id)
        return run.info.run_id

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with writable_client(self.t) as client:
            client.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with writable_client(self.t) as client:
            client.delete_experiment_tag(experiment_id, key)


def artifact_listing(artifact_uri: str, path: str | None = None) -> list[tuple[str, bool]]:
    """``(path, is_dir)`` under an artifact location through MLflow's artifact repositories."""
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    if artifact_uri.startswith("file:") or "://" not in artifact_uri:
        # A local folder: list it directly (MLflow's artifact repositories cost a second to import).
        root = url2pathname(urlsplit(artifact_uri).path) if artifact_uri.startswith("file:") else artifact_uri
        folder = os.path.join(root, path) if path else root
        try:
            with os.scandir(folder) as entries:
                return sorted(((f"{path}/{e.name}" if path else e.name), e.is_dir()) for e in entries)
        except OSError:
            return []
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        return [(f.path, f.is_dir) for f in get_artifact_repository(artifact_uri).list_artifacts(path)]
    except Exception:  # artifacts out of reach (remote storage, a folder git dropped)
        return []


class ClientBackend(ClientWrites, Backend):
    kind = "file"

    def __init__(self, t) -> None:
        super().__init__(t)
        self._store = None

    @property
    def store(self):
        if self._store is None:
            self.root = check_file_store(self.t)
            with self.errors():
                self._store = _tracking_store(self.t.uri)
        return self._store

    def experiments(self, include_deleted: bool) -> list[Experiment]:
        from mlflow.entities import ViewType

        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        out = []
        with self.errors():
            for exp in all_pages(lambda token: self.store.search_experiments(view_type=view, max_results=1000, page_token=token)):
                runs = all_pages(lambda token, e=exp: self.store.search_runs(
                    [e.experiment_id], "", ViewType.ACTIVE_ONLY, MAX_PAGE_SIZE, None, token))
                last = last_activity(max((r.info.start_time or 0 for r in runs), default=0),
                                     exp.last_update_time, exp.creation_time)
                out.append(Experiment(exp.experiment_id, exp.name, len(runs), last, exp.lifecycle_stage))
        return newest_first(out)

    def experiment_names(self) -> list[tuple[str, str]]:
        from mlflow.entities import ViewType

        with self.errors():
            exps = all_pages(lambda token: self.store.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token))
        return [(e.experiment_id, e.name) for e in exps]

    def search(self, names, filter_string, include_deleted, progress: Progress | None = None) -> pd.DataFrame:
        from mlflow.entities import ViewType

        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        ids, loaded = list(names), [0]

        def page(token):
            found = self.store.search_runs(ids, filter_string, view, MAX_PAGE_SIZE, None, token)
            loaded[0] += len(found)
            if progress is not None and found.token:
                progress(loaded[0], None)
            return found

        with self.errors():
            runs = all_pages(page)
        return with_backend(runs_to_frame(runs, names), self.uri)

    def _runs(self, run_ids: list[str]) -> list:
        from mlflow.exceptions import MlflowException

        runs = []
        with self.errors():
            for run_id in run_ids:
                with contextlib.suppress(MlflowException, OSError):
                    runs.append(self.store.get_run(run_id))
        return runs

    def runs_by_id(self, run_ids: list[str]) -> pd.DataFrame:
        runs = self._runs(run_ids)
        names = dict(self.experiment_names())
        return runs_to_frame(runs, {r.info.experiment_id: names.get(r.info.experiment_id) for r in runs})

    def metric_history(self, run_ids: list[str], key: str) -> list[tuple]:
        from mlflow.exceptions import MlflowException

        rows = []
        with self.errors():
            for run_id in run_ids:
                with contextlib.suppress(MlflowException, OSError):
                    for m in self.store.get_metric_history(run_id, key):
                        rows.append((run_id, m.key, m.step, m.timestamp, m.value))
        return rows

    def datasets(self, run_ids: list[str]) -> dict[str, tuple[DatasetRef, ...]]:
        out = {}
        for run in self._runs(run_ids):
            refs = []
            for di in (run.inputs.dataset_inputs if run.inputs else None) or []:
                ctx = next((t.value for t in di.tags or [] if t.key == "mlflow.data.context"), "")
                refs.append(DatasetRef(di.dataset.name, di.dataset.digest, ctx, di.dataset.source_type))
            out[run.info.run_id] = tuple(refs)
        return out

    def logged_models(self, experiment_ids=None, model_id=None) -> list[LoggedModel]:
        from mlflow.exceptions import MlflowException

        found = []
        try:
            if model_id is not None:
                models = [self.store.get_logged_model(model_id)]
            else:
                models = all_pages(lambda token: self.store.search_logged_models(
                    [str(e) for e in experiment_ids or []], max_results=1000, page_token=token))
        except (MlflowException, NotImplementedError, OSError):  # stores without logged models
            return []
        for m in models:
            status = getattr(m.status, "name", str(m.status))
            found.append(LoggedModel(m.model_id, m.name, m.source_run_id, status, m.creation_timestamp, m.artifact_location))
        return sorted(found, key=lambda m: (m.created or 0, m.model_id))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[tuple[str, bool]]:
        runs = self._runs([run_id])
        return artifact_listing(runs[0].info.artifact_uri, path) if runs else []

    def model_files(self, model: LoggedModel) -> tuple[str, ...]:
        if not model.artifact_location:
            return ()
        return tuple(sorted(p.rsplit("/", 1)[-1] for p, _d in artifact_listing(model.artifact_location)))

    def _registry(self):
        self.store  # noqa: B018  (checks the folder)
        return _registry_store(self.root)

    def registered_models(self, name: str | None = None) -> list[RegisteredModel]:
        from mlflow.exceptions import MlflowException

        registry = self._registry()
        if registry is None:
            return []
        with self.errors():
            if name is not None:
                try:
                    models = [registry.get_registered_model(name)]
                except MlflowException as exc:
                    if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                        return []
                    raise
            else:
                models = all_pages(lambda token: registry.search_registered_models(max_results=1000, page_token=token))
        return sorted((RegisteredModel(m.name, {a: int(v) for a, v in (m.aliases or {}).items()}) for m in models), key=lambda m: m.name)

    def model_versions(self, name: str, version: int | None = None) -> list[dict]:
        from mlflow.exceptions import MlflowException

        registry = self._registry()
        if registry is None:
            return []
        with self.errors():
            try:
                if version is not None:
                    found = [registry.get_model_version(name, str(version))]
                else:
                    # Filter in Python: a name holding both quote kinds has no filter string.
                    found = [mv for mv in all_pages(lambda token: registry.search_model_versions(
                        max_results=10000, page_token=token)) if mv.name == name]
            except MlflowException as exc:
                if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    return []
                raise
        return [
            {"version": int(mv.version), "run_id": mv.run_id or None, "source": mv.source or "", "status": str(mv.status),
             "stage": mv.current_stage or "None", "created": mv.creation_timestamp, "tags": dict(mv.tags or {})}
            for mv in found
        ]

    def experiment_tags(self, experiment_id: str) -> dict[str, str]:
        from mlflow.exceptions import MlflowException

        with self.errors():
            try:
                return dict(self.store.get_experiment(experiment_id).tags or {})
            except MlflowException as exc:
                raise NotFoundError(f"No experiment with id {experiment_id!r}.") from exc
