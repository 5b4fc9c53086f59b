"""The team stack of deploy/compose.yaml as plain processes (this machine has no container runtime).

- ``team_backend``: two fresh PostgreSQL databases (tracking + auth), MLflow's basic-auth
  ``mlflow server`` on them serving artifacts, with an admin user created from the ini file.
- ``create_user`` / ``grant`` / ``create_model``: MLflow's own user, permission and registry API,
  as an admin runs it.
- ``seed_team_store``: experiments, runs and logged models written through the server as admin.
- ``Replica`` / ``replicas``: ``python -m podium serve`` processes (team mode when the CLI has
  ``--auth``), each in its own process group so a kill takes its Streamlit child too.
- ``nginx_proxy``: Debian's nginx in the foreground with deploy/nginx.conf, upstreams filled in.

Used by tests/test_deploy.py and bench/load_proxy.py. Run as a script (``seed URL``) it seeds a
store in a separate process, so the tests never touch their own process's MLflow environment.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.databases import postgres_database  # noqa: E402
from harness.processes import MLFLOW_SERVER_ENV, free_port, healthy_subprocess  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-0123"   # MLflow wants 12 characters at least
SECRET_KEY = "podium-test-flask-secret"
EXPERIMENTS = ("team-alpha", "team-beta")
MODEL = "team-model"
# The environment of processes the harness starts: no credentials or store of the caller's.
_DROP = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
         "MLFLOW_TRACKING_TOKEN", "PODIUM_AUTH", "MLFLOW_AUTH_CONFIG_PATH")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", **extra)
    return env


@dataclass
class Backend:
    url: str                # the basic-auth tracking server
    tracking_db: str        # its PostgreSQL databases (credential-free local URIs)
    auth_db: str
    log: Path
    users: dict[str, str] = field(default_factory=dict)   # username -> password

    def admin(self) -> tuple[str, str]:
        return ADMIN, ADMIN_PASSWORD


@contextlib.contextmanager
def team_backend(base: Path, workers: int = 2, auth_cache_s: int = 0, job_runner: bool = True) -> Iterator[Backend]:
    """PostgreSQL tracking + auth databases and ``mlflow server --app-name basic-auth`` on them,
    configured as deploy/compose.yaml configures it (ini file, shared Flask secret, served artifacts).

    ``auth_cache_s`` > 0 sets MLflow's own ``auth_cache_ttl_seconds`` (docs/deploy.md names it as
    the operator's remedy for the password check's cost): a verified username and password pair is
    not hashed again in that worker for that long. Wrong passwords are checked every time.
    ``job_runner=False`` turns off MLflow's job runner (``harness.processes.MLFLOW_SERVER_ENV``).
    The tests use both (no test changes a password; every request still carries and needs
    credentials); the load benchmark uses neither, so its numbers are those of the shipped setup."""
    base.mkdir(parents=True, exist_ok=True)
    with postgres_database(migrated=True) as tracking_db, postgres_database() as auth_db:
        ini = base / "basic_auth.ini"
        ini.write_text("[mlflow]\n"
                       "default_permission = NO_PERMISSIONS\n"
                       f"database_uri = {auth_db}\n"
                       f"admin_username = {ADMIN}\n"
                       f"admin_password = {ADMIN_PASSWORD}\n"
                       "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                       + (f"auth_cache_ttl_seconds = {auth_cache_s}\n" if auth_cache_s > 0 else ""))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
               "--backend-store-uri", tracking_db, "--serve-artifacts",
               "--artifacts-destination", str(base / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        env = clean_env(MLFLOW_AUTH_CONFIG_PATH=str(ini), MLFLOW_FLASK_SERVER_SECRET_KEY=SECRET_KEY,
                        **({} if job_runner else MLFLOW_SERVER_ENV))
        log = base / f"mlflow-auth-{port}.log"
        with healthy_subprocess("mlflow basic-auth server", cmd, url + "/health", log, env,
                                timeout_s=120, cwd=base):
            yield Backend(url, tracking_db, auth_db, log)


def _admin_post(backend: Backend, path: str, payload: dict) -> dict:
    r = requests.post(backend.url + path, json=payload, auth=backend.admin(), timeout=30)
    if not r.ok:
        raise RuntimeError(f"POST {path} -> {r.status_code}: {r.text[:300]}")
    return r.json() if r.content else {}


def create_user(backend: Backend, username: str, password: str) -> None:
    """``POST /api/2.0/mlflow/users/create`` as the admin (the curl in docs/deploy.md)."""
    _admin_post(backend, "/api/2.0/mlflow/users/create", {"username": username, "password": password})
    backend.users[username] = password


def grant(backend: Backend, username: str, resource_type: str, resource_id: str, permission: str) -> None:
    """``POST /api/3.0/mlflow/users/permissions/grant``: resource_type ``experiment`` (an id) or
    ``registered_model`` (a name); permission READ, USE, EDIT or MANAGE."""
    _admin_post(backend, "/api/3.0/mlflow/users/permissions/grant",
                {"username": username, "resource_type": resource_type, "resource_id": resource_id,
                 "permission": permission})


def create_model(backend: Backend, name: str) -> None:
    """``POST /api/2.0/mlflow/registered-models/create`` as the admin: a model with no version yet."""
    _admin_post(backend, "/api/2.0/mlflow/registered-models/create", {"name": name})


def experiment_id(backend: Backend, name: str) -> str:
    r = requests.get(backend.url + "/api/2.0/mlflow/experiments/get-by-name",
                     params={"experiment_name": name}, auth=backend.admin(), timeout=30)
    r.raise_for_status()
    return r.json()["experiment"]["experiment_id"]


def model_alias(backend: Backend, name: str, alias: str, auth: tuple[str, str] | None = None) -> dict | None:
    """The version behind ``name@alias`` (as the admin unless ``auth``), or None."""
    r = requests.get(backend.url + "/api/2.0/mlflow/registered-models/alias",
                     params={"name": name, "alias": alias}, auth=auth or backend.admin(), timeout=30)
    # MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE "... alias X not found."
    if r.status_code in (400, 404) and "not found" in r.text:
        return None
    r.raise_for_status()
    return r.json()["model_version"]


def seed_team_store(backend: Backend, models: bool = True) -> None:
    """Write the team data through the server as admin, in a separate process (``models=False``:
    runs only, no logged models, for the load test)."""
    env = clean_env(MLFLOW_TRACKING_USERNAME=ADMIN, MLFLOW_TRACKING_PASSWORD=ADMIN_PASSWORD)
    subprocess.run([sys.executable, __file__, "seed" if models else "seed-runs", backend.url], env=env,
                   check=True, cwd=ROOT, timeout=600, stdout=subprocess.DEVNULL)


def _seed(url: str, models: bool = True) -> None:
    """Two experiments of four runs each (params, metrics with histories; a logged sklearn model
    on the two best runs of the first),
    and ``MODEL`` registered from no run yet: promoting it is the test's job."""
    import warnings

    import mlflow
    import mlflow.sklearn
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    mlflow.set_tracking_uri(url)
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    for e, name in enumerate(EXPERIMENTS):
        exp = mlflow.set_experiment(name)
        for i in range(4):
            with mlflow.start_run(experiment_id=exp.experiment_id, run_name=f"{name}-run-{i}"):
                mlflow.log_params({"C": str(0.1 * (i + 1)), "solver": "lbfgs" if i % 2 else "liblinear"})
                for step in range(3):
                    mlflow.log_metric("f1", 0.5 + 0.1 * i + 0.01 * step + 0.001 * e, step=step)
                    mlflow.log_metric("loss", 1.0 - 0.1 * i - 0.01 * step, step=step)
                mlflow.set_tag("review", "approved")
                if models and name == EXPERIMENTS[0] and i >= 2:  # the two best runs carry models to promote;
                    # requirements given, not inferred (slow); fewer models, a faster seed
                    mlflow.sklearn.log_model(LogisticRegression(C=0.1 * (i + 1)).fit(X, y), name="model",
                                             pip_requirements=["scikit-learn"])
    MlflowClient(url).create_registered_model(MODEL)


@dataclass
class Replica:
    """One ``python -m podium serve`` process group on a loopback port."""
    port: int
    log: Path
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group (the CLI and its Streamlit child): a crashed replica."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@functools.cache
def serve_flags() -> set[str]:
    """The flags ``python -m podium serve`` has today (team mode adds --auth and --host); asked once
    per process."""
    out = subprocess.run([sys.executable, "-m", "podium", "serve", "--help"], capture_output=True,
                         text=True, cwd=ROOT, env=clean_env(), check=True).stdout
    return set(re.findall(r"(--[a-z][a-z-]+)", out))


def team_mode_available() -> bool:
    return "--auth" in serve_flags()


def launch_replica(tracking_uri: str, base: Path, team: bool, env_extra: dict | None = None) -> Replica:
    """Start one replica (team mode: ``--auth mlflow``) without waiting for it (:func:`wait_healthy`)."""
    port = free_port()
    flags = serve_flags()
    cmd = [sys.executable, "-m", "podium", "serve", "--tracking-uri", tracking_uri, "--port", str(port),
           "--no-seed"]
    if "--host" in flags:
        cmd += ["--host", "127.0.0.1"]
    if team:
        cmd += ["--auth", "mlflow"]
    log = base / f"podium-{port}.log"
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                            env=clean_env(**(env_extra or {})), start_new_session=True)
    out.close()
    return Replica(port, log, proc)


def wait_healthy(replica: Replica, timeout_s: float = 90) -> Replica:
    """Wait for the replica's ``/_stcore/health``; stop it and raise if it exits or never answers."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not replica.alive():
            raise RuntimeError(f"podium replica exited:\n{replica.log.read_text()[-3000:]}")
        try:
            if requests.get(replica.url + "/_stcore/health", timeout=1).ok:
                return replica
        except requests.RequestException:
            pass
        time.sleep(0.3)
    replica.stop()
    raise RuntimeError(f"podium replica did not become healthy in {timeout_s:g} s:\n{replica.log.read_text()[-2000:]}")


def start_replica(tracking_uri: str, base: Path, team: bool, env_extra: dict | None = None,
                  timeout_s: float = 90) -> Replica:
    """Start one replica (team mode: ``--auth mlflow``) and wait for ``/_stcore/health``."""
    return wait_healthy(launch_replica(tracking_uri, base, team, env_extra), timeout_s)


@contextlib.contextmanager
def replicas(tracking_uri: str, base: Path, n: int = 2, team: bool = True,
             env_extra: dict | None = None) -> Iterator[list[Replica]]:
    """``n`` replicas, started side by side (their imports overlap) and each waited for."""
    started: list[Replica] = []
    try:
        for _ in range(n):
            started.append(launch_replica(tracking_uri, base, team, env_extra))
        for r in started:
            wait_healthy(r)
        yield started
    finally:
        for r in started:
            r.stop()


def render_nginx_conf(upstreams: list[str], listen: str, tmp: Path, conf: Path = NGINX_CONF) -> str:
    """deploy/nginx.conf with its upstream servers replaced, listening on ``listen`` and keeping
    its temporary files under ``tmp`` (Debian's defaults are under /var/lib/nginx)."""
    text = conf.read_text()
    servers = "".join(f"        server {u} max_fails=1 fail_timeout=10s;\n" for u in upstreams)
    text, n = re.subn(r"(# BEGIN UPSTREAMS[^\n]*\n)(.*?)(\s*# END UPSTREAMS)",
                      lambda m: m.group(1) + servers.rstrip("\n") + m.group(3), text, flags=re.S)
    if n != 1:
        raise ValueError("deploy/nginx.conf must have one BEGIN UPSTREAMS ... END UPSTREAMS block")
    text, n = re.subn(r"listen\s+8080;", f"listen {listen};", text)
    if n != 1:
        raise ValueError("deploy/nginx.conf must listen on 8080 once")
    temp = "".join(f"    {kind}_temp_path {tmp / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return text.replace("http {\n", "http {\n" + temp, 1)


@dataclass
class Proxy:
    url: str
    log: Path
    proc: subprocess.Popen

    def access_lines(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if "upstream=" in line]

    def lines_for(self, sticky: str, needle: str = "", wait_s: float = 30, since: int = 0) -> list[str]:
        """Access log lines of this sticky key (from line ``since`` on), once one containing
        ``needle`` is there (nginx logs a request when it ends: a websocket when its page closed)."""
        deadline = time.time() + wait_s
        while True:
            lines = [ln for ln in self.access_lines()[since:] if f"sticky={sticky} " in ln]
            if any(needle in ln for ln in lines) or time.time() > deadline:
                return lines
            time.sleep(0.1)

    def upstreams_for(self, sticky: str, wait_s: float = 10) -> set[str]:
        """Which replicas served the requests carrying this sticky key (nginx writes a request's
        log line as it finishes, so a line just answered may still be on its way)."""
        deadline = time.time() + wait_s
        while not (found := self._upstreams_for(sticky)) and time.time() < deadline:
            time.sleep(0.05)
        return found

    def _upstreams_for(self, sticky: str) -> set[str]:
        found = set()
        for line in self.access_lines():
            m = re.search(r"sticky=(\S+) upstream=(\S+)", line)
            if m and m.group(1) == sticky:
                found.update(a.strip() for a in m.group(2).split(",") if a.strip() not in ("", "-"))
        return found


@contextlib.contextmanager
def nginx_proxy(upstreams: list[str], base: Path) -> Iterator[Proxy]:
    """Debian's nginx as a foreground process (no root needed, nothing outside ``base``)."""
    tmp = base / "nginx"
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(render_nginx_conf(upstreams, f"127.0.0.1:{port}", tmp))
    log = tmp / "nginx.log"
    global_directives = f"daemon off; pid {tmp / 'nginx.pid'};"
    test = subprocess.run([NGINX, "-t", "-q", "-p", str(tmp), "-c", str(conf), "-g", global_directives],
                          capture_output=True, text=True)
    if test.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{test.stderr}")
    with healthy_subprocess("nginx", [NGINX, "-p", str(tmp), "-c", str(conf), "-g", global_directives],
                            f"http://127.0.0.1:{port}/proxy-health", log, clean_env(), timeout_s=30) as proc:
        yield Proxy(f"http://127.0.0.1:{port}", log, proc)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("seed", "seed-runs"):
        _seed(sys.argv[2], models=sys.argv[1] == "seed")
    else:
        sys.exit("usage: harness_deploy.py seed|seed-runs TRACKING_URL")
