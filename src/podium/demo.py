"""Seed an MLflow store with a demo of real scikit-learn training runs.

``python -m podium demo --tracking-uri URI [--force]`` trains real models on data that ships
with scikit-learn or is generated from a fixed seed (nothing is downloaded), and logs them the
way a team would: params, final metrics, metric histories with steps, team and git-like source
tags, datasets, models with signatures, nested sweeps, a few genuinely FAILED runs and a
registered model with a ``champion`` alias.

Every run draws its data and its randomness from its own configuration, never from a shared
random stream, so a run gives the same params and metrics whichever other runs are seeded with
it (``scale`` < 1 seeds a subset of the grids). Only timings (:data:`NONDETERMINISTIC_METRICS`,
start and end times) differ between two seeds.

This module writes to MLflow itself because seeding is the one place Podium writes training
runs; it takes the tracking URI explicitly and restores MLflow's process-global state.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

from podium.config import is_file_store, redact_uri, resolve_tracking_uri, uri_scheme
from podium.errors import PodiumError, StoreError

FRAUD_EXPERIMENT = "fraud-detection"
HOUSE_EXPERIMENT = "house-prices"
WINE_EXPERIMENT = "wine-small-data"
#: The demo's experiments, in the order they are seeded.
DEMO_EXPERIMENTS = (FRAUD_EXPERIMENT, HOUSE_EXPERIMENT, WINE_EXPERIMENT)
#: The registered model the demo creates from fraud-detection runs.
DEMO_MODEL = "fraud-detector"
#: The alias the demo puts on one version of :data:`DEMO_MODEL`.
CHAMPION_ALIAS = "champion"
#: The demo team's promotion policy: best f1 among runs whose review passed (run tag ``review``).
CHAMPION_CONSTRAINT = "tags.review = 'approved'"
#: Metrics that measure wall-clock time and so differ from one seed to the next.
NONDETERMINISTIC_METRICS = frozenset({"predict_latency_ms"})

# MLflow creates this experiment in every new store; a store holding only it, empty, is "empty".
DEFAULT_EXPERIMENT = "Default"

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
                   f"versions {versions}, @{CHAMPION_ALIAS} -> version {self.champion_version}")
        return out


# --------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser) -> None:
    """Add the ``demo`` subcommand's options to ``parser``."""
    parser.add_argument("--tracking-uri", default=None,
                        help="store to seed (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--force", action="store_true",
                        help="write even if the store already holds experiments")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each hyperparameter grid to train, in (0, 1] (default 1)")


def run(args) -> int:
    """Run ``python -m podium demo``: seed the store, print progress and a summary."""
    # The demo needs no network; keep MLflow from trying to phone home while it runs.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    summary = seed_demo(resolve_tracking_uri(args.tracking_uri), force=args.force, scale=args.scale,
                        progress=lambda line: print(line, flush=True))
    for line in summary.lines():
        print(line)
    print(f"Open it in Podium: python -m podium serve --tracking-uri '{summary.tracking_uri}'")
    return 0


# --------------------------------------------------------------------------------------------
# Seeding


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
            store (read-only in Podium), or ``scale`` is out of range.
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
    with _quiet():  # opening a new SQLite store logs its migrations
        occupied = _occupied(store.list_experiments(uri, include_deleted=False))
    if occupied and not force:
        names = ", ".join(repr(n) for n in occupied[:3]) + (" …" if len(occupied) > 3 else "")
        raise PodiumError(f"{shown} already holds experiments ({names}); "
                          "seed an empty store or pass --force to add the demo runs anyway.")
    say(f"Seeding the demo store at {shown} (scale {scale:g})")
    started = time.perf_counter()
    with _quiet(), _fluent_uri(uri), _store_errors(uri):
        seeder = _Seeder(uri, scale, say)
        seeder.seed_fraud()
        seeder.seed_houses()
        seeder.seed_wine()
    return DemoSummary(
        tracking_uri=shown,
        runs=dict(seeder.run_counts),
        failed=dict(seeder.failed_counts),
        models_logged=seeder.models_logged,
        registered_model=DEMO_MODEL,
        versions=tuple(seeder.versions),
        champion_version=seeder.champion_version,
        seconds=time.perf_counter() - started,
    )


def _occupied(experiments) -> list[str]:
    """Names of the experiments that make a store non-empty for the demo."""
    return [e.name for e in experiments if e.name != DEFAULT_EXPERIMENT or e.run_count > 0]


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


@contextlib.contextmanager
def _store_errors(uri: str) -> Iterator[None]:
    """Turn store failures half-way through seeding into a StoreError with the URI redacted."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        if not isinstance(exc, (MlflowException, OSError)) and not type(exc).__module__.startswith(
                ("sqlalchemy", "psycopg", "pymysql", "requests", "urllib3")):
            raise
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(uri, redact_uri(uri))
        raise StoreError(f"Seeding the demo store at {redact_uri(uri)} failed: {redact_uri(detail)}",
                         redact_uri(uri)) from None


def _artifact_root(uri: str) -> Path | None:
    """``<db dir>/mlartifacts`` for a SQLite store, so artifacts do not depend on the cwd."""
    if uri_scheme(uri) != "sqlite":
        return None
    path = unquote(urlsplit(uri).path)
    if not path or path in ("/", "/:memory:"):
        return None
    # sqlite:///rel.db -> path "/rel.db" (relative), sqlite:////abs.db -> "//abs.db" (absolute)
    db = Path(path[1:]) if path.startswith("/") else Path(path)
    return db.expanduser().resolve().parent / "mlartifacts"


def _commit(*parts: str) -> str:
    """A fake but plausible, deterministic git commit hash."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def _subset(items: list, scale: float) -> list:
    """An evenly spread ``scale`` fraction of ``items`` (at least one), in order."""
    if scale >= 1 or not items:
        return list(items)
    keep = max(1, math.ceil(len(items) * scale))
    picks = sorted({round(i * len(items) / keep) for i in range(keep)})
    return [items[i] for i in picks if i < len(items)]


def _p(value: Any) -> str:
    """A param value as MLflow stores it (strings), the same on every platform."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


@dataclass
class _Outcome:
    """What a training function gives back for a finished run."""

    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    model: Any = None  # a fitted estimator worth logging, or None
    example: Any = None  # input rows for the model signature


@dataclass
class _Run:
    run_id: str
    name: str
    start_ms: int
    end_ms: int
    outcome: _Outcome | None  # None: FAILED


class _Clock:
    """Deterministic, spread-out start times: runs look like weeks of work, not one minute."""

    def __init__(self, start_ms: int):
        self.now = start_ms
        self.ticks = 0

    def next(self) -> int:
        self.ticks += 1
        self.now += (17 + (self.ticks * 37) % 71) * 60_000  # 18 to 87 minutes apart
        return self.now


class _Seeder:
    def __init__(self, uri: str, scale: float, say: Progress):
        from importlib.metadata import version

        from mlflow import MlflowClient

        self.uri = uri
        self.scale = scale
        self.say = say
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        self.artifact_root = _artifact_root(uri)
        self.run_counts: dict[str, int] = {}
        self.failed_counts: dict[str, int] = {}
        self.models_logged = 0
        self.versions: list[str] = []
        self.champion_version = ""
        # Explicit requirements: log_model must not infer them (that spawns pip and may hit the network).
        self.requirements = [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")]
        # Runs are spread over the past three weeks, ending before now.
        day = 86_400_000
        self.epoch = (int(time.time() * 1000) // 3_600_000) * 3_600_000 - 21 * day

    # -- experiments and runs -----------------------------------------------------------------

    def experiment(self, name: str, description: str, team: str) -> str:
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

    def start(self, exp: str, exp_name: str, name: str, clock: _Clock, params: dict, tags: dict,
              datasets: list, parent: str | None = None, note: str | None = None) -> tuple[str, int]:
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
            self.client.log_batch(run_id, params=[Param(k, _p(v)) for k, v in params.items()])
        if datasets:
            self.client.log_inputs(run_id, datasets=datasets)
        self.run_counts[exp_name] += 1
        return run_id, start_ms

    def train(self, exp: str, exp_name: str, name: str, clock: _Clock, params: dict, tags: dict,
              datasets: list, fit: Callable[[], _Outcome], parent: str | None = None,
              note: str | None = None) -> _Run:
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
            return _Run(run_id, name, start_ms, end_ms, None)
        end_ms = start_ms + max(1, int((time.perf_counter() - t0) * 1000))
        metrics = [Metric(k, float(v), end_ms, 0) for k, v in outcome.metrics.items()]
        for key, values in outcome.history.items():
            span = max(1, end_ms - start_ms)
            metrics += [Metric(key, float(v), start_ms + span * (s + 1) // len(values), s)
                        for s, v in enumerate(values)]
        for i in range(0, len(metrics), 1000):  # MLflow's log_batch limit
            self.client.log_batch(run_id, metrics=metrics[i:i + 1000])
        return _Run(run_id, name, start_ms, end_ms, outcome)

    def finish(self, runs: list[_Run], with_models: set[str] = frozenset()) -> dict[str, str]:
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
                trusted = get_untrusted_types(data=skops_dumps(model))
                with mlflow.start_run(run_id=r.run_id):
                    info = mlflow.sklearn.log_model(model, name="model", signature=signature,
                                                    pip_requirements=self.requirements,
                                                    skops_trusted_types=trusted)
                uris[r.name] = info.model_uri
                self.models_logged += 1
            # log_model's end_run stamps "now"; the run's end is its training time after its start.
            self.client.set_terminated(r.run_id, "FINISHED", end_time=r.end_ms)
        return uris

    @staticmethod
    def best(runs: list[_Run], metric: str, k: int, higher: bool = True) -> list[_Run]:
        done = [r for r in runs if r.outcome is not None and r.outcome.model is not None
                and math.isfinite(r.outcome.metrics.get(metric, math.nan))]
        sign = -1 if higher else 1
        return sorted(done, key=lambda r: (sign * r.outcome.metrics[metric], r.name))[:k]

    def report(self, exp_name: str, t0: float) -> None:
        self.say(f"  {exp_name}: {self.run_counts[exp_name]} runs "
                 f"({self.failed_counts[exp_name]} failed) in {time.perf_counter() - t0:.1f} s")

    # -- fraud-detection ------------------------------------------------------------------------

    def seed_fraud(self) -> None:
        import mlflow.data
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        t0 = time.perf_counter()
        name = FRAUD_EXPERIMENT
        self.say(f"Training {name} (imbalanced classification) …")
        exp = self.experiment(name, "Card-transaction fraud scoring on an imbalanced synthetic set "
                                    "(~3% fraud). Pick models on eval F1 and ROC AUC.", "risk-ml")
        Xtr, Xev, ytr, yev = _fraud_data()
        datasets = _datasets(
            mlflow.data.from_pandas(Xtr.assign(is_fraud=ytr), targets="is_fraud", name="transactions-train"),
            mlflow.data.from_pandas(Xev.assign(is_fraud=yev), targets="is_fraud", name="transactions-eval"),
        )
        clock = _Clock(self.epoch + 10 * 86_400_000)  # newest: the experiment a newcomer sees first
        repo = "https://git.example.com/risk-ml/fraud-models"

        def tags(owner: str, stage: str, purpose: str, source: str, version: str, kind: str = "LOCAL") -> dict:
            return {"team": "risk-ml", "owner": owner, "stage": stage, "purpose": purpose,
                    "mlflow.user": owner, "mlflow.source.type": kind, "mlflow.source.name": source,
                    "mlflow.source.git.commit": _commit(repo, source, version),
                    "mlflow.source.git.repoURL": repo, "mlflow.source.git.branch": "main"}

        def scorer(model_factory):
            def fit() -> _Outcome:
                model = _serial(model_factory().fit(Xtr, ytr))
                return _Outcome(_classification_metrics(model, Xev, yev), model=model, example=Xev.head(20))
            return fit

        # Logistic regression baselines (one config asks lbfgs for an L1 penalty it cannot do).
        lr_runs = []
        lr_grid = [(c, cw) for cw in ("None", "balanced") for c in (0.001, 0.01, 0.1, 1.0, 10.0)]
        configs = [(c, cw, "l2") for c, cw in _subset(lr_grid, self.scale)] + [(1.0, "balanced", "l1")]
        for c, cw, penalty in configs:
            run_name = f"logreg-C{c:g}-{cw.lower()}" + ("-l1" if penalty == "l1" else "")
            params = {"model": "logistic_regression", "C": c, "class_weight": cw, "penalty": penalty,
                      "solver": "lbfgs", "max_iter": 500, "scaler": "standard"}

            def factory(c=c, cw=cw, penalty=penalty):
                kwargs = {"penalty": penalty} if penalty != "l2" else {}
                return make_pipeline(StandardScaler(), LogisticRegression(
                    C=c, class_weight=None if cw == "None" else cw, solver="lbfgs", max_iter=500, **kwargs))

            note = ("Baseline: scaled logistic regression. Anything we ship has to beat this."
                    if (c, cw, penalty) == (1.0, "balanced", "l2") else None)
            lr_runs.append(self.train(exp, name, run_name, clock, params,
                                      tags("alice", "exploration", "baseline", "train_fraud.py", "lr-v1"),
                                      datasets, scorer(factory), note=note))
        lr_models = self.finish(lr_runs, {r.name for r in self.best(lr_runs, "f1", 2)})

        # Random forest grid (one config asks for max_features > 1.0, which scikit-learn rejects).
        rf_grid = [(n, d, cw, leaf) for n in (30, 100) for d in (6, 12, None)
                   for cw in ("None", "balanced_subsample") for leaf in (1, 5)]
        rf_runs = []
        for n, d, cw, leaf, mf in [(*g, "sqrt") for g in _subset(rf_grid, self.scale)] + [(100, 12, "None", 1, 1.5)]:
            run_name = f"rf-n{n}-d{d or 'full'}-{'bal' if cw != 'None' else 'nobal'}-leaf{leaf}" + (
                f"-mf{mf}" if mf != "sqrt" else "")
            params = {"model": "random_forest", "n_estimators": n, "max_depth": d, "class_weight": cw,
                      "min_samples_leaf": leaf, "max_features": mf, "random_state": 42}

            def factory(n=n, d=d, cw=cw, leaf=leaf, mf=mf):
                return RandomForestClassifier(n_estimators=n, max_depth=d, min_samples_leaf=leaf, max_features=mf,
                                              class_weight=None if cw == "None" else cw, random_state=42, n_jobs=2)

            rf_runs.append(self.train(exp, name, run_name, clock, params,
                                      tags("bob", "exploration", "grid-search", "train_fraud.py", "rf-v2"),
                                      datasets, scorer(factory)))
        rf_models = self.finish(rf_runs, {r.name for r in self.best(rf_runs, "f1", 2)})

        # Gradient boosting: a nested sweep (parent run + one child per config), with per-stage
        # train/eval loss histories. One child asks for subsample > 1.0 and fails.
        gb_grid = [(lr, d, sub) for lr in (0.03, 0.1, 0.3) for d in (2, 3) for sub in (1.0, 0.7)]
        gb_configs = _subset(gb_grid, self.scale) + [(0.1, 3, 1.5)]
        gb_tags = tags("carol", "tuning", "hyperparameter-sweep", "sweeps/gbm_sweep.py", "gbm-v3", "JOB")
        parent, _ = self.start(exp, name, "gbm-sweep", clock,
                               {"model": "gradient_boosting", "search": "grid", "n_candidates": len(gb_configs),
                                "n_estimators": 80, "selection_metric": "f1"},
                               gb_tags, datasets,
                               note="Grid sweep over learning rate, depth and subsampling. Children hold "
                                    "per-stage train/eval log loss; the parent holds the best child's scores.")
        gb_runs = []
        for lr, d, sub in gb_configs:
            run_name = f"gbm-lr{lr:g}-d{d}-sub{sub:g}"
            params = {"model": "gradient_boosting", "learning_rate": lr, "max_depth": d, "subsample": sub,
                      "n_estimators": 80, "random_state": 42}

            def fit(lr=lr, d=d, sub=sub) -> _Outcome:
                model = GradientBoostingClassifier(n_estimators=80, learning_rate=lr, max_depth=d,
                                                   subsample=sub, random_state=42).fit(Xtr, ytr)
                metrics = _classification_metrics(model, Xev, yev)
                train_loss = [_log_loss(ytr, p[:, 1]) for p in model.staged_predict_proba(Xtr)]
                eval_loss = [_log_loss(yev, p[:, 1]) for p in model.staged_predict_proba(Xev)]
                return _Outcome(metrics, {"train_loss": train_loss, "eval_loss": eval_loss}, model, Xev.head(20))

            gb_runs.append(self.train(exp, name, run_name, clock, params, gb_tags, datasets, fit, parent=parent))
        gb_models = self.finish(gb_runs, {r.name for r in self.best(gb_runs, "f1", 2)})
        self._end_parent(parent, gb_runs, clock, "f1")

        # The champion is the runner-up forest, promoted by policy: the best forest has a logged
        # model but no version and no review yet, so the Champion page has a real challenger.
        self.register({**lr_models, **rf_models, **gb_models},
                      [self.best(lr_runs, "f1", 1), self.best(rf_runs, "f1", 2)[-1:], self.best(gb_runs, "f1", 1)])
        self.report(name, t0)

    def _end_parent(self, parent: str, children: list[_Run], clock: _Clock, metric: str) -> None:
        from mlflow.entities import Metric

        best = self.best(children, metric, 1)
        end = max([r.end_ms for r in children] + [clock.now])
        if best:
            self.client.log_batch(parent, metrics=[
                Metric(f"best_{k}", v, end, 0) for k, v in best[0].outcome.metrics.items()
                if k not in NONDETERMINISTIC_METRICS])
            self.client.set_tag(parent, "best_child", best[0].name)
        self.client.set_terminated(parent, "FINISHED", end_time=end)

    def register(self, model_uris: dict[str, str], picks: list[list[_Run]]) -> None:
        """Register one model per family (baseline, candidate, challenger), mark each run's review
        (``approved``/``approved``/``pending``), then promote the best approved run to champion.

        Args:
            model_uris: ``{run name: models:/ URI}`` of the logged models.
            picks: For each role in order, a list holding the run to register (or empty).
        """
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(
                DEMO_MODEL, tags={"team": "risk-ml", "task": "binary-classification"},
                description="Scores card transactions for fraud. Trained in the fraud-detection experiment.")
        except MlflowException as exc:
            if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                raise
        roles = [("baseline", "approved", "Logistic-regression baseline."),
                 ("candidate", "approved", "Random forest; validated on the eval set and promoted."),
                 ("challenger", "pending", "Gradient boosting from the gbm-sweep; awaiting review.")]
        for (role, validation, text), pick in zip(roles, picks):
            if not pick or pick[0].name not in model_uris:
                continue
            r = pick[0]
            source = model_uris[r.name]
            mv = self.client.create_model_version(
                DEMO_MODEL, source=source, run_id=r.run_id, description=f"{text} Run {r.name}.",
                tags={"role": role, "validation_status": validation, "family": r.name.split("-")[0]},
                model_id=source.removeprefix("models:/"))
            self.client.set_tag(r.run_id, "review", validation)
            self.versions.append(str(mv.version))
        self.champion_version = self.promote()

    def promote(self) -> str:
        """Put @champion on a version the way a team would: Podium's own promotion under a policy
        (best f1 among reviewed runs), so the Champion page's history shows a real audit trail."""
        from podium import champion

        policy = champion.ChampionPolicy("f1", "max", constraints=CHAMPION_CONSTRAINT)
        ranking = champion.evaluate(self.uri, [FRAUD_EXPERIMENT], policy, DEMO_MODEL, CHAMPION_ALIAS)
        plan = champion.plan_promotion(self.uri, ranking, DEMO_MODEL, CHAMPION_ALIAS, user="alice", create_model=False)
        result = champion.apply_promotion(self.uri, plan)
        return str(result.version) if result.version is not None else ""
        self.say(f"  registered {DEMO_MODEL}: versions {', '.join(self.versions)}; "
                 f"@{CHAMPION_ALIAS} -> version {self.champion_version}")

    # -- house-prices ---------------------------------------------------------------------------

    def seed_houses(self) -> None:
        import mlflow.data
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
        from sklearn.linear_model import ElasticNet, Lasso, Ridge
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        t0 = time.perf_counter()
        name = HOUSE_EXPERIMENT
        self.say(f"Training {name} (regression) …")
        exp = self.experiment(name, "Sale price (k$) from house features on a generated market. "
                                    "Lower RMSE is better.", "pricing")
        Xtr, Xev, ytr, yev = _house_data()
        datasets = _datasets(
            mlflow.data.from_pandas(Xtr.assign(price_k=ytr), targets="price_k", name="houses-train"),
            mlflow.data.from_pandas(Xev.assign(price_k=yev), targets="price_k", name="houses-eval"),
        )
        clock = _Clock(self.epoch + 4 * 86_400_000)
        repo = "https://git.example.com/pricing/house-prices"

        def tags(owner: str, purpose: str, version: str) -> dict:
            return {"team": "pricing", "owner": owner, "stage": "exploration", "purpose": purpose,
                    "mlflow.user": owner, "mlflow.source.type": "LOCAL", "mlflow.source.name": "train.py",
                    "mlflow.source.git.commit": _commit(repo, version),
                    "mlflow.source.git.repoURL": repo, "mlflow.source.git.branch": "main"}

        def scaled(est):
            return lambda: make_pipeline(StandardScaler(), est())

        # (run name, params, estimator factory, owner, staged history?)
        configs: list[tuple[str, dict, Callable, str, bool]] = []
        for a in _subset([0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], self.scale):
            configs.append((f"ridge-a{a:g}", {"model": "ridge", "alpha": a}, scaled(lambda a=a: Ridge(alpha=a)), "dmitri", False))
        for a in _subset([0.1, 1.0, 10.0, 100.0], self.scale) + [-1.0]:
            configs.append((f"lasso-a{a:g}", {"model": "lasso", "alpha": a},
                            scaled(lambda a=a: Lasso(alpha=a, max_iter=5000)), "dmitri", False))
        for a, l1 in _subset([(a, l1) for a in (0.1, 1.0) for l1 in (0.2, 0.5, 0.8)], self.scale):
            configs.append((f"enet-a{a:g}-l1r{l1:g}", {"model": "elastic_net", "alpha": a, "l1_ratio": l1},
                            scaled(lambda a=a, l1=l1: ElasticNet(alpha=a, l1_ratio=l1, max_iter=5000)), "dmitri", False))
        for k, w in _subset([(k, w) for k in (3, 5, 10, 20) for w in ("uniform", "distance")], self.scale) + [(5000, "uniform")]:
            configs.append((f"knn-k{k}-{w}", {"model": "knn", "n_neighbors": k, "weights": w},
                            scaled(lambda k=k, w=w: KNeighborsRegressor(n_neighbors=k, weights=w)), "erin", False))
        for n, d, mf in _subset([(n, d, mf) for n in (50, 100) for d in (8, None) for mf in (1.0, 0.5)], self.scale):
            configs.append((f"rf-n{n}-d{d or 'full'}-mf{mf:g}",
                            {"model": "random_forest", "n_estimators": n, "max_depth": d, "max_features": mf, "random_state": 7},
                            lambda n=n, d=d, mf=mf: RandomForestRegressor(n_estimators=n, max_depth=d, max_features=mf,
                                                                          random_state=7, n_jobs=2), "erin", False))
        for lr, d in _subset([(lr, d) for lr in (0.05, 0.1) for d in (2, 3, 4)], self.scale):
            configs.append((f"gbm-lr{lr:g}-d{d}",
                            {"model": "gradient_boosting", "learning_rate": lr, "max_depth": d, "n_estimators": 150, "random_state": 7},
                            lambda lr=lr, d=d: GradientBoostingRegressor(n_estimators=150, learning_rate=lr, max_depth=d,
                                                                         random_state=7), "erin", True))

        runs = []
        for run_name, params, factory, owner, staged in configs:
            def fit(factory=factory, staged=staged) -> _Outcome:
                model = _serial(factory().fit(Xtr, ytr))
                history = {}
                if staged:
                    history = {"train_rmse": [_rmse(ytr, p) for p in model.staged_predict(Xtr)],
                               "eval_rmse": [_rmse(yev, p) for p in model.staged_predict(Xev)]}
                return _Outcome(_regression_metrics(model, Xev, yev), history, model, Xev.head(20))

            purpose = "model-family-comparison" if params["model"] != "gradient_boosting" else "boosting-tuning"
            note = ("Boosted trees with per-stage train/eval RMSE; watch for the eval curve flattening."
                    if run_name == "gbm-lr0.1-d3" else None)
            runs.append(self.train(exp, name, run_name, clock, params, tags(owner, purpose, params["model"]),
                                   datasets, fit, note=note))

        # A small neural net trained epoch by epoch: train loss and eval RMSE per epoch.
        for hidden, lr in _subset([(h, lr) for h in ((32,), (64, 32)) for lr in (0.001, 0.01)], self.scale):
            run_name = f"mlp-{'x'.join(map(str, hidden))}-lr{lr:g}"
            params = {"model": "mlp", "hidden_layer_sizes": hidden, "learning_rate_init": lr,
                      "epochs": 40, "alpha": 0.0001, "random_state": 7}

            def fit(hidden=hidden, lr=lr) -> _Outcome:
                return _train_mlp(Xtr, Xev, ytr, yev, hidden, lr, epochs=40)

            runs.append(self.train(exp, name, run_name, clock, params, tags("erin", "neural-baseline", "mlp"), datasets, fit))
        self.finish(runs, {r.name for r in self.best(runs, "rmse", 2, higher=False)})
        self.report(name, t0)

    # -- wine-small-data ------------------------------------------------------------------------

    def seed_wine(self) -> None:
        import mlflow.data
        import numpy as np
        from sklearn.datasets import load_wine
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        t0 = time.perf_counter()
        name = WINE_EXPERIMENT
        self.say(f"Training {name} (repeated seeds on 178 samples) …")
        exp = self.experiment(name, "How much do scores move with the random seed on a tiny data set? "
                                    "Same config, seeds 0..24: read the spread, not the best run.", "research")
        wine = load_wine(as_frame=True)
        X, y = wine.data.astype("float64"), wine.target
        clock = _Clock(self.epoch)
        repo = "https://git.example.com/research/small-data"
        seeds = list(range(max(2, math.ceil(25 * self.scale))))
        # (run-name family, params.model as the other experiments spell it, hyperparameters, model)
        families = [
            ("logreg", "logistic_regression", {"C": 1.0},
             lambda s: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))),
            ("random-forest", "random_forest", {"n_estimators": 40},
             lambda s: RandomForestClassifier(n_estimators=40, random_state=s, n_jobs=1)),
            ("svc", "svc", {"C": 1.0, "kernel": "rbf"}, lambda s: make_pipeline(StandardScaler(), SVC(C=1.0, kernel="rbf"))),
        ]
        for family, model_name, hyper, factory in families:
            tags = {"team": "research", "owner": "farah", "stage": "study", "purpose": "seed-variance",
                    "mlflow.user": "farah", "mlflow.source.type": "LOCAL", "mlflow.source.name": "seed_study.py",
                    "mlflow.source.git.commit": _commit(repo, family), "mlflow.source.git.repoURL": repo,
                    "mlflow.source.git.branch": "main"}
            base = {"model": model_name, **hyper, "test_size": 0.3}
            parent, _ = self.start(exp, name, f"seed-study-{family}", clock, {**base, "n_seeds": len(seeds)}, tags, [],
                                   note=f"{family} with fixed hyperparameters over {len(seeds)} seeds; "
                                        "children hold one seed each, the parent the mean and spread.")
            runs = []
            for seed in seeds:
                Xtr, Xev, ytr, yev = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
                datasets = _datasets(
                    mlflow.data.from_numpy(Xtr.to_numpy(), targets=ytr.to_numpy(), name="wine-train"),
                    mlflow.data.from_numpy(Xev.to_numpy(), targets=yev.to_numpy(), name="wine-eval"),
                )

                def fit(seed=seed, Xtr=Xtr, Xev=Xev, ytr=ytr, yev=yev, factory=factory) -> _Outcome:
                    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

                    model = factory(seed).fit(Xtr, ytr)
                    pred = model.predict(Xev)
                    return _Outcome({"accuracy": accuracy_score(yev, pred),
                                     "balanced_accuracy": balanced_accuracy_score(yev, pred),
                                     "f1_macro": f1_score(yev, pred, average="macro"),
                                     "train_accuracy": accuracy_score(ytr, model.predict(Xtr))})

                runs.append(self.train(exp, name, f"{family}-seed{seed:02d}", clock, {**base, "seed": seed},
                                       tags, datasets, fit, parent=parent))
            self.finish(runs)
            from mlflow.entities import Metric

            end = max(r.end_ms for r in runs)
            done = [r.outcome.metrics for r in runs if r.outcome]
            summary = []
            for key in ("accuracy", "f1_macro"):
                values = np.array([m[key] for m in done])
                summary += [Metric(f"{key}_mean", float(values.mean()), end, 0),
                            Metric(f"{key}_std", float(values.std(ddof=1)), end, 0),
                            Metric(f"{key}_min", float(values.min()), end, 0),
                            Metric(f"{key}_max", float(values.max()), end, 0)]
            self.client.log_batch(parent, metrics=summary)
            self.client.set_terminated(parent, "FINISHED", end_time=end)
        self.report(name, t0)


# --------------------------------------------------------------------------------------------
# Data and metrics (pure functions of fixed seeds)


def _serial(model):
    """Predict on one thread: forests sum their trees' votes across threads in whatever order
    the threads finish, which changes the last bits of a score from one seed to the next."""
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=1)
    return model


def _datasets(train, evaluation) -> list:
    """MLflow dataset inputs for a train and an eval set, tagged with their context."""
    from mlflow.entities import DatasetInput, InputTag

    return [DatasetInput(train._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")]),
            DatasetInput(evaluation._to_mlflow_entity(), [InputTag("mlflow.data.context", "eval")])]


def _fraud_data():
    """Imbalanced transactions (~3% fraud), split 75/25 stratified."""
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=4000, n_features=20, n_informative=8, n_redundant=4,
                               weights=[0.97], flip_y=0.005, class_sep=1.0, random_state=7)
    # Anonymised components, as card-fraud data sets ship them.
    frame = pd.DataFrame(X, columns=[f"v{i:02d}" for i in range(1, 21)])
    return train_test_split(frame, pd.Series(y, name="is_fraud"), test_size=0.25, stratify=y, random_state=7)


def _house_data():
    """A generated housing market: prices (k$) from size, age, location and condition, with noise."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(11)
    n = 2000
    sqft = rng.lognormal(7.4, 0.35, n).round()
    bedrooms = np.clip(np.round(sqft / 600 + rng.normal(0, 0.8, n)), 1, 7)
    bathrooms = np.clip(np.round(bedrooms * 0.6 + rng.normal(0, 0.5, n)), 1, 5)
    age = rng.uniform(0, 90, n).round()
    lot_sqft = rng.lognormal(8.6, 0.5, n).round()
    distance_km = rng.gamma(2.0, 6.0, n).round(1)
    school_score = (rng.beta(4, 3, n) * 10).round(1)
    garage = rng.binomial(1, 0.6, n).astype(float)
    condition = rng.integers(1, 6, n).astype(float)
    price = (40 + 0.11 * sqft * (0.7 + 0.06 * school_score) + 12 * bathrooms + 6 * bedrooms
             - 1.6 * age + 0.015 * (age - 45) ** 2  # new and historic homes both sell at a premium
             + 0.9 * np.sqrt(lot_sqft) - 35 * np.log1p(distance_km) + 18 * garage + 9 * condition)
    price = (np.maximum(price, 30) * rng.lognormal(0, 0.12, n)).round(1)
    frame = pd.DataFrame({"sqft": sqft, "bedrooms": bedrooms, "bathrooms": bathrooms, "age": age,
                          "lot_sqft": lot_sqft, "distance_km": distance_km, "school_score": school_score,
                          "garage": garage, "condition": condition})
    return train_test_split(frame, pd.Series(price, name="price_k"), test_size=0.25, random_state=11)


def _latency_ms(predict, X) -> float:
    """Median wall time of scoring ``X`` (up to 1,000 rows) in milliseconds, over 3 tries."""
    import statistics

    batch = X[:1000]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        predict(batch)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _classification_metrics(model, X, y) -> dict[str, float]:
    from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, log_loss,
                                 precision_score, recall_score, roc_auc_score)

    proba = model.predict_proba(X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    return {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "roc_auc": roc_auc_score(y, proba),
        "pr_auc": average_precision_score(y, proba),
        "log_loss": log_loss(y, proba, labels=[0, 1]),
        "predict_latency_ms": _latency_ms(model.predict_proba, X),
    }


def _log_loss(y, proba) -> float:
    """Binary log loss, as scikit-learn computes it, without its per-call validation (80 stages x 13 runs)."""
    import numpy as np

    p = np.clip(np.asarray(proba, dtype=float), np.finfo(float).eps, 1 - np.finfo(float).eps)
    t = np.asarray(y, dtype=float)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))


def _rmse(y, pred) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(pred)) ** 2)))


def _regression_metrics(model, X, y) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, r2_score

    pred = model.predict(X)
    return {"rmse": _rmse(y, pred), "mae": mean_absolute_error(y, pred), "r2": r2_score(y, pred),
            "predict_latency_ms": _latency_ms(model.predict, X)}


def _train_mlp(Xtr, Xev, ytr, yev, hidden, lr, epochs: int) -> _Outcome:
    """An MLP regressor fitted one epoch at a time on scaled inputs and target."""
    import numpy as np
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    xs = StandardScaler().fit(Xtr)
    mu, sd = float(np.mean(ytr)), float(np.std(ytr))
    A, B = xs.transform(Xtr), xs.transform(Xev)
    target = (np.asarray(ytr) - mu) / sd
    net = MLPRegressor(hidden_layer_sizes=hidden, learning_rate_init=lr, alpha=0.0001, random_state=7)
    train_loss, eval_rmse = [], []
    for _ in range(epochs):
        net.partial_fit(A, target)
        train_loss.append(float(net.loss_))
        eval_rmse.append(_rmse(yev, net.predict(B) * sd + mu))

    class _Scored:  # the latency of the whole prediction path, scaling included
        @staticmethod
        def predict(X):
            return net.predict(xs.transform(X)) * sd + mu

    metrics = _regression_metrics(_Scored, Xev, yev)
    # Not logged as a model: the scaling lives outside the estimator.
    return _Outcome(metrics, {"train_loss": train_loss, "eval_rmse": eval_rmse})


if __name__ == "__main__":  # pragma: no cover - `python -m podium demo` is the entry point
    sys.exit("Use: python -m podium demo --tracking-uri URI")
