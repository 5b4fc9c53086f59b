"""Work units for ``make test``'s two pytest-xdist workers (``-n 2 --dist loadfile``).

xdist's ``loadfile`` hands each worker whole test modules, so a module's fixtures (a ``streamlit
run``, a seeded store) start on one worker only. :class:`UnitScheduling` (conftest's
``pytest_xdist_make_scheduler``) keeps that and adds two things:

- modules that share a session fixture too costly to start twice run as one unit
  (:data:`SHARED_UNITS`: test_team and test_deploy share the basic-auth ``mlflow server`` of
  conftest's ``team_server``);
- units are handed out longest first (:data:`SECONDS`; a module not listed counts
  :data:`SECONDS_PER_TEST` per test), so a long browser module does not start last on one
  worker while the other idles.

Only where and when a test runs depends on this, never what it checks. (xdist's own
``loadgroup`` marks would say the same, but with pytest 9.2 they are silently ignored:
pytest-dev/pytest-xdist#1386.)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

#: Modules that run as one unit, by the unit's name: they share a costly session fixture.
SHARED_UNITS = {"test_team": "team", "test_deploy": "team"}

#: Seconds each module took in a serial run (``pytest --junitxml``, summed by module, 2026-12-01).
SECONDS = {
    "test_deploy": 45, "test_e2e_compare": 44, "test_champion": 36, "test_refresh": 35, "test_fastpath": 34,
    "test_old_stores": 34, "test_page_report": 25, "test_team": 22, "test_report_cli": 20,
    "test_champion_evidence": 20, "test_search": 15, "test_demo": 14, "test_report": 14,
    "test_champion_browser": 13, "test_views": 12, "test_report_browser": 12, "test_page_compare": 10,
    "test_store": 9, "test_e2e_app": 8, "test_filter_parity_mlflow": 6, "test_report_edges": 6,
    "test_page_compare_deeper": 6, "test_redaction": 6, "test_page_champion_evidence": 5, "test_text": 5,
    "test_page_runs": 5, "test_page_champion": 4,
}
SECONDS_PER_TEST = 0.1


def module_of(nodeid: str) -> str:
    """The module of a test, by its file's stem (the tests are one flat folder)."""
    return Path(nodeid.split("::", 1)[0]).stem


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: its module, or the shared unit its module belongs to."""
    module = module_of(nodeid)
    return SHARED_UNITS.get(module, module)


def unit_seconds(nodeids) -> float:
    """The expected length of a unit holding ``nodeids``."""
    counts = Counter(module_of(nodeid) for nodeid in nodeids)
    return sum(SECONDS.get(module, n * SECONDS_PER_TEST) for module, n in counts.items())


class UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling over :func:`unit_of`, the longest units first."""

    _ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        if not self._ordered:  # the first assignment: the queue is complete, nothing taken yet
            ordered = sorted(self.workqueue.items(), key=lambda kv: -unit_seconds(kv[1]))
            self.workqueue.clear()
            self.workqueue.update(ordered)
            self._ordered = True
        super()._assign_work_unit(node)
