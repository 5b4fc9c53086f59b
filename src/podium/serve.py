"""``python -m podium serve``: open the app, seeding the demo store on a first run.

When no tracking URI is given (no ``--tracking-uri``, no ``MLFLOW_TRACKING_URI``) and MLflow's
default store ``sqlite:///mlflow.db`` holds no runs, the demo store is seeded first, so a
newcomer sees real runs. A store the user names is opened as it is and never written to.
Streamlit runs as a subprocess: the core itself never imports it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from podium.config import redact_uri, resolve_tracking_uri

APP = Path(__file__).resolve().parents[2] / "app.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--no-seed", action="store_true", help="never seed the demo store")


def user_named_store(args: argparse.Namespace) -> bool:
    return bool(args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "").strip())


def absolute_sqlite_uri(uri: str) -> str:
    """``sqlite:///mlflow.db`` relative to where the command ran, so the app (started in the
    project folder) opens the very file that was seeded."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/") and ":memory:" not in uri:
        return prefix + str(Path(uri[len(prefix):]).resolve())
    return uri


def run(args: argparse.Namespace) -> int:
    from podium import store

    uri = absolute_sqlite_uri(resolve_tracking_uri(args.tracking_uri))
    if not user_named_store(args) and not args.no_seed and store.store_is_empty(uri):
        from podium.demo import seed_demo

        print(f"The default store {uri} is empty: seeding the demo store of real training runs…", flush=True)
        seed_demo(uri)
    print(f"Podium on {redact_uri(uri)}: open http://localhost:{args.port}", flush=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(args.port),
           "--server.headless", "true"]
    try:
        return subprocess.call(cmd, env=env, cwd=APP.parent)
    except KeyboardInterrupt:
        return 0
