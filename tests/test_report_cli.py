"""``python -m podium report`` as a CI job would run it: real subprocess, real store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from report_store import EXPERIMENT
from stores import AWKWARD_EXPERIMENT

ROOT = Path(__file__).absolute().parents[1]


@pytest.fixture(scope="module")
def cli_store(report_template):
    """The session's report store (conftest ``report_template``), read-only."""
    return report_template[0]


def podium(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "podium", "report", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("fmt, name", [("html", "r.html"), ("md", "r.md"), ("md", "r.zip")])
def test_writes_the_report(cli_store, tmp_path, fmt, name):
    out = tmp_path / name
    res = podium("--tracking-uri", cli_store, "--experiment", EXPERIMENT, "--metric", "score", "--top", "2",
                 "--format", fmt, "--output", str(out), "--title", "Nightly <b>report</b>")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"Wrote {out} (2 runs ranked of 5;")
    assert out.exists() and out.stat().st_size > 1000
    if name == "r.md":
        assert (tmp_path / "r_files" / "scatter.png").exists()
        assert out.read_text().startswith("# Nightly &lt;b&gt;report&lt;/b&gt;\n")
    if fmt == "html":
        assert "<title>Nightly &lt;b&gt;report&lt;/b&gt;</title>" in out.read_text()


@pytest.mark.parametrize("args, message", [
    (["--experiment", "nope", "--metric", "score"], "No experiment named 'nope'"),
    (["--experiment", EXPERIMENT, "--metric", "nope"], "No metric 'nope'"),
    (["--experiment", EXPERIMENT, "--metric", "score", "--filter", "metrics.score >> 1"], "Invalid comparator '>>'"),
    (["--experiment", EXPERIMENT, "--metric", "score", "--top", "0"], "--top must be at least 1"),
    (["--experiment", EXPERIMENT, "--metric", "score", "--model-name", "nope"], "No registered model named 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(cli_store, tmp_path, args, message):
    res = podium("--tracking-uri", cli_store, *args, "--format", "html", "--output", str(tmp_path / "x.html"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podium report: error: ") and message in lines[0]
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("uri", [
    "http://alice:pw-s3cret@127.0.0.1:9",
    "postgresql://postgres:pw-s3cret@127.0.0.1:5432/podium_no_such_db",
    "mysql+pymysql://root:pw-s3cret@127.0.0.1:3306/podium_no_such_db",
])
def test_unreachable_store_fails_without_showing_the_password(tmp_path, uri):
    res = podium("--tracking-uri", uri, "--experiment", "x", "--metric", "f1", "--format", "md", "--output", str(tmp_path / "x.md"))
    assert res.returncode == 2
    assert "pw-s3cret" not in res.stdout + res.stderr
    # One line naming the store (credentials shown as *** or left out), never the password.
    assert len(res.stderr.strip().splitlines()) == 1 and "127.0.0.1" in res.stderr


def test_password_in_a_reachable_server_uri_stays_out_of_output_and_report(awkward_stores, tmp_path):
    base, _ = awkward_stores.get("http")
    uri = base.replace("http://", "http://alice:pw-s3cret@")
    out = tmp_path / "r.html"
    res = podium("--tracking-uri", uri, "--experiment", AWKWARD_EXPERIMENT, "--metric", "accuracy",
                 "--format", "html", "--output", str(out))
    assert res.returncode == 0, res.stderr
    assert "pw-s3cret" not in res.stdout + res.stderr + out.read_text()
    assert f'href="{base}/#/experiments/' in out.read_text()


def test_log_to_mlflow_flag(report_copy, tmp_path):
    from mlflow import MlflowClient

    uri, _ = report_copy
    res = podium("--tracking-uri", uri, "--experiment", EXPERIMENT, "--metric", "score", "--format", "md",
                 "--output", str(tmp_path / "r.md"), "--log-to-mlflow")
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.strip().splitlines()[-1].split()[5]
    run = MlflowClient(uri).get_run(run_id)
    assert run.data.tags["podium.report"] == "true"
