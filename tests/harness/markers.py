"""Mark each collected test ``db``, ``server``, ``browser`` or ``slow`` from what it uses.

``make test-quick`` runs ``-m "not db and not server and not browser and not slow"``. A test is
marked from three things, so a new test is marked without anyone remembering to:

- the store kinds it is parametrized with (``"postgresql"``/``"mysql"`` -> db, ``"http"`` ->
  server: an ``mlflow server`` subprocess),
- the shared fixtures it uses (:data:`FIXTURE_MARKERS`, directly or through other fixtures),
- the source of the test function and of every fixture it uses that is defined under tests/
  (``postgres_database(`` -> db, ``mlflow_server(`` -> server, ``chromium(`` -> browser,
  ``seed_demo(`` -> slow...),
- marks written on the test itself, which are kept.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

MARKERS = ("db", "server", "browser", "slow")

#: Parametrized store kinds and the marker each needs.
KIND_MARKERS = {"postgresql": "db", "mysql": "db", "http": "server"}

#: The shared fixtures of conftest.py and what they start or train.
FIXTURE_MARKERS = {
    "demo_seed": {"slow"},  # the full demo: real scikit-learn training
    "small_demo_seed": {"slow"},
    "demo_app_url": {"server"},  # streamlit run
    "champion_template": {"slow"},  # runs with logged scikit-learn models
    "team_server": {"db", "server", "slow"},  # basic-auth mlflow server on PostgreSQL, logged models
}

#: Source patterns (in a test or one of its fixtures) and the marker each implies.
SOURCE_MARKERS = {
    "db": [r"\bpostgres_database\b", r"\bmysql_database\b", r"\bteam_backend\b",
           r"""\(\s*["'](?:postgresql|mysql)["']\s*\)"""],
    "server": [r"\bmlflow_server\b", r"\bstreamlit_server\b", r"\bhealthy_subprocess\b", r"\bnginx_proxy\b",
               r"\bteam_backend\b", r"\breplicas\(", r"""\(\s*["']http["']\s*\)"""],
    "browser": [r"\bchromium\(", r"\bsync_playwright\b"],
    # Model training: the demo seeder (API or CLI) and stores of logged scikit-learn models.
    "slow": [r"\bseed_demo\(", r"\blog_model\(",
             r"\bchampion_store\.(?:template|build)\(", r"\bcs\.(?:template|build)\("],
}
_PATTERNS = {marker: re.compile("|".join(patterns)) for marker, patterns in SOURCE_MARKERS.items()}


@functools.lru_cache(maxsize=None)
def _source_markers(func) -> frozenset[str]:
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return frozenset()
    return frozenset(m for m, pattern in _PATTERNS.items() if pattern.search(source))


def _under(func, root: Path) -> bool:
    try:
        return Path(inspect.getfile(func)).resolve().is_relative_to(root)
    except (OSError, TypeError):
        return False


def markers_for(item, tests_root: Path) -> set[str]:
    """The markers ``item`` needs from its parameters, its source and its fixtures' sources."""
    found: set[str] = set()
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for value in callspec.params.values():
            if isinstance(value, str) and value in KIND_MARKERS:
                found.add(KIND_MARKERS[value])
    for name in getattr(item, "fixturenames", ()):
        found |= FIXTURE_MARKERS.get(name, set())
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        for name in item.fixturenames:
            for fixturedef in info.name2fixturedefs.get(name, ()):
                funcs.append(fixturedef.func)
    for func in funcs:
        if func is not None and _under(func, tests_root):
            found |= _source_markers(func)
    return found


def apply(items, tests_root: Path) -> None:
    """Add the markers each item needs (pytest's ``collection_modifyitems``)."""
    import pytest

    for item in items:
        have = {m.name for m in item.iter_markers()}
        for marker in sorted(markers_for(item, tests_root) - have):
            item.add_marker(getattr(pytest.mark, marker))
