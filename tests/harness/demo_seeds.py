"""Demo stores seeded by the real seeder in a background process, while other tests run.

Seeding trains real scikit-learn models (about a minute for the full demo). conftest starts the
seeds the selected tests need as soon as collection ends, so the training runs on the second
core beside the tests that come first; the fixture that needs a store waits for its seed.
The process reports what :func:`podium.demo.seed_demo` returned, what it printed and MLflow's
process-wide state before and after, so tests check exactly what they checked in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from harness.databases import fresh_sqlite

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

_SCRIPT = r"""
import json, sys
sys.path[:0] = [sys.argv[3], sys.argv[4]]
from dataclasses import asdict
from harness.data import global_mlflow_state
from podium.demo import seed_demo

progress = []
before = global_mlflow_state()
summary = seed_demo(sys.argv[1], progress=progress.append, scale=float(sys.argv[2]))
print(json.dumps({"summary": asdict(summary), "progress": progress, "state_before": before,
                  "state_after": global_mlflow_state()}))
"""


class BackgroundSeed:
    """``seed_demo(uri, scale=scale)`` running in a subprocess into a fresh SQLite store in ``folder``."""

    def __init__(self, folder: Path, scale: float):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.scale = scale
        self.uri = fresh_sqlite(folder / "mlflow.db")
        self._out = folder / "seed.json"
        self._log = folder / "seed.log"
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        env.pop("MLFLOW_TRACKING_URI", None)
        with open(self._out, "w") as out, open(self._log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SCRIPT, self.uri, repr(scale), str(ROOT / "src"), str(TESTS)],
                stdout=out, stderr=log, cwd=ROOT, env=env)
        self._result: SimpleNamespace | None = None

    def result(self) -> SimpleNamespace:
        """Wait for the seed; ``uri``, ``summary`` (a DemoSummary), ``progress``, ``state_before``,
        ``state_after`` and ``scale``. Raises RuntimeError with the process's output if it failed."""
        if self._result is None:
            from podium.demo import DemoSummary

            code = self.proc.wait()
            lines = self._out.read_text().strip().splitlines()
            if code != 0 or not lines:
                raise RuntimeError(f"Seeding the demo (scale {self.scale:g}) failed with exit code {code}:\n"
                                   + self._log.read_text()[-4000:])
            data = json.loads(lines[-1])
            summary = DemoSummary(**{**data["summary"], "versions": tuple(data["summary"]["versions"])})
            self._result = SimpleNamespace(uri=self.uri, summary=summary, progress=data["progress"],
                                           state_before=tuple(data["state_before"]),
                                           state_after=tuple(data["state_after"]), scale=self.scale)
        return self._result

    def stop(self, remove: bool = True) -> None:
        """End the process if it still runs; remove the store's folder when ``remove``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)
