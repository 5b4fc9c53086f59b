"""Build (and cache) MLflow stores with many runs for the benchmarks.

MLflow itself creates each store's schema (``MlflowClient.create_experiment`` runs its
migrations), then the runs are bulk-inserted into MLflow's tables with SQLAlchemy Core in the
shape MLflow writes them: per run ~10 params, 8 metrics (a few NaN and ±inf) with their
``latest_metrics`` rows, 6 team tags plus the ``mlflow.*`` tags ``mlflow.start_run`` sets; a
few FAILED and RUNNING runs. Logging 50,000 runs through the client would take an hour here;
inserting takes seconds, and ``mlflow.search_runs`` reads the result like any other store.

SQLite stores are cached as files under ``bench/.cache/``; PostgreSQL and MariaDB stores as
databases ``podium_bench_<n>`` on the local servers (reused when complete).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa

CACHE = Path(__file__).resolve().parent / ".cache"
EXPERIMENT = "bench-sweep"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"

MODELS = ["rf", "gbm", "logreg", "svm", "mlp"]
OPTIMIZERS = ["adam", "sgd", "adamw"]
TEAMS = ["risk", "fraud", "vision", "ops"]


def _runs(n: int, experiment_id: int, artifact_root: str, seed: int = 0):
    """Yield (run row, params, metrics, tags) for ``n`` synthetic sweep runs."""
    rng = random.Random(seed)
    t0 = 1_700_000_000_000
    for i in range(n):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        start = t0 + i * 60_000 + rng.randrange(1000)
        status = "FAILED" if i % 97 == 0 else ("RUNNING" if i % 499 == 0 else "FINISHED")
        end = None if status == "RUNNING" else start + rng.randrange(5_000, 900_000)
        name = f"sweep-{i:05d}-{rng.choice(MODELS)}"
        run = {
            "run_uuid": run_id, "name": name, "source_type": "LOCAL", "source_name": "train.py",
            "entry_point_name": "", "user_id": rng.choice(["alice", "bob", "carol"]), "status": status,
            "start_time": start, "end_time": end, "source_version": "", "lifecycle_stage": "active",
            "artifact_uri": f"{artifact_root}/{experiment_id}/{run_id}/artifacts", "experiment_id": experiment_id,
            "deleted_time": None,
        }
        params = {
            "model": rng.choice(MODELS), "optimizer": rng.choice(OPTIMIZERS),
            "lr": f"{10 ** rng.uniform(-4, -1):.6g}", "batch_size": str(rng.choice([16, 32, 64, 128])),
            "n_estimators": str(rng.randrange(50, 1000)), "max_depth": str(rng.randrange(2, 20)),
            "dropout": f"{rng.uniform(0, 0.5):.3f}", "seed": str(rng.randrange(10_000)),
            "weight_decay": f"{10 ** rng.uniform(-6, -2):.3g}",
        }
        if i % 7:  # a param some runs lack
            params["warmup_steps"] = str(rng.randrange(0, 2000))
        acc = rng.uniform(0.5, 0.99)
        metrics = {
            "accuracy": acc, "precision": rng.uniform(0.4, 1), "recall": rng.uniform(0.3, 1),
            "f1": rng.uniform(0.3, 0.95), "roc_auc": rng.uniform(0.5, 1), "loss": rng.uniform(0.01, 3),
            "val_loss": rng.uniform(0.01, 3), "latency_ms": rng.uniform(1, 200),
        }
        if i % 53 == 0:
            metrics["loss"] = math.nan
        if i % 211 == 0:
            metrics["val_loss"] = math.inf
        tags = {
            "team": rng.choice(TEAMS), "stage": rng.choice(["dev", "staging", "prod"]),
            "dataset_version": f"v{rng.randrange(1, 6)}", "owner": rng.choice(["alice", "bob", "carol"]),
            "sweep_id": f"sweep-{i // 500}", "note": rng.choice(["baseline", "tuned", "ablation ✓", "<b>html</b>"]),
            "mlflow.runName": name, "mlflow.user": run["user_id"], "mlflow.source.name": "train.py",
            "mlflow.source.type": "LOCAL", "mlflow.source.git.commit": f"{rng.getrandbits(160):040x}",
        }
        yield run, params, metrics, tags


def _sanitize(value: float) -> tuple[float, bool]:
    # What SqlAlchemyStore.sanitize_metric_value stores.
    if math.isnan(value):
        return 0.0, True
    if math.isinf(value):
        return (1.7976931348623157e308 if value > 0 else -1.7976931348623157e308), False
    return value, False


def populate(uri: str, n: int, seed: int = 0, chunk: int = 2000) -> None:
    """Create the schema with MLflow, then insert ``n`` runs into experiment ``EXPERIMENT``."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = int(client.create_experiment(EXPERIMENT))
    artifact_root = client.get_experiment(str(experiment_id)).artifact_location.rsplit("/", 1)[0]
    engine = sa.create_engine(uri)
    meta = sa.MetaData()
    tables = {t: sa.Table(t, meta, autoload_with=engine) for t in ("runs", "params", "tags", "metrics", "latest_metrics")}
    batches: dict[str, list] = {t: [] for t in tables}

    def flush(conn):
        for name in ("runs", "params", "tags", "metrics", "latest_metrics"):
            if batches[name]:
                conn.execute(tables[name].insert(), batches[name])
                batches[name] = []

    with engine.begin() as conn:
        for i, (run, params, metrics, tags) in enumerate(_runs(n, experiment_id, artifact_root, seed)):
            rid = run["run_uuid"]
            batches["runs"].append(run)
            batches["params"].extend({"key": k, "value": v, "run_uuid": rid} for k, v in params.items())
            batches["tags"].extend({"key": k, "value": v, "run_uuid": rid} for k, v in tags.items())
            for k, v in metrics.items():
                value, is_nan = _sanitize(v)
                row = {"key": k, "value": value, "timestamp": run["start_time"], "step": 0, "is_nan": is_nan, "run_uuid": rid}
                batches["metrics"].append(row)
                batches["latest_metrics"].append(dict(row))
            if (i + 1) % chunk == 0:
                flush(conn)
        flush(conn)
    engine.dispose()


def _count_runs(uri: str) -> int:
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("runs"):
                return -1
            return conn.execute(sa.text("SELECT COUNT(*) FROM runs")).scalar()
    except sa.exc.OperationalError:
        return -1
    finally:
        engine.dispose()


def sqlite_store(n: int) -> str:
    """A cached SQLite store with ``n`` runs: its tracking URI."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"sqlite-{n}.db"
    if not path.exists():
        tmp = CACHE / f"sqlite-{n}.building.db"
        tmp.unlink(missing_ok=True)
        populate(f"sqlite:///{tmp}", n)
        tmp.rename(path)
    return f"sqlite:///{path}"


def sqlite_copy(n: int, name: str) -> str:
    """A private copy of the cached SQLite store (for a server that may touch its file)."""
    src = Path(sqlite_store(n).removeprefix("sqlite:///"))
    dst = CACHE / f"{name}-{n}.db"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


def server_store(kind: str, n: int) -> str:
    """A PostgreSQL (``postgresql``) or MariaDB (``mysql``) store with ``n`` runs, reused when complete."""
    name = f"podium_bench_{n}"
    if kind == "postgresql":
        admin_uri, uri = PG_ADMIN, f"postgresql://postgres@127.0.0.1:5432/{name}"
        create, drop = f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    else:
        admin_uri, uri = MYSQL_ADMIN, f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    if _count_runs(uri) == n:
        return uri
    admin = sa.create_engine(admin_uri, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(drop))
        conn.execute(sa.text(create))
    admin.dispose()
    populate(uri, n)
    return uri


if __name__ == "__main__":
    import sys
    import time

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    for arg in sys.argv[1:] or ["sqlite:10000"]:
        kind, n = arg.split(":")
        t = time.perf_counter()
        uri = sqlite_store(int(n)) if kind == "sqlite" else server_store(kind, int(n))
        print(f"{kind} {n}: {uri} ({time.perf_counter() - t:.1f} s)")
