"""Demo stores seeded by the real seeder in a background process, while other tests run.

Seeding trains real scikit-learn models (about a minute for the full demo). conftest starts the
seeds the selected tests need as soon as collection ends, so the training overlaps the tests that
come first; the fixture that needs a store waits for its seed.

``make test`` runs the suite in two pytest-xdist workers. Each seed is trained once per test run,
not once per worker: every worker calls :func:`shared_seed` on the same folder (``SEEDS_ENV``, made
by the process that starts the run, removed when it ends); the worker that creates the seed's
folder first starts the training, the other waits for the result file in it.

The process reports what :func:`podium.demo.seed_demo` returned, what it printed and MLflow's
process-wide state before and after, so tests check exactly what they checked in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from harness.databases import fresh_sqlite

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

#: The environment variable naming the folder the run's seeds are trained into.
SEEDS_ENV = "PODIUM_TEST_SEEDS"

#: How long a worker waits for a seed another worker trains (the full demo takes about a minute).
WAIT_S = 20 * 60

_SCRIPT = r"""
import json, os, sys, traceback
sys.path[:0] = [sys.argv[3], sys.argv[4]]
out = sys.argv[5]
try:
    from dataclasses import asdict
    from harness.data import global_mlflow_state
    from podium.demo import seed_demo

    progress = []
    before = global_mlflow_state()
    summary = seed_demo(sys.argv[1], progress=progress.append, scale=float(sys.argv[2]))
    data = {"summary": asdict(summary), "progress": progress, "state_before": before,
            "state_after": global_mlflow_state()}
    with open(out + ".part", "w") as f:
        json.dump(data, f)
    os.replace(out + ".part", out)
except BaseException:
    with open(out + ".failed", "w") as f:
        f.write(traceback.format_exc())
    raise
"""


def start_run_folder() -> Path | None:
    """Make the run's seed folder and name it in the environment the workers inherit, unless this
    process is an xdist worker (its controller did). Returns the folder this process must remove."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    folder = Path(tempfile.mkdtemp(prefix="podium-seeds-"))
    os.environ[SEEDS_ENV] = str(folder)
    return folder


def shared_seed(name: str, scale: float) -> "BackgroundSeed":
    """The run's seed ``name`` at ``scale``: started here if no other worker has started it."""
    folder = Path(os.environ[SEEDS_ENV]) / name  # start_run_folder named it at pytest_configure
    try:
        folder.mkdir()
    except FileExistsError:
        return BackgroundSeed(folder, scale, train=False)
    return BackgroundSeed(folder, scale, train=True)


class BackgroundSeed:
    """``seed_demo(uri, scale=scale)`` into a SQLite store in ``folder``: trained by a subprocess of
    this process (``train``) or of another worker, whose result file this one waits for."""

    def __init__(self, folder: Path, scale: float, train: bool = True):
        self.folder = folder
        self.scale = scale
        self._out = folder / "seed.json"
        self._failed = folder / "seed.json.failed"
        self._log = folder / "seed.log"
        self.proc: subprocess.Popen | None = None
        self._result: SimpleNamespace | None = None
        if not train:
            self.uri = f"sqlite:///{folder / 'mlflow.db'}"
            return
        self.uri = fresh_sqlite(folder / "mlflow.db")
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        env.pop("MLFLOW_TRACKING_URI", None)
        with open(self._log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SCRIPT, self.uri, repr(scale), str(ROOT / "src"), str(TESTS),
                 str(self._out)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def _failure(self, why: str) -> RuntimeError:
        log = self._log.read_text()[-4000:] if self._log.exists() else ""
        return RuntimeError(f"Seeding the demo (scale {self.scale:g}) {why}:\n{log}")

    def result(self) -> SimpleNamespace:
        """Wait for the seed; ``uri``, ``summary`` (a DemoSummary), ``progress``, ``state_before``,
        ``state_after`` and ``scale``. Raises RuntimeError with the process's output if it failed."""
        if self._result is None:
            from podium.demo import DemoSummary

            deadline = time.monotonic() + WAIT_S
            while not self._out.exists():
                if self._failed.exists():
                    raise self._failure("failed")
                if self.proc is not None and self.proc.poll() is not None and not self._out.exists():
                    raise self._failure(f"failed with exit code {self.proc.returncode}")
                if time.monotonic() > deadline:
                    raise self._failure(f"gave no result in {WAIT_S} s")
                time.sleep(0.3)
            data = json.loads(self._out.read_text())
            summary = DemoSummary(**{**data["summary"], "versions": tuple(data["summary"]["versions"])})
            self._result = SimpleNamespace(uri=self.uri, summary=summary, progress=data["progress"],
                                           state_before=tuple(data["state_before"]),
                                           state_after=tuple(data["state_after"]), scale=self.scale)
        return self._result

    def stop(self, interrupted: bool = False) -> None:
        """At the end of this process's tests: let a training this process started finish (another
        worker may still wait for it), or end it when the run was interrupted."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if not interrupted:
            try:
                self.proc.wait(WAIT_S)
                return
            except subprocess.TimeoutExpired:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def remove_run_folder(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
