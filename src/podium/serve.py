"""``python -m podium serve``: open the app, seeding the demo store on a first run.

When no tracking URI is given (no ``--tracking-uri``, no ``MLFLOW_TRACKING_URI``) and MLflow's
default store ``sqlite:///mlflow.db`` holds no runs, the demo store is seeded first, so a
newcomer sees real runs. A store the user names is opened as it is and never written to.
Streamlit runs as a subprocess: the core itself never imports it.

Team mode (``--auth mlflow`` or ``PODIUM_AUTH=mlflow``) serves a team from one tracking server
with MLflow's basic-auth: each person signs in with their MLflow user, and every read and write
of their browser session goes to the server as them. Without it, Podium is a single user's tool
and listens on 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from podium.config import file_store_uri, is_file_store, redact_uri, resolve_tracking_uri, uri_scheme
from podium.errors import PodiumError

APP = Path(__file__).resolve().parents[2] / "app.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--no-seed", action="store_true", help="never seed the demo store")
    parser.add_argument("--host", default=None,
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--auth", choices=["none", "mlflow"], default=None,
                        help="mlflow: team mode, each user signs in with their MLflow credentials "
                             "(default: $PODIUM_AUTH, else none)")
    parser.add_argument("--lock-store", action="store_true",
                        help="no 'Change store' control: the app shows only the store it was started on")


def user_named_store(args: argparse.Namespace) -> bool:
    return bool(args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "").strip())


def absolute_sqlite_uri(uri: str) -> str:
    """``sqlite:///mlflow.db`` relative to where the command ran, so the app (started in the
    project folder) opens the very file that was seeded."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/") and ":memory:" not in uri:
        return prefix + str(Path(uri[len(prefix):]).resolve())
    return uri


def auth_mode(args: argparse.Namespace) -> str:
    mode = (args.auth or os.environ.get("PODIUM_AUTH", "") or "none").strip().lower()
    if mode not in ("none", "mlflow"):
        raise PodiumError(f"Unknown auth mode {mode!r}: use --auth mlflow (team mode) or none.")
    return mode


def run(args: argparse.Namespace) -> int:
    from podium import store

    uri = absolute_sqlite_uri(resolve_tracking_uri(args.tracking_uri))
    mode = auth_mode(args)
    host = args.host or "127.0.0.1"
    if mode == "mlflow":
        if uri_scheme(uri) not in ("http", "https"):
            raise PodiumError(
                f"--auth mlflow needs a tracking server (http:// or https://), not {redact_uri(uri)}: "
                "only the server applies MLflow's permissions."
            )
        if "@" in uri.split("://", 1)[1].split("/", 1)[0]:
            raise PodiumError("--auth mlflow: the tracking URI must not carry credentials; each user signs in.")
        uri = uri.rstrip("/")
    else:
        store.target(uri)  # an unknown scheme is one clear line here, not a page error later
        if is_file_store(uri):
            uri = file_store_uri(uri)  # ./mlruns where the command ran, not where the app lives
    if mode == "none" and not user_named_store(args) and not args.no_seed and store.store_is_empty(uri):
        from podium.demo import seed_demo

        print(f"The default store {uri} is empty: seeding the demo store of real training runs…", flush=True)
        seed_demo(uri)
    shown = "localhost" if host in ("127.0.0.1", "localhost", "::1") else host
    team = " (team mode: sign in with your MLflow user)" if mode == "mlflow" else ""
    print(f"Podium on {redact_uri(uri)}{team}: open http://{shown}:{args.port}", flush=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PODIUM_AUTH": mode, "PODIUM_HOST": host,
           "PODIUM_LOCK_STORE": "1" if args.lock_store else ""}
    if mode == "mlflow":
        # Team mode never acts as the server's own MLflow user: every request carries the
        # signed-in user's credentials, so the process keeps none.
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            env.pop(key, None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(args.port),
           "--server.address", host, "--server.headless", "true"]
    try:
        return subprocess.call(cmd, env=env, cwd=APP.parent)
    except KeyboardInterrupt:
        return 0
