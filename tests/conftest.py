"""Shared fixtures: real MLflow stores of every kind Podium reads, filled with awkward data.

Stores are built once per test session (PostgreSQL and MariaDB migrations take seconds) and
their databases dropped at the end. Tests must treat them as read-only; a test that writes
makes its own store with ``fresh_sqlite_uri`` (a copy of one migrated SQLite template).

Every test is marked ``db``, ``server``, ``browser`` or ``slow`` from what it uses
(``harness.markers``); ``make test-quick`` leaves those out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(TESTS))

import stores  # noqa: E402
from harness import demo_seeds, markers  # noqa: E402

#: The demo scale the end-to-end tests open (the full demo is test_demo's alone).
SMALL_DEMO_SCALE = 0.2

# Keep MLflow from phoning home or nagging during tests.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.pop("MLFLOW_TRACKING_URI", None)


def pytest_collection_modifyitems(config, items):
    markers.apply(items, TESTS)


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: unknown to a run without it (-p no:xdist)
def pytest_xdist_make_scheduler(config, log):
    """``make test``'s ``-n 2 --dist loadfile``: whole modules per worker, modules sharing the team
    server together, the longest first (``harness.parallel``)."""
    if config.getvalue("dist") == "loadfile":
        from harness import parallel

        return parallel.UnitScheduling(config, log)
    return None


STORE_KINDS = ["sqlite", "postgresql", "mysql", "http", "file"]


class StoreKinds:
    """One data set on a store of each kind, each built on first use; all dropped at session end."""

    def __init__(self, base: Path, name: str, populate: Callable[[str], dict[str, str]]):
        self.base = base
        self.name = name
        self.populate = populate
        self.stack = contextlib.ExitStack()
        self.cache: dict[str, tuple[str, dict[str, str]]] = {}

    def get(self, kind: str) -> tuple[str, dict[str, str]]:
        """``(tracking_uri, {label: run_id})`` of the data set on a store of ``kind``."""
        if kind not in self.cache:
            self.cache[kind] = self._build(kind)
        return self.cache[kind]

    __call__ = get

    def _build(self, kind: str) -> tuple[str, dict[str, str]]:
        if kind == "sqlite":
            uri = stores.fresh_sqlite(self.base / f"{self.name}.db")
        elif kind == "postgresql":
            uri = self.stack.enter_context(stores.postgres_database(migrated=True))
        elif kind == "mysql":
            uri = self.stack.enter_context(stores.mysql_database(migrated=True))
        elif kind == "http":
            backend = stores.fresh_sqlite(self.base / f"{self.name}-server.db")
            uri = self.stack.enter_context(stores.mlflow_server(backend, self.base / "server-artifacts"))
        elif kind == "file":
            path = self.base / "mlruns"
            with stores.file_store_allowed():
                return str(path), self.populate(path.resolve().as_uri())
        else:
            raise ValueError(kind)
        return uri, self.populate(uri)


@pytest.fixture(scope="session")
def awkward_stores(tmp_path_factory):
    """``get(kind) -> (uri, {label: run_id})``: the awkward data (``stores.populate_awkward``) on a
    store of each kind in STORE_KINDS."""
    registry = StoreKinds(tmp_path_factory.mktemp("awkward"), "awkward", stores.populate_awkward)
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
    return stores.fresh_sqlite(tmp_path / "mlflow.db")


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


#: The demo stores tests read, by fixture name: their scale.
DEMO_SEEDS = {"demo_seed": 1.0, "small_demo_seed": SMALL_DEMO_SCALE}
_seeding: dict[str, "demo_seeds.BackgroundSeed"] = {}
_seeds_folder: list = []


def pytest_configure(config):
    """The folder of this run's demo seeds, made before pytest-xdist starts its workers."""
    _seeds_folder.append(demo_seeds.start_run_folder())


def pytest_collection_finish(session):
    """Start training the demo stores the selected tests need, each in a background process, so
    the training overlaps the tests that run before them (``harness.demo_seeds``; with xdist, one
    worker trains each store and the other waits for it)."""
    if session.config.option.collectonly:
        return
    needed = {name for item in session.items for name in getattr(item, "fixturenames", ()) if name in DEMO_SEEDS}
    for name in sorted(needed):
        _seeding[name] = demo_seeds.shared_seed(name, DEMO_SEEDS[name])


def pytest_sessionfinish(session, exitstatus):
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop or session.shouldfail)
    while _seeding:
        _seeding.popitem()[1].stop(interrupted)
    if _seeds_folder:
        demo_seeds.remove_run_folder(_seeds_folder.pop())


def _demo(name: str) -> SimpleNamespace:
    """The seeded demo store ``name`` (started at collection, or now if it was not)."""
    if name not in _seeding:
        _seeding[name] = demo_seeds.shared_seed(name, DEMO_SEEDS[name])
    return _seeding[name].result()


@pytest.fixture(scope="session")
def demo_seed():
    """The full demo (what ``make run`` seeds), trained by the real seeder into a fresh SQLite
    store once per session: ``uri``, ``summary``, ``progress`` and MLflow's global state before
    and after seeding (``state_before``, ``state_after``). Read-only for tests."""
    return _demo("demo_seed")


@pytest.fixture(scope="session")
def small_demo_seed():
    """The demo at :data:`SMALL_DEMO_SCALE` (a subset of the full demo's runs, same values), once
    per session: what the browser tests open. Read-only for tests."""
    return _demo("small_demo_seed")


@pytest.fixture(scope="session")
def demo_store_uri(small_demo_seed):
    """The URI of the session's small demo store (read-only for tests)."""
    return small_demo_seed.uri


@pytest.fixture(scope="session")
def demo_app_url(demo_store_uri, tmp_path_factory):
    """A real ``streamlit run`` of Podium on the small demo store, shared by the browser tests."""
    import browser

    with browser.streamlit_server(demo_store_uri, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


SEARCH_KINDS = ["sqlite", "postgresql", "mysql", "file"]


@pytest.fixture(scope="session")
def search_stores(tmp_path_factory):
    """``get(kind) -> (uri, {label: run_id})``: the search-case data (``stores.populate_search_cases``)
    on its own store of each kind in SEARCH_KINDS (and ``http``: a real ``mlflow server`` over
    SQLite), built on first use, dropped at session end."""
    registry = StoreKinds(tmp_path_factory.mktemp("search"), "search", stores.populate_search_cases)
    with registry.stack:
        yield registry


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


@pytest.fixture(scope="session")
def report_template(tmp_path_factory):
    """(uri, {label: run_id}) of the report test store (``report_store.populate_report_store``:
    logged models, a registered champion), written once per session and shared by the report
    test modules. Read-only for tests; a test that writes takes a copy (``report_copy``)."""
    import report_store

    uri = stores.fresh_sqlite(tmp_path_factory.mktemp("report") / "mlflow.db")
    return uri, report_store.populate_report_store(uri)


@pytest.fixture
def report_copy(report_template, tmp_path):
    """(uri, {label: run_id}) of a private copy of the report template's database (the same
    artifacts, which a copy only points at), for a test that writes."""
    uri, ids = report_template
    path = tmp_path / "report-store" / "mlflow.db"
    path.parent.mkdir()
    shutil.copyfile(uri.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}", ids


@pytest.fixture(scope="session")
def team_server(tmp_path_factory):
    """MLflow's basic-auth ``mlflow server`` on fresh PostgreSQL databases with the team data
    written through it (``harness_deploy``), started and seeded once per session. test_team and
    test_deploy share it: each adds users, grants and a registered model of its own (names no
    other module uses) and starts its own Podium processes."""
    import harness_deploy as hd

    with hd.team_backend(tmp_path_factory.mktemp("team-server"), auth_cache_s=600, job_runner=False) as backend:
        hd.seed_team_store(backend)
        yield backend

