"""AppTest of the Report page on a real store: defaults from Compare, bad filter, confirmed logging."""

from __future__ import annotations

import pytest

from podium.text import inert
from report_store import EXPERIMENT, MODEL_NAME, populate_report_store
from harness.databases import fresh_sqlite

PAGE = "app_pages/report.py"


@pytest.fixture(scope="module")
def page_store(tmp_path_factory):
    uri = fresh_sqlite(tmp_path_factory.mktemp('page-report') / 'mlflow.db')
    return uri, populate_report_store(uri)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_opens_on_the_newest_experiment_and_asks_when_none_is_chosen(page_store, open_app):
    uri, _ = page_store
    at = open_app(uri, PAGE)
    assert not at.exception
    assert at.multiselect(key="report_experiments").value == [EXPERIMENT]  # a newcomer sees a report
    assert "runs ranked of" in texts(at.caption)
    at.multiselect(key="report_experiments").set_value([]).run()
    assert not at.exception
    assert "Choose one or more experiments" in texts(at.info)


def test_builds_the_report_with_champion(page_store, open_app):
    uri, _ = page_store
    at = open_app(uri, PAGE)
    assert at.multiselect(key="report_experiments").value == [EXPERIMENT]
    # The default headline metric is the one every run has (latency_ms); pick score.
    assert at.selectbox(key="report_metric").value == "latency_ms"
    assert at.session_state["report_mode"] == "min"
    at.selectbox(key="report_metric").select("score").run()
    assert at.session_state["report_mode"] == "max"
    caption = texts(at.caption)
    assert "4 runs ranked of 5" in caption
    assert f"champion: {inert(MODEL_NAME)} v1" in caption
    at.number_input(key="report_top").set_value(2).run()
    assert "2 runs ranked of 5" in texts(at.caption)


def test_takes_experiments_filter_and_runs_from_compare(page_store, open_app):
    uri, ids = page_store
    from streamlit.testing.v1 import AppTest  # noqa: F401  (open_app builds it)

    at = open_app(uri)
    at.session_state["podium_experiments"] = [EXPERIMENT]
    at.session_state["compare_good_filter"] = "params.kind = 'a'"
    at.session_state["podium_selected_runs"] = [ids["champ"], ids["third"]]
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.multiselect(key="report_experiments").value == [EXPERIMENT]
    assert at.text_input(key="report_filter").value == "params.kind = 'a'"
    assert at.toggle(key="report_only_selected").value is True
    assert "2 runs ranked of 2" in texts(at.caption)


def test_bad_filter_shows_mlflows_message(page_store, open_app):
    uri, _ = page_store
    at = open_app(uri, PAGE)
    at.multiselect(key="report_experiments").select(EXPERIMENT).run()
    at.text_input(key="report_filter").input("metrics.score >> 1").run()
    assert not at.exception
    assert inert("Invalid comparator '>>'") in texts(at.error)


def test_log_to_mlflow_needs_confirmation(tmp_path, open_app):
    from mlflow import MlflowClient

    uri = fresh_sqlite(tmp_path / 'mlflow.db')
    populate_report_store(uri)
    client = MlflowClient(uri)
    exp_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    at = open_app(uri, PAGE)
    at.multiselect(key="report_experiments").select(EXPERIMENT).run()
    assert at.button(key="report_log").disabled
    before = len(client.search_runs([exp_id]))
    at.checkbox(key="report_log_confirm").check().run()
    at.button(key="report_log").click().run()
    assert not at.exception
    runs = client.search_runs([exp_id], "tags.`podium.report` = 'true'")
    assert len(runs) == 1 and len(client.search_runs([exp_id])) == before + 1
    assert runs[0].info.run_id in texts(at.success)


def preview(at) -> str:
    """The report HTML inside the preview's sandboxed frame (unescaped from its srcdoc)."""
    import html as h
    import re

    (frame,) = at.get("iframe")
    outer = frame.proto.srcdoc
    inner = re.search(r'<iframe sandbox="([^"]*)"[^>]* srcdoc="([^"]*)"', outer)
    assert inner and inner.group(1) == "allow-scripts"  # no allow-same-origin: an opaque origin
    return h.unescape(inner.group(2))


def test_preview_runs_no_script_outside_its_sandbox(page_store, open_app):
    from report_store import _Scan

    uri, _ = page_store
    at = open_app(uri, PAGE)
    (frame,) = at.get("iframe")
    outer = frame.proto.srcdoc
    scan = _Scan(outer)  # the page around the report: no script, handler or link of its own
    assert (scan.scripts, scan.handlers, scan.urls) == ([], [], [])
    assert scan.tags.count("iframe") == 1 and "allow-same-origin" not in outer
    assert "<h2>Leaderboard" in preview(at)


def test_editing_title_author_summary_reads_nothing(tmp_path, open_app):
    """Words are put on at render time: with the store gone, editing them still updates the
    report (a rebuild would read the champion and records, and fail)."""

    path = tmp_path / "mlflow.db"
    uri = fresh_sqlite(path)
    populate_report_store(uri)
    at = open_app(uri, PAGE)
    at.selectbox(key="report_metric").select("score").run()
    assert "<title>Best runs by score</title>" in preview(at)
    path.rename(tmp_path / "gone.db")
    at.text_input(key="report_title").input("Weekly <b>review</b>").run()
    at.text_input(key="report_author").input("Ana").run()
    at.text_area(key="report_summary").input("We **tried** it.").run()
    assert not at.exception and not at.error
    html = preview(at)
    assert "<title>Weekly &lt;b&gt;review&lt;/b&gt;</title>" in html
    assert "by Ana" in html and "<strong>tried</strong>" in html
