"""AppTest of the Champion page on a real store with a real registry."""

from __future__ import annotations

import html

import pytest

import champion_store as cs
from podium import champion as ch
from podium import store
from podium.analysis import metric_direction, primary_metric
from podium.text import inert


@pytest.fixture
def fresh(champion_with_alias):
    return champion_with_alias


def plain(text: str) -> str:
    """Markdown shown by the page without its escaping backslashes."""
    return html.unescape(text.replace("\\", "").replace("\u200b", ""))


def table(at, column):
    """The dataframe that has ``column`` (AppTest gives dataframes without selection no key)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def champion_page(open_app, uri, where="metrics.latency_ms < 50 and attributes.status = 'FINISHED'"):
    at = open_app(uri, page="app_pages/champion.py")
    assert not at.exception
    at.multiselect(key="champion_experiments").set_value([cs.EXP_A]).run()
    at.selectbox(key="champion_metric").set_value("f1").run()
    at.text_input(key="champion_where").set_value(where).run()
    assert not at.exception
    return at


def test_ranking_comparison_and_history_are_shown(fresh, open_app):
    uri, ids = fresh
    at = champion_page(open_app, uri)
    assert at.selectbox(key="champion_model").value == cs.MODEL
    ranking = table(at, "rank")
    assert list(ranking["run_name"][:2]) == ["best", "tie-noauc"]
    assert dict(zip(ranking["run_name"], ranking["current"]))["tie-old"] == "v1 @champion"
    comparison = table(at, "challenger")
    assert comparison.iloc[0]["metric"] == "f1" and comparison.iloc[0]["delta"] == pytest.approx(0.05)
    excluded = table(at, "reason")
    assert set(excluded["run_name"]) >= {"nomodel", "slow", "failed", "nan", "inf"}
    assert any("status FAILED" in r for r in excluded["reason"])
    assert any("Promote run best" in m.value for m in at.markdown)
    assert any("(from version 1)" in c.value for c in at.code)  # the dry run lists the changes


@pytest.mark.parametrize("confirm", [False, True])
def test_promotion_needs_confirmation(fresh, open_app, confirm):
    uri, ids = fresh
    at = champion_page(open_app, uri)
    before = cs.registry_dump(uri)
    button = at.button(key="champion_promote")
    assert button.disabled
    at.text_input(key="champion_user").set_value("ana").run()  # reruns without confirming write nothing
    assert at.button(key="champion_promote").disabled
    assert cs.registry_dump(uri) == before
    if not confirm:
        return
    at.checkbox(key="champion_confirm").check().run()
    assert not at.button(key="champion_promote").disabled
    at.button(key="champion_promote").click().run()
    assert not at.exception
    assert store.version_by_alias(uri, cs.MODEL, "champion").run_id == ids["best"]
    assert any("is now @champion" in plain(s.value) for s in at.success)
    assert any("Keep" in m.value for m in at.markdown)  # after promotion: nothing left to do
    history = table(at, "when")
    assert len(history) == 1 and history.iloc[0]["run_id"] == ids["best"]
    assert len(ch.promotion_history(uri, cs.MODEL)) == 1


@pytest.mark.parametrize("where, message", [
    ("metrics.f1 >> 1", "Invalid comparator"),
    ("metrics.f1 > 5", None),
])
def test_bad_filter_and_no_eligible_run(fresh, open_app, where, message):
    uri, _ = fresh
    at = champion_page(open_app, uri, where=where)
    if message:
        assert any(message in e.value for e in at.error)
    else:
        assert any("No eligible run" in w.value for w in at.warning)
        assert len(table(at, "reason")) == 12
        assert any("Current champion: v1 @champion" in plain(i.value) for i in at.info)
    with pytest.raises(KeyError):
        at.button(key="champion_promote")


def test_hostile_run_names_are_not_markdown(fresh, open_app):
    from mlflow import MlflowClient

    uri, ids = fresh
    MlflowClient(uri).set_tag(ids["best"], "mlflow.runName", "**bold** [x](javascript:alert(1))")
    at = champion_page(open_app, uri)
    decision = next(m.value for m in at.markdown if "Decision" in m.value)
    assert inert("**bold** [x](javascript:alert(1))") in decision


def test_metric_and_direction_default_like_compare_and_report(fresh, open_app):
    """The headline metric is the one Compare and Report pick; its direction follows its name."""
    uri, _ = fresh
    at = open_app(uri, page="app_pages/champion.py")
    at.multiselect(key="champion_experiments").set_value([cs.EXP_A]).run()
    primary = primary_metric(store.load_runs(uri, [cs.EXP_A])).removeprefix("metrics.")
    assert at.selectbox(key="champion_metric").value == primary
    assert at.segmented_control(key="champion_mode").value == metric_direction(primary)
    for metric in ("latency_ms", "f1"):
        at.selectbox(key="champion_metric").set_value(metric).run()
        assert at.segmented_control(key="champion_mode").value == metric_direction(metric)
