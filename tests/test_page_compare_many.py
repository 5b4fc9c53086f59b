"""Compare with many runs, on a small store: limits that keep every rerun cheap (the limits are
lowered here so that a few runs cross them)."""

from __future__ import annotations

import pytest
from stores import AWKWARD_EXPERIMENT

PAGE = "app_pages/compare.py"


@pytest.fixture
def few_pick_options(monkeypatch):
    from app_pages import _selection

    monkeypatch.setattr(_selection, "MAX_PICK_OPTIONS", 3)


def test_the_selection_box_lists_the_selected_and_the_first_runs_only(sqlite_awkward, open_app, few_pick_options):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    assert not at.exception
    box = at.multiselect(key="compare_selected")
    table = at.dataframe[0].value
    first = list(table["run_id"])[:3]
    labels = dict(zip(table["run_id"], table["run_name"]))
    assert list(box.options) == [labels[r] for r in first]
    assert "Lists the first 3 of these" in box.help
    # A run beyond the first three, selected elsewhere (here: the URL), is listed first and stays selected.
    last = list(table["run_id"])[-1]
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT], "runs": [last]})
    box = at.multiselect(key="compare_selected")
    assert box.value == [last] and len(box.options) == 4
    box.set_value([last, first[0]]).run()
    assert not at.exception
    assert at.multiselect(key="compare_selected").value == [last, first[0]]
