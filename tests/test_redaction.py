"""One redaction function hides every credential form, for every scheme (issue 12)."""

from __future__ import annotations

import pytest

from podium.config import redact_uri
from podium.store import Credentials, StoreRef, target

# (text, what it must become): the secret never survives, everything else does.
CASES = [
    ("http://alice:s3cret@host:5000", "http://alice:***@host:5000"),
    ("https://alice:s3cret@host/prefix", "https://alice:***@host/prefix"),
    ("http://TOKEN0123456789@host:5000", "http://***@host:5000"),
    ("https://tok%2Fen@host", "https://***@host"),
    ("http://a:b@c@host/x@y", "http://a:***@host/x@y"),
    ("http://host:5000/experiments/a@b", "http://host:5000/experiments/a@b"),
    ("https://host/api?token=abc&x=1", "https://host/api?token=***&x=1"),
    ("postgresql://u:s3cret@db:5432/mlflow", "postgresql://u:***@db:5432/mlflow"),
    ("postgresql+psycopg2://u:pa/ss#wo?rd@db.example:5432/mlflow", "postgresql+psycopg2://u:***@db.example:5432/mlflow"),
    ("postgresql://u:p%40ss%2Fw@db/mlflow", "postgresql://u:***@db/mlflow"),
    ("postgres://u:s3cret@db/mlflow", "postgres://u:***@db/mlflow"),
    ("mysql+pymysql://root:s3:c@r#et@127.0.0.1:3306/mlflow", "mysql+pymysql://root:***@127.0.0.1:3306/mlflow"),
    ("mssql+pyodbc://sa:s3cret@server/db?driver=x", "mssql+pyodbc://sa:***@server/db?driver=x"),
    ("postgresql://db/mlflow?user=u&password=s3cret", "postgresql://db/mlflow?user=u&password=***"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),
    ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
    ("file:///home/me/mlruns", "file:///home/me/mlruns"),
    ("./mlruns", "./mlruns"),
    ("notascheme://u:s3cret@host", "notascheme://u:***@host"),
    ("Cannot read postgresql://u:s3c@r/et@host/db: refused", "Cannot read postgresql://u:***@host/db: refused"),
    ("two: http://a:s3cret@h1 and https://TOKEN@h2/x", "two: http://a:***@h1 and https://***@h2/x"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_redact_uri(text, expected):
    assert redact_uri(text) == expected
    for secret in ("s3cret", "TOKEN0123456789", "pa/ss#wo?rd", "p%40ss", "s3:c@r#et", "tok%2Fen"):
        assert secret not in redact_uri(text)


def test_store_ref_holds_the_password_outside_its_string():
    ref = StoreRef("http://127.0.0.1:5000", Credentials("alice", "s3cret-password"))
    assert str(ref) == "http://alice@127.0.0.1:5000"
    assert "s3cret" not in repr(ref) and "s3cret" not in str(ref)
    import pickle

    assert "s3cret" not in repr(pickle.loads(pickle.dumps(ref)).credentials)
    assert pickle.loads(pickle.dumps(ref)).credentials.password is None
    t = target(ref)
    assert t.uri == "http://127.0.0.1:5000" and t.credentials.password == "s3cret-password"


@pytest.mark.parametrize(
    ("uri", "user", "password", "token"),
    [
        ("http://alice:s3%2Fcret@host:5000", "alice", "s3/cret", None),
        ("http://TOKEN@host", None, None, "TOKEN"),
        ("http://host", None, None, None),
    ],
)
def test_credentials_in_a_plain_uri_travel_as_http_auth(uri, user, password, token):
    t = target(uri)
    assert "@" not in t.uri
    creds = t.credentials or Credentials()
    assert (creds.username, creds.password, creds.token) == (user, password, token)


@pytest.mark.parametrize(("uri", "says"), [
    ("postgresql://alice:s3cret-pw@127.0.0.1:1/podium", "Cannot read the MLflow store at postgresql://alice:***@127.0.0.1:1/podium: "),
    ("mysql+pymysql://alice:s3cret-pw@127.0.0.1:1/podium", "Cannot read the MLflow store at mysql+pymysql://alice:***@127.0.0.1:1/podium: "),
])
def test_a_demo_seed_on_a_server_that_is_down_says_so_in_one_line_without_the_password(uri, says, tmp_path):
    """The demo's seeder and every store read share one error translator: one line, exit 2, the
    store named with its password redacted, nothing created in the working folder (and no wait
    for MLflow's connection retries: Podium's read-only probe answers first)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "podium", "demo", "--tracking-uri", uri],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("podium demo: error: " + says) and "Connection refused" in lines[0].replace("connection refused", "Connection refused")
    assert "s3cret" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
