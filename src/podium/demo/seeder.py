"""The generic seeder: experiments, runs, failures, models and timings, written with MLflow's client.

:func:`seed_demo` checks the store and the demo's packages, then hands one :class:`Seeder` to
each scenario in :data:`SCENARIOS` in turn. A scenario decides what to train; the seeder
logs it the way a team's training code would (params, metrics with steps, tags, datasets,
models with signatures, FAILED runs with the error scikit-learn raised).

This is the one place Podium writes training runs; it takes the tracking URI explicitly and
restores MLflow's process-global state (tracking URI, environment, loggers) afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urlsplit

from podium.config import is_database_uri, is_file_store, redact_uri, uri_scheme
from podium.demo import fraud, houses, wine
from podium.demo.data import NONDETERMINISTIC_METRICS, Outcome, param_value, subset
from podium.errors import PodiumError

#: The scenarios, in the order they are seeded; each provides ``EXPERIMENT`` and ``seed(seeder)``.
SCENARIOS = (fraud, houses, wine)
#: The demo's experiments, in the order they are seeded.
DEMO_EXPERIMENTS = tuple(s.EXPERIMENT for s in SCENARIOS)
#: Packages the demo needs beyond Podium's own (the ``demo`` extra, ``requirements-demo.txt``).
DEMO_PACKAGES = {"sklearn": "scikit-learn", "skops": "skops"}

# MLflow creates this experiment in every new store; a store holding only it, empty, is "empty".
DEFAULT_EXPERIMENT = "Default"
DAY_MS = 86_400_000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`seed_demo` wrote."""

    tracking_uri: str  # redacted
    runs: dict[str, int]  # experiment name -> runs written
    failed: dict[str, int]  # experiment name -> FAILED runs
    models_logged: int
    registered_model: str
    versions: tuple[str, ...]
    champion_version: str
    seconds: float

    @property
    def total_runs(self) -> int:
        return sum(self.runs.values())

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        width = max(len(name) for name in self.runs)
        out = [f"Demo store ready at {self.tracking_uri}: {self.total_runs} runs in {self.seconds:.1f} s"]
        for name, count in self.runs.items():
            out.append(f"  {name:<{width}}  {count:>4} runs ({self.failed.get(name, 0)} failed)")
        versions = ", ".join(self.versions)
        out.append(f"  {self.models_logged} models logged; registered model {self.registered_model!r}: "
                   f"versions {versions}, @{fraud.CHAMPION_ALIAS} -> version {self.champion_version}")
        return out


def seed_demo(tracking_uri: str, force: bool = False, progress: Progress | None = None,
              scale: float = 1.0) -> DemoSummary:
    """Train the demo models and log them into ``tracking_uri``.

    Args:
        tracking_uri: A database (``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…``)
            or tracking server (``http(s)://…``) URI. For SQLite, artifacts go to
            ``mlartifacts/`` beside the database file.
        force: Write even when the store already holds experiments (other than an empty
            ``Default``). Existing demo experiments are reused, so runs are added to them.
        progress: Called with one line of text per step (experiment, run count).
        scale: Fraction of each hyperparameter grid and of the repeated seeds to train, in
            (0, 1]; 1 is the full demo. Runs of a smaller scale are a subset of the full one,
            with identical params and metrics.

    Returns:
        A :class:`DemoSummary` of what was written.

    Raises:
        PodiumError: the store is not empty and ``force`` is false, the URI is a legacy file
            store (read-only in Podium), ``scale`` is out of range, or the demo's packages
            (scikit-learn, skops) are not installed.
        StoreError: the store cannot be reached or written (URI redacted).
    """
    from podium import store

    say = progress or (lambda line: None)
    uri = tracking_uri.strip()
    shown = redact_uri(uri)
    if not 0 < scale <= 1:
        raise PodiumError(f"--scale must be in (0, 1], got {scale}.")
    if is_file_store(uri):
        raise PodiumError(f"The demo writes to a database or tracking server, not a legacy file store ({shown}).")
    _require_demo_packages()
    if is_database_uri(uri):
        _create_store(uri)
    with _quiet():
        occupied = _occupied(store.list_experiments(uri, include_deleted=False))
    if occupied and not force:
        names = ", ".join(repr(n) for n in occupied[:3]) + (" …" if len(occupied) > 3 else "")
        raise PodiumError(f"{shown} already holds experiments ({names}); "
                          "seed an empty store or pass --force to add the demo runs anyway.")
    say(f"Seeding the demo store at {shown} (scale {scale:g})")
    started = time.perf_counter()
    with _quiet(), _fluent_uri(uri), _store_errors(uri):
        seeder = Seeder(uri, scale, say)
        for scenario in SCENARIOS:
            scenario.seed(seeder)
    return DemoSummary(
        tracking_uri=shown,
        runs=dict(seeder.run_counts),
        failed=dict(seeder.failed_counts),
        models_logged=seeder.models_logged,
        registered_model=fraud.DEMO_MODEL,
        versions=tuple(seeder.versions),
        champion_version=seeder.champion_version,
        seconds=time.perf_counter() - started,
    )


def _require_demo_packages() -> None:
    """A clear error, before anything is written, when the ``demo`` extra is not installed."""
    import importlib

    missing = []
    for module, package in DEMO_PACKAGES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise PodiumError(f"The demo trains real models and needs {' and '.join(missing)}: "
                          "pip install -r requirements-demo.txt (or pip install 'podium[demo]').")


def _create_store(uri: str) -> None:
    """Create MLflow's tables in a new database (Podium's reads never do; the demo is a writer).

    Podium's own read-only probe first: it fails in seconds on a server that is down (MLflow's
    client retries for minutes) and leaves a store that already has its tables as it is."""
    from mlflow import MlflowClient

    from podium import store

    if store.backend(uri).exists():
        return
    with _quiet(), _store_errors(uri):  # a new store logs its migrations
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


def _occupied(experiments) -> list[str]:
    """Names of the experiments that make a store non-empty for the demo."""
    return [e.name for e in experiments if e.name != DEFAULT_EXPERIMENT or e.run_count > 0]


def artifact_root(uri: str) -> Path | None:
    """``<db dir>/mlartifacts`` for a SQLite store, so artifacts do not depend on the cwd."""
    if uri_scheme(uri) != "sqlite":
        return None
    path = unquote(urlsplit(uri).path)
    if not path or path in ("/", "/:memory:"):
        return None
    # sqlite:///rel.db -> path "/rel.db" (relative), sqlite:////abs.db -> "//abs.db" (absolute)
    db = Path(path[1:]) if path.startswith("/") else Path(path)
    return db.expanduser().resolve().parent / "mlartifacts"


# --------------------------------------------------------------------------------------------
# MLflow's process-wide state, kept as it was


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence MLflow's and scikit-learn's chatter (schema hints, migrations) while seeding only."""
    import mlflow  # noqa: F401  - its first import sets the "mlflow" logger's level; set ours after

    names = ("mlflow", "alembic", "skops", "sklearn")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    # Against a tracking server MLflow prints a "View run at <server URL>" line per ended run,
    # which would flood the output and could show credentials given in the URI.
    suppress = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    saved = os.environ.get(suppress)
    os.environ[suppress] = "true"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)
            if saved is None:
                os.environ.pop(suppress, None)
            else:
                os.environ[suppress] = saved


@contextlib.contextmanager
def _fluent_uri(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (needed by ``log_model``) at ``uri``; restore it afterwards
    (globals and environment, see :func:`podium.store.process_tracking_uri`)."""
    import mlflow

    from podium.store import process_tracking_uri

    with process_tracking_uri(uri):
        try:
            yield
        finally:
            while mlflow.active_run() is not None:  # only if log_model failed half-way
                mlflow.end_run("FAILED")


def _store_errors(uri: str):
    """Store failures half-way through seeding as a StoreError naming the (redacted) store."""
    from podium.store import translated

    return translated(uri, doing="Seeding the demo store")


# --------------------------------------------------------------------------------------------
# The seeder


@dataclass
class Run:
    """A run as the seeder wrote it; ``outcome`` None means FAILED."""

    run_id: str
    name: str
    start_ms: int
    end_ms: int
    outcome: Outcome | None


def _family(model) -> tuple[str, ...]:
    """The estimator classes in ``model`` (a pipeline's steps in order): what skops's types depend on."""
    steps = getattr(model, "steps", None)
    models = [step for _, step in steps] if steps else [model]
    return tuple(f"{type(m).__module__}.{type(m).__qualname__}" for m in models)


class Clock:
    """Deterministic, spread-out start times: runs look like weeks of work, not one minute."""

    def __init__(self, start_ms: int):
        self.now = start_ms
        self.ticks = 0

    def next(self) -> int:
        self.ticks += 1
        self.now += (17 + (self.ticks * 37) % 71) * 60_000  # 18 to 87 minutes apart
        return self.now


class Seeder:
    """Writes one scenario's experiment, runs and models; counts what it wrote."""

    def __init__(self, uri: str, scale: float, say: Progress):
        from importlib.metadata import version

        from mlflow import MlflowClient

        self.uri = uri
        self.scale = scale
        self.say = say
        self._started: dict[str, float] = {}  # scenario -> perf_counter at its begin
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.artifact_root = artifact_root(uri)
        self.run_counts: dict[str, int] = {}
        self.failed_counts: dict[str, int] = {}
        self.models_logged = 0
        self.versions: list[str] = []
        self.champion_version = ""
        self.trusted_types: dict[tuple[str, ...], list[str]] = {}
        # Explicit requirements: log_model must not infer them (that spawns pip and may hit the network).
        self.requirements = [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")]
        # Runs are spread over the past three weeks, ending before now.
        self.epoch = (int(time.time() * 1000) // 3_600_000) * 3_600_000 - 21 * DAY_MS

    def clock(self, days_after_epoch: int) -> Clock:
        """Start times for one scenario, beginning ``days_after_epoch`` into the three weeks."""
        return Clock(self.epoch + days_after_epoch * DAY_MS)

    def subset(self, items: list) -> list:
        """The seeded part of a grid: an evenly spread ``scale`` fraction of ``items``."""
        return subset(items, self.scale)

    # -- experiments and runs -----------------------------------------------------------------

    def experiment(self, name: str, description: str, team: str) -> str:
        """The id of experiment ``name`` (created, or restored if deleted), with its description."""
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            if existing.lifecycle_stage == "deleted":
                self.client.restore_experiment(existing.experiment_id)
            exp_id = existing.experiment_id
        else:
            location = (self.artifact_root / name).as_uri() if self.artifact_root else None
            exp_id = self.client.create_experiment(name, artifact_location=location)
        self.client.set_experiment_tag(exp_id, "mlflow.note.content", description)
        self.client.set_experiment_tag(exp_id, "team", team)
        self.run_counts.setdefault(name, 0)
        self.failed_counts.setdefault(name, 0)
        return exp_id

    def start(self, exp: str, exp_name: str, name: str, clock: Clock, params: dict, tags: dict,
              datasets: list, parent: str | None = None, note: str | None = None) -> tuple[str, int]:
        """Create a run with its params, tags and datasets; return (run id, start ms)."""
        from mlflow.entities import Param

        tags = {k: str(v) for k, v in tags.items()}
        if parent:
            tags["mlflow.parentRunId"] = parent
        if note:
            tags["mlflow.note.content"] = note
        start_ms = clock.next()
        run = self.client.create_run(exp, start_time=start_ms, tags=tags, run_name=name)
        run_id = run.info.run_id
        if params:
            self.client.log_batch(run_id, params=[Param(k, param_value(v)) for k, v in params.items()])
        if datasets:
            self.client.log_inputs(run_id, datasets=datasets)
        self.run_counts[exp_name] += 1
        return run_id, start_ms

    def train(self, exp: str, exp_name: str, name: str, clock: Clock, params: dict, tags: dict,
              datasets: list, fit: Callable[[], Outcome], parent: str | None = None,
              note: str | None = None) -> Run:
        """One run: log params, tags and datasets, train; FAILED with an error tag if ``fit`` raises.

        A finished run is left open so the caller can log its model before ending it.
        """
        from mlflow.entities import Metric, RunTag

        run_id, start_ms = self.start(exp, exp_name, name, clock, params, tags, datasets, parent, note)
        t0 = time.perf_counter()
        try:
            outcome = fit()
        except Exception as exc:  # a bad config: the run fails as it would in a real sweep
            end_ms = start_ms + max(1, int((time.perf_counter() - t0) * 1000))
            message = (str(exc).strip().splitlines() or [""])[0][:500]
            self.client.log_batch(run_id, tags=[RunTag("error.type", type(exc).__name__),
                                                RunTag("error.message", message)])
            self.client.set_terminated(run_id, "FAILED", end_time=end_ms)
            self.failed_counts[exp_name] += 1
            return Run(run_id, name, start_ms, end_ms, None)
        end_ms = start_ms + max(1, int((time.perf_counter() - t0) * 1000))
        metrics = [Metric(k, float(v), end_ms, 0) for k, v in outcome.metrics.items()]
        for key, values in outcome.history.items():
            span = max(1, end_ms - start_ms)
            metrics += [Metric(key, float(v), start_ms + span * (s + 1) // len(values), s)
                        for s, v in enumerate(values)]
        for i in range(0, len(metrics), 1000):  # MLflow's log_batch limit
            self.client.log_batch(run_id, metrics=metrics[i:i + 1000])
        return Run(run_id, name, start_ms, end_ms, outcome)

    def finish(self, runs: list[Run], with_models: set[str] = frozenset()) -> dict[str, str]:
        """Log models for the runs named in ``with_models``, then end every open run.

        Returns:
            ``{run name: model URI}`` of the models logged.
        """
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature
        from skops.io import dumps as skops_dumps
        from skops.io import get_untrusted_types

        uris: dict[str, str] = {}
        for r in runs:
            if r.outcome is None:
                continue
            if r.name in with_models and r.outcome.model is not None:
                model, example = r.outcome.model, r.outcome.example
                signature = infer_signature(example, model.predict(example))
                # skops (MLflow's safe default format) refuses types it does not know, such as
                # trees; these are our own freshly trained models, so their types are trusted.
                # Serialising a model to list them costs as much as logging it: once per family.
                family = _family(model)
                if family not in self.trusted_types:
                    self.trusted_types[family] = get_untrusted_types(data=skops_dumps(model))
                trusted = self.trusted_types[family]
                with mlflow.start_run(run_id=r.run_id):
                    info = mlflow.sklearn.log_model(model, name="model", signature=signature,
                                                    pip_requirements=self.requirements,
                                                    skops_trusted_types=trusted)
                uris[r.name] = info.model_uri
                self.models_logged += 1
            # log_model's end_run stamps "now"; the run's end is its training time after its start.
            self.client.set_terminated(r.run_id, "FINISHED", end_time=r.end_ms)
        return uris

    def end_parent(self, parent: str, children: list[Run], clock: Clock, metric: str) -> None:
        """End a sweep's parent run with its best child's scores (``best_<metric>``) and name."""
        from mlflow.entities import Metric

        best = self.best(children, metric, 1)
        end = max([r.end_ms for r in children] + [clock.now])
        if best:
            self.client.log_batch(parent, metrics=[
                Metric(f"best_{k}", v, end, 0) for k, v in best[0].outcome.metrics.items()
                if k not in NONDETERMINISTIC_METRICS])
            self.client.set_tag(parent, "best_child", best[0].name)
        self.client.set_terminated(parent, "FINISHED", end_time=end)

    @staticmethod
    def best(runs: list[Run], metric: str, k: int, higher: bool = True) -> list[Run]:
        """The ``k`` best finished runs with a logged-model candidate, by ``metric`` then name."""
        done = [r for r in runs if r.outcome is not None and r.outcome.model is not None
                and math.isfinite(r.outcome.metrics.get(metric, math.nan))]
        sign = -1 if higher else 1
        return sorted(done, key=lambda r: (sign * r.outcome.metrics[metric], r.name))[:k]

    def begin(self, name: str, kind: str, description: str, team: str, days_after_epoch: int) -> tuple[str, Clock]:
        """Start a scenario: say so, create its experiment; returns (experiment id, its clock)."""
        self._started[name] = time.perf_counter()
        self.say(f"Training {name} ({kind}) …")
        return self.experiment(name, description, team), self.clock(days_after_epoch)

    def report(self, exp_name: str) -> None:
        """One progress line: the experiment's run and failure counts and its time since begin."""
        self.say(f"  {exp_name}: {self.run_counts[exp_name]} runs "
                 f"({self.failed_counts[exp_name]} failed) in {time.perf_counter() - self._started[exp_name]:.1f} s")
