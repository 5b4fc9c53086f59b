"""``python -m podium serve``: the store named where the command runs, team mode's refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "stores"


def _serve(args: list[str], cwd: Path, wait_for_line: bool) -> tuple[int | None, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "PODIUM_"))}
    proc = subprocess.Popen([sys.executable, "-m", "podium", "serve", "--port", "0", "--no-seed", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        if wait_for_line:
            return None, proc.stdout.readline()
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(10)


def test_a_relative_mlruns_folder_is_the_callers(tmp_path):
    with tarfile.open(FIXTURES / "mlruns-2.9.2.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    shutil.move(folder, tmp_path / "mlruns")
    _code, line = _serve(["--tracking-uri", "./mlruns"], tmp_path, wait_for_line=True)
    assert f"Podium on {(tmp_path / 'mlruns').as_uri()}" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracking-uri", "sqlite:///x.db", "--auth", "mlflow"], "--auth mlflow needs a tracking server"),
        (["--tracking-uri", "http://alice:s3cret@127.0.0.1:9", "--auth", "mlflow"], "must not carry credentials"),
        (["--tracking-uri", "postgres://u:s3cret@h/db"], "SQLAlchemy spells it postgresql://"),
    ],
)
def test_refusals_are_one_line_and_exit_2(tmp_path, args, message):
    code, out = _serve(args, tmp_path, wait_for_line=False)
    assert code == 2
    assert len(out.strip().splitlines()) == 1 and message in out
    assert "s3cret" not in out
    assert list(tmp_path.iterdir()) == []
