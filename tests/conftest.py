"""Shared fixtures: real MLflow stores of every kind Podium reads, filled with awkward data.

Stores are built once per test session (PostgreSQL and MariaDB migrations take seconds) and
their databases dropped at the end. Tests must treat them as read-only; a test that writes
makes its own store with ``fresh_sqlite_uri``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import stores  # noqa: E402

STORE_KINDS = ["sqlite", "postgresql", "mysql", "http", "file"]

# Keep MLflow from phoning home or nagging during tests.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.pop("MLFLOW_TRACKING_URI", None)


class AwkwardStores:
    """Builds each kind of awkward store on first use and tears all down at session end."""

    def __init__(self, base: Path):
        self.base = base
        self.stack = contextlib.ExitStack()
        self.cache: dict[str, tuple[str, dict[str, str]]] = {}

    def get(self, kind: str) -> tuple[str, dict[str, str]]:
        if kind not in self.cache:
            self.cache[kind] = self._build(kind)
        return self.cache[kind]

    def _build(self, kind: str) -> tuple[str, dict[str, str]]:
        if kind == "sqlite":
            uri = f"sqlite:///{self.base / 'awkward.db'}"
            return uri, stores.populate_awkward(uri)
        if kind == "postgresql":
            uri = self.stack.enter_context(stores.postgres_database())
            return uri, stores.populate_awkward(uri)
        if kind == "mysql":
            uri = self.stack.enter_context(stores.mysql_database())
            return uri, stores.populate_awkward(uri)
        if kind == "http":
            backend = f"sqlite:///{self.base / 'server.db'}"
            uri = self.stack.enter_context(stores.mlflow_server(backend, self.base / "server-artifacts"))
            return uri, stores.populate_awkward(uri)
        if kind == "file":
            path = self.base / "mlruns"
            return str(path), stores.populate_file_store(path)
        raise ValueError(kind)


@pytest.fixture(scope="session")
def awkward_stores(tmp_path_factory):
    registry = AwkwardStores(tmp_path_factory.mktemp("awkward"))
    with registry.stack:
        yield registry


@pytest.fixture(params=STORE_KINDS)
def awkward_store(request, awkward_stores):
    """(tracking_uri, {label: run_id}) for each store kind in turn."""
    return awkward_stores.get(request.param)


@pytest.fixture
def sqlite_awkward(awkward_stores):
    """The awkward data on SQLite only: for tests that need one store, not every kind."""
    return awkward_stores.get("sqlite")


@pytest.fixture
def fresh_sqlite_uri(tmp_path):
    """An empty SQLite tracking URI of the test's own, for tests that write."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


APP_PATH = str(ROOT / "app.py")


@pytest.fixture
def open_app():
    """Open Podium in AppTest on a store: ``open_app(uri, page=None)`` -> a run AppTest."""
    from streamlit.testing.v1 import AppTest

    def _open(uri: str, page: str | None = None, query: dict | None = None):
        at = AppTest.from_file(APP_PATH, default_timeout=90)
        at.session_state["podium_tracking_uri"] = uri
        for k, v in (query or {}).items():
            at.query_params[k] = v
        if page:  # a deep link: only that page runs, as when a browser opens its URL
            at.switch_page(page)
        at.run()
        return at

    return _open


@pytest.fixture(scope="session")
def demo_seed(tmp_path_factory):
    """The full demo seeded once per session by the real seeder (real sklearn training) into a
    fresh SQLite store, with what it printed and MLflow's global state before and after.
    Tests treat the store as read-only."""
    from types import SimpleNamespace

    from podium.demo import seed_demo

    uri = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'mlflow.db'}"
    progress: list[str] = []
    before = stores.global_mlflow_state()
    summary = seed_demo(uri, progress=progress.append)
    return SimpleNamespace(uri=uri, summary=summary, progress=progress, state_before=before,
                           state_after=stores.global_mlflow_state())


@pytest.fixture(scope="session")
def demo_store_uri(demo_seed):
    """The URI of the session's demo store (read-only for tests)."""
    return demo_seed.uri


@pytest.fixture(scope="session")
def demo_app_url(demo_store_uri, tmp_path_factory):
    """A real ``streamlit run`` of Podium on the demo store, shared by the browser tests."""
    import browser

    with browser.streamlit_server(demo_store_uri, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


SEARCH_KINDS = ["sqlite", "postgresql", "mysql", "file"]


@pytest.fixture(scope="session")
def search_stores(tmp_path_factory):
    """``get(kind) -> (uri, {label: run_id})``: the search-case data (``stores.populate_search_cases``)
    on its own store of each kind in SEARCH_KINDS (and ``http``: a real ``mlflow server`` over
    SQLite), built on first use, dropped at session end."""
    base = tmp_path_factory.mktemp("search")
    cache: dict[str, tuple[str, dict[str, str]]] = {}
    with contextlib.ExitStack() as stack:

        def get(kind: str) -> tuple[str, dict[str, str]]:
            if kind not in cache:
                if kind == "sqlite":
                    uri = f"sqlite:///{base / 'search.db'}"
                    cache[kind] = (uri, stores.populate_search_cases(uri))
                elif kind == "postgresql":
                    uri = stack.enter_context(stores.postgres_database())
                    cache[kind] = (uri, stores.populate_search_cases(uri))
                elif kind == "mysql":
                    uri = stack.enter_context(stores.mysql_database())
                    cache[kind] = (uri, stores.populate_search_cases(uri))
                elif kind == "http":
                    backend = f"sqlite:///{base / 'search-server.db'}"
                    uri = stack.enter_context(stores.mlflow_server(backend, base / "server-artifacts"))
                    cache[kind] = (uri, stores.populate_search_cases(uri))
                elif kind == "file":
                    path = base / "mlruns"
                    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
                    try:
                        cache[kind] = (str(path), stores.populate_search_cases(path.as_uri()))
                    finally:
                        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
                else:
                    raise ValueError(kind)
            return cache[kind]

        yield get


@pytest.fixture(scope="session")
def champion_template(tmp_path_factory):
    """(uri, ids) of the champion template store: real logged sklearn models, a real registry.
    Read-only; tests that write take a copy (``champion_store.fresh_copy``)."""
    import champion_store

    return champion_store.template(tmp_path_factory)


@pytest.fixture
def champion_with_alias(champion_template, tmp_path):
    """(uri, ids) of a private copy of the template whose 'tie-old' run is already @champion."""
    import champion_store

    uri, ids = champion_template
    uri = champion_store.fresh_copy(uri, tmp_path / "store")
    champion_store.register(uri, ids["tie-old"], alias="champion")
    return uri, ids
