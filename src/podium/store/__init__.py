"""The only package that talks to MLflow: experiments, runs, metric histories, the registry.

Every function takes the store explicitly (a URI string, or a :class:`StoreRef` that carries a
signed-in user's credentials; never MLflow's process-global URI), so one server serves many
stores and users at once. Each call resolves the store once and dispatches to one backend
(:func:`podium.store.backends.backend_for`): database tables read-only, a tracking server's REST
API as the session's user, or a ``./mlruns`` folder. Nothing is written unless the caller is a
confirmed action (Champion's promote, Report's "Log to MLflow", saving a shared view).

Errors a user can cause come out as :class:`~podium.errors.PodiumError` with a redacted URI and
MLflow's own wording. Runs travel as one DataFrame with MLflow's column names (``frame.py``).
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from podium.config import redact_uri
from podium.errors import NotFoundError, StoreError
from podium.store import registry as _registry
from podium.store._connect import Credentials, StoreRef, Target, prepare_uri, target, translated
from podium.store.backends import Backend, backend_for
from podium.store.frame import (
    BASE_COLUMNS,
    MAX_PAGE_SIZE,
    Progress,
    empty_runs_frame,
    finish_frame,
    runs_to_frame,
)
from podium.store.records import (
    AliasedVersion,
    DatasetRef,
    Experiment,
    ModelRef,
    RegistryVersion,
    RunModel,
    RunRecord,
)
from podium.store.refresh import LIVE_STATUSES, RunsRefresh, merge_runs, refresh_result
from podium.store.registry import LOG_MODEL_HISTORY_TAG, PRODUCTION_STAGE, process_tracking_uri

# Files a logged model carries that rebuild its environment.
ENV_FILES = ("conda.yaml", "requirements.txt", "python_env.yaml")
SUMMARY_COLUMNS = ["run_id", "key", "min", "max", "last", "n", "best_step", "min_step", "max_step"]


def backend(tracking_uri: str | None) -> Backend:
    """The backend of ``tracking_uri`` (resolved once)."""
    return backend_for(target(tracking_uri))


# --------------------------------------------------------------------------------------------
# Experiments


def list_experiments(tracking_uri: str | None = None, include_deleted: bool = False) -> list[Experiment]:
    """List the store's experiments with their run count and last activity, newest first.

    Args:
        tracking_uri: The store; resolved as in :func:`podium.config.resolve_tracking_uri`.
        include_deleted: Also list deleted experiments.

    Returns:
        One :class:`Experiment` per experiment. ``run_count`` counts active (not deleted) runs;
        ``last_activity`` is the newest run's start (the experiment's update or creation time
        when it has no runs).

    Raises:
        StoreError: no MLflow store there (never created), or it cannot be read.
    """
    return backend(tracking_uri).experiments(include_deleted)


def list_experiments_light(tracking_uri: str | None) -> list[tuple[str, str]]:
    """``(id, name)`` of every experiment, deleted ones included (cheap: no run counts)."""
    return backend(tracking_uri).experiment_names()


def resolve_experiments(tracking_uri: str | None, experiments: list[str]) -> dict[str, str]:
    """Map experiment names or ids to ``{id: name}``, in the order given.

    Raises:
        NotFoundError: when a name or id matches no experiment of the store.
    """
    return _resolve(backend(tracking_uri), experiments)


def _resolve(b: Backend, experiments: list[str]) -> dict[str, str]:
    known = b.experiment_names()
    by_id = {e_id: name for e_id, name in known}
    by_name = {name: e_id for e_id, name in known}
    out: dict[str, str] = {}
    missing = []
    for item in experiments:
        key = str(item)
        if key in by_name:
            out[by_name[key]] = key
        elif key in by_id:
            out[key] = by_id[key]
        else:
            missing.append(key)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise NotFoundError(f"No experiment named {names} in {b.t.shown}.")
    return out


def store_is_empty(tracking_uri: str | None) -> bool:
    """True when there is no store yet, or it has no runs in any active experiment (used only to
    offer or seed the demo in MLflow's default store)."""
    b = backend(tracking_uri)
    if b.kind == "database" and not b.exists():
        return True
    return all(e.run_count == 0 for e in b.experiments(False))


def experiment_tags(tracking_uri: str | None, experiment_id: str) -> dict[str, str]:
    """The tags of one experiment (``{key: value}``)."""
    return backend(tracking_uri).experiment_tags(str(experiment_id))


def set_experiment_tag(tracking_uri: str | None, experiment_id: str, key: str, value: str) -> None:
    """Set one experiment tag (a confirmed write: a shared view)."""
    backend(tracking_uri).set_experiment_tag(str(experiment_id), key, value)


def delete_experiment_tag(tracking_uri: str | None, experiment_id: str, key: str) -> None:
    """Delete one experiment tag (a confirmed write)."""
    backend(tracking_uri).delete_experiment_tag(str(experiment_id), key)


# --------------------------------------------------------------------------------------------
# Runs


def validate_filter(filter_string: str) -> None:
    """Check ``filter_string`` as MLflow's run search would (see :func:`podium.search.validate_filter`).

    Raises:
        FilterError: with MLflow's explanation when MLflow would reject it.
    """
    from podium import search

    search.validate_filter(filter_string)


def load_runs(
    tracking_uri: str | None,
    experiments: list[str],
    filter_string: str = "",
    include_deleted: bool = False,
    *,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Load the runs of ``experiments`` matching ``filter_string`` as one DataFrame.

    Args:
        tracking_uri: The store: ``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``,
            ``http(s)://…`` or a legacy ``./mlruns`` folder (path or ``file://`` URI).
        experiments: Experiment names or ids.
        filter_string: MLflow search syntax, e.g. ``metrics.f1 > 0.8 and params.model = 'rf'``.
        include_deleted: Also return deleted runs.
        progress: Called as ``progress(loaded, total)`` while loading, in the caller's thread:
            per page over HTTP and for ``./mlruns`` (``total`` None until the last page), at the
            start and the end of a database read (``total`` known). Always called once at the
            end with ``loaded == total``.

    Returns:
        One row per run, ordered as ``mlflow.search_runs`` orders them (newest start first).

    Raises:
        FilterError: the filter is invalid (MLflow's own message).
        NotFoundError: an experiment does not exist.
        StoreError: the store cannot be reached or read (URI redacted).
    """
    validate_filter(filter_string)
    b = backend(tracking_uri)
    names = _resolve(b, experiments)
    if not names:
        return empty_runs_frame()
    df = b.search(names, filter_string, include_deleted, progress=progress)
    if progress is not None:
        progress(len(df), len(df))
    return df


def refresh_runs(
    tracking_uri: str | None,
    experiments: list[str],
    previous: pd.DataFrame | None,
    filter_string: str = "",
    include_deleted: bool = False,
    *,
    progress: Progress | None = None,
) -> RunsRefresh:
    """Bring ``previous`` (a :func:`load_runs` frame for the same arguments) up to date cheaply.

    Reads only the runs that can be known to have changed, and merges them into ``previous`` in
    ``mlflow.search_runs``' order (new param/metric/tag columns added, emptied ones dropped):

    - new runs: on a database store every run not in ``previous`` (without a filter) or, with a
      filter, runs started at/after the newest start in ``previous``, runs now RUNNING/SCHEDULED
      and runs that ended since (10 minutes of clock slack); over HTTP, runs started at/after
      the newest start in ``previous`` (plus, with a filter, the same RUNNING/ended searches);
    - runs that were RUNNING or SCHEDULED in ``previous`` (by run id): read again, dropped when
      deleted or no longer matching the filter;
    - on a database store also runs whose status or end time changed, and runs deleted (or, with
      ``include_deleted``, purged) since: one cheap read of MLflow's ``runs`` table tells.

    Limitation: MLflow keeps no "updated at" time, so edits to runs that had already finished
    when ``previous`` was loaded (new tags, params or metrics, a rename; over HTTP also their
    deletion) are not seen, nor (over HTTP) a run created with a start time older than the
    newest loaded one. A full :func:`load_runs` sees everything. A legacy ``./mlruns`` store is
    always read in full (a filtered search there reads every run anyway).

    Returns:
        A :class:`RunsRefresh`: ``runs`` equals what :func:`load_runs` returns now, within the
        limitation above; ``runs is previous`` when a partial read found nothing changed.
    """
    validate_filter(filter_string)
    b = backend(tracking_uri)
    names = _resolve(b, experiments)

    def full() -> RunsRefresh:
        fresh = load_runs(tracking_uri, experiments, filter_string, include_deleted, progress=progress)
        return refresh_result(previous, fresh, full_reload=True)

    if (
        previous is None or previous.empty or not names or "run_id" not in previous.columns
        or not set(previous["experiment_id"]) <= set(names)
    ):
        return full()
    found = b.changed_runs(names, previous, filter_string, include_deleted)
    if found is None:
        return full()
    fresh, replaced = found
    result = refresh_result(previous, fresh, replaced=replaced)
    if not result.changed:
        return RunsRefresh(previous)
    merged = merge_runs(previous, fresh, replaced | set(fresh["run_id"]), b.uri)
    return RunsRefresh(merged, result.new, result.updated, result.removed)


def get_runs(tracking_uri: str | None, run_ids: list[str]) -> pd.DataFrame:
    """The runs frame of ``run_ids`` (any experiment), in the order given; missing ids are skipped."""
    return backend(tracking_uri).runs_by_id(list(run_ids))


# --------------------------------------------------------------------------------------------
# Metric histories


def load_metric_history(tracking_uri: str | None, run_ids: list[str], metric_key: str) -> pd.DataFrame:
    """Every logged value of ``metric_key`` for ``run_ids``.

    Returns:
        A frame with columns ``run_id, key, step, timestamp, value`` (timestamp as UTC datetime),
        ordered by run and step.
    """
    rows = backend(tracking_uri).metric_history(list(run_ids), metric_key)
    df = pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])
    df["value"] = df["value"].astype(float)
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="ms", utc=True)
    return df.sort_values(["run_id", "step", "timestamp"], kind="stable").reset_index(drop=True)


def metric_summaries(tracking_uri: str | None, run_ids: list[str], keys: list[str]) -> pd.DataFrame:
    """Min, max, last, number of steps and the step of the best value, per run and metric.

    Database stores answer with one grouped query on MLflow's ``metrics`` table; tracking
    servers from each run's history (requests batched, a few at a time).

    Returns:
        Columns ``run_id, key, min, max, last, n, best_step, min_step, max_step``; one row per run
        and key the run logged. ``last`` is MLflow's latest value (highest step, then latest
        timestamp); ``best_step`` is ``min_step`` for a metric to minimise (loss-like names, see
        :func:`podium.analysis.metric_direction`), else ``max_step``. NaN values count in ``n``,
        never as a minimum or maximum.
    """
    from podium.analysis import metric_direction

    rows = backend(tracking_uri).metric_summaries(list(run_ids), list(keys))
    df = pd.DataFrame(rows, columns=["run_id", "key", "min", "min_step", "max", "max_step", "n", "last"])
    for column in ("min", "max", "last"):
        df[column] = df[column].astype(float)
    df["n"] = df["n"].astype(int)
    minimise = df["key"].map(lambda k: metric_direction(k) == "min").astype(bool)
    df["best_step"] = np.where(minimise, df["min_step"], df["max_step"])
    order = {rid: i for i, rid in enumerate(run_ids)}
    df = df.assign(_o=df["run_id"].map(order)).sort_values(["_o", "key"], kind="stable").drop(columns="_o")
    return df[SUMMARY_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# What a report needs beyond the frame, and its one write


def run_records(tracking_uri: str | None, run_ids: list[str]) -> dict[str, RunRecord]:
    """Datasets (``log_input``), logged models and model files of each run in ``run_ids``.

    Models come from MLflow 3's logged models (by source run), plus MLflow 2-style model folders
    in the run's own artifacts (a folder that holds an ``MLmodel`` file), else the model MLflow 2's
    ``mlflow.log-model.history`` tag names (no files: its folder is out of reach). A run the store cannot
    read (a committed ``mlruns`` copy missing folders) is left out, never an error.
    """
    b = backend(tracking_uri)
    frame = b.runs_by_id(list(run_ids))
    if frame.empty:
        return {}
    datasets = b.datasets(list(frame["run_id"]))
    models_by_run: dict[str, list] = {}
    for m in b.logged_models(sorted(set(frame["experiment_id"]))):
        if m.source_run_id:
            models_by_run.setdefault(m.source_run_id, []).append(m)
    tag_columns = [c for c in frame.columns if c.startswith("tags.")]
    out: dict[str, RunRecord] = {}
    for row in frame.to_dict("records"):
        run_id = row["run_id"]
        tags = {c[5:]: row[c] for c in tag_columns if row[c] is not None and row[c] == row[c]}
        models = [ModelRef(m.name, f"models:/{m.model_id}", m.model_id, b.model_files(m)) for m in models_by_run.get(run_id, [])]
        for path, is_dir in b.list_artifacts(run_id):
            if is_dir:
                names = tuple(sorted(p.rsplit("/", 1)[-1] for p, _d in b.list_artifacts(run_id, path)))
                if "MLmodel" in names:
                    models.append(ModelRef(path, f"runs:/{run_id}/{path}", None, names))
        if not models:
            # MLflow 2's log-model tag still names a model whose folder is out of reach (a copied
            # store, remote storage): the card says which model, without its files.
            path = _registry.logged_model_path(tags.get("mlflow.log-model.history"))
            if path:
                models.append(ModelRef(path, f"runs:/{run_id}/{path}", None, (), files_checked=False))
        out[run_id] = RunRecord(run_id, tags, datasets.get(run_id, ()), tuple(models))
    return out


def log_report(tracking_uri: str | None, experiment: str, files: list[tuple[str, str]], run_name: str, tags: dict[str, str]) -> str:
    """Log report files as artifacts of a new run in ``experiment``; returns the new run id.

    The only write of the report feature; callers ask the user first. ``files`` holds
    ``(local path, artifact folder)`` pairs. On a tracking server that authenticates the caller,
    ``podium.promoted_by`` (and ``mlflow.user``) name that user.
    """
    b = backend(tracking_uri)
    exp_id = next(iter(_resolve(b, [experiment])))
    who = authenticated_user(tracking_uri)
    if who:  # the audit names the user the server authenticated (team mode: the signed-in one)
        tags = {**tags, "podium.promoted_by": who, "mlflow.user": who}
    with b.errors():
        return b.log_run_files(exp_id, files, run_name, tags)


# --------------------------------------------------------------------------------------------
# The Model Registry (champion)


def champion_versions(tracking_uri: str | None, alias: str = "champion", model_name: str | None = None) -> list[AliasedVersion]:
    """Model versions behind ``alias`` in every registered model (or only ``model_name``).

    Read-only. ``run_id`` is the version's source run: its ``run_id``, else the source run of the
    logged model it was registered from (``models:/<model_id>``). ``alias="Production"`` also
    finds the legacy Production stage of registries that have no such alias.

    Raises:
        NotFoundError: ``model_name`` is given and no such registered model exists.
    """
    return _registry.champion_versions(backend(tracking_uri), alias, model_name)


def run_models(
    tracking_uri: str | None,
    experiment_ids: list[str],
    runs: pd.DataFrame | None = None,
    scan_run_ids: list[str] | tuple[str, ...] = (),
) -> dict[str, RunModel]:
    """The model each run carries, by run id (see :func:`podium.store.registry.run_models`)."""
    return _registry.run_models(backend(tracking_uri), experiment_ids, runs, scan_run_ids)


def registered_model_names(tracking_uri: str | None) -> list[str]:
    """Names of the store's registered models, sorted."""
    return [m.name for m in backend(tracking_uri).registered_models()]


def registered_model_exists(tracking_uri: str | None, name: str) -> bool:
    """True when a registered model called ``name`` exists."""
    return _registry.model(backend(tracking_uri), name) is not None


def model_versions(tracking_uri: str | None, name: str) -> list[RegistryVersion]:
    """Every version of registered model ``name``, newest version first; [] when it does not exist."""
    return _registry.versions(backend(tracking_uri), name)


def version_by_alias(tracking_uri: str | None, name: str, alias: str) -> RegistryVersion | None:
    """The version of ``name`` behind ``alias``; None when the model or the alias does not exist.
    ``alias="Production"`` falls back to the legacy stage."""
    return _registry.by_alias(backend(tracking_uri), name, alias)


# Promotions in this process are serialised per store and model, so two sessions promoting the
# same run at once register one version (across processes, :func:`registry.register` re-reads).
_promotion_locks: dict[tuple[str, str], threading.Lock] = {}
_promotion_locks_guard = threading.Lock()


def promotion_lock(tracking_uri: str | None, name: str) -> threading.Lock:
    """The lock a promotion of ``name`` in this store holds while it reads and writes."""
    key = (target(tracking_uri).uri, name)
    with _promotion_locks_guard:
        return _promotion_locks.setdefault(key, threading.Lock())


def create_registered_model(tracking_uri: str | None, name: str) -> bool:
    """Create registered model ``name`` unless it exists; True when it was created.

    A model created by someone else at the same moment counts as existing (not created).
    """
    b = backend(tracking_uri)
    if _registry.model(b, name) is not None:
        return False
    try:
        with b.errors():
            b.create_registered_model(name)
    except Exception:
        if _registry.model(b, name) is not None:  # lost a race: it exists now, which is what we wanted
            return False
        raise
    return True


def register_run_model(tracking_uri: str | None, name: str, model: RunModel) -> tuple[RegistryVersion, bool]:
    """The version of ``name`` made from ``model``'s run, registering one only when none exists.

    Returns:
        ``(version, created)``; ``created`` is False when the run already had a version (the
        oldest of them is returned), so calling twice never makes a second version.
    """
    b = backend(tracking_uri)
    with b.errors():
        return _registry.register(b, name, model)


def set_model_alias(tracking_uri: str | None, name: str, alias: str, version: int) -> None:
    """Point ``alias`` of registered model ``name`` at ``version``."""
    b = backend(tracking_uri)
    with b.errors():
        b.set_alias(name, alias, int(version))


def set_version_tags(tracking_uri: str | None, name: str, version: int, tags: dict[str, str]) -> None:
    """Set tags on one model version (the champion's audit trail)."""
    b = backend(tracking_uri)
    with b.errors():
        for key, value in tags.items():
            b.set_version_tag(name, int(version), key, value)


# --------------------------------------------------------------------------------------------
# Team mode


def authenticated_user(tracking_uri: str | None) -> str | None:
    """The MLflow user a tracking server authenticates this store's requests as: the signed-in
    user (team mode), the user in the URI, else ``MLFLOW_TRACKING_USERNAME``; None for other
    stores and anonymous access. Audit trails record this user, not a name typed in a form."""
    import os

    t = target(tracking_uri)
    if t.kind != "http":
        return None
    if t.credentials is not None:
        return t.credentials.username or None
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or None


def check_credentials(tracking_uri: str, username: str, password: str) -> StoreRef:
    """Sign in: check ``username``/``password`` against a tracking server and return the
    :class:`StoreRef` every later call of that session uses.

    Raises:
        PermissionDeniedError: the server refused the credentials.
        StoreError: the server cannot be reached, or the store is not a tracking server.
    """
    from podium.errors import PermissionDeniedError

    ref = StoreRef(tracking_uri, Credentials(username, password))
    b = backend(ref)
    if b.kind != "http":
        raise StoreError(f"Sign-in needs a tracking server (http:// or https://), not {redact_uri(str(tracking_uri))}.")
    try:
        b.call("POST", "experiments/search", {"max_results": 1})
    except PermissionDeniedError:
        raise PermissionDeniedError("Wrong username or password.") from None
    return ref


__all__ = [
    "AliasedVersion", "BASE_COLUMNS", "Credentials", "DatasetRef", "ENV_FILES", "Experiment", "LIVE_STATUSES",
    "LOG_MODEL_HISTORY_TAG", "MAX_PAGE_SIZE", "ModelRef", "PRODUCTION_STAGE", "Progress", "RegistryVersion",
    "RunModel", "RunRecord", "RunsRefresh", "StoreRef", "Target", "authenticated_user", "backend", "champion_versions", "check_credentials",
    "create_registered_model", "delete_experiment_tag", "empty_runs_frame", "experiment_tags", "finish_frame",
    "get_runs", "list_experiments", "list_experiments_light", "load_metric_history", "load_runs", "log_report",
    "metric_summaries", "model_versions", "prepare_uri", "process_tracking_uri", "promotion_lock", "refresh_runs",
    "register_run_model", "registered_model_exists", "registered_model_names", "resolve_experiments", "run_models",
    "run_records", "runs_to_frame", "set_experiment_tag", "set_model_alias", "set_version_tags", "store_is_empty",
    "translated", "validate_filter", "version_by_alias",
]
