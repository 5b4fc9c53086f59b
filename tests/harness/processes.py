"""Processes tests talk to: free ports, health-checked subprocesses and a real ``mlflow server``."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def healthy_subprocess(name: str, cmd: list[str], health_url: str, log_path: Path, env: dict,
                       timeout_s: float = 90, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` logging to ``log_path``, wait until ``health_url`` answers OK, stop it afterwards."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{log_path.read_text()[-3000:]}")
            try:
                if requests.get(health_url, timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"{name} did not become healthy in {timeout_s:g} s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


#: The environment of every ``mlflow server`` the tests start. MLflow 3 starts a job runner
#: beside the server by default (eight more processes importing MLflow, for GenAI evaluation jobs
#: and trace roll-ups that Podium never calls); it doubles a server's start on two cores and slows
#: its stop, so the tests turn it off with MLflow's own switch. The REST API is the same.
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


@contextlib.contextmanager
def mlflow_server(backend_uri: str, artifacts: Path) -> Iterator[str]:
    """A real ``mlflow server`` subprocess on a free port, serving ``backend_uri``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
           "--default-artifact-root", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]
    with healthy_subprocess("mlflow server", cmd, url + "/health", artifacts.parent / f"mlflow-server-{port}.log",
                            {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", **MLFLOW_SERVER_ENV}):
        yield url
