"""AppTest of the Compare page on real stores: permalinks, bad filters, empty states, selection."""

from __future__ import annotations

import json

import pytest
from stores import AWKWARD_EXPERIMENT, SECOND_EXPERIMENT

from podium.text import inert

PAGE = "app_pages/compare.py"
BOTH = [AWKWARD_EXPERIMENT, SECOND_EXPERIMENT]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def frame_with(at, column: str):
    """The first dataframe on the page that has ``column`` (dataframes without selection have no key)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def query(at, name: str) -> list[str]:
    value = at.query_params[name]
    return [value] if isinstance(value, str) else list(value)


def table(at):
    """The runs table (the first dataframe of the page)."""
    return at.dataframe[0].value


def test_permalink_opens_the_filtered_view_of_several_experiments(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": ",".join(BOTH), "filter": "metrics.accuracy > 0.85"})
    assert not at.exception
    assert at.multiselect(key="compare_experiments").value == BOTH
    assert at.text_input(key="compare_filter").value == "metrics.accuracy > 0.85"
    assert inert("accuracy > 0.85, 5 of 13 runs") + " · 2 experiments" in texts(at.caption)
    assert sorted(table(at)["run_id"]) == sorted(ids[k] for k in ["plain", "unicode", "hostile", "child1", "child2"])
    specs = charts(at)
    assert len(specs) >= 2  # parallel coordinates and scatter first, then importance, sweeps...
    assert specs[0]["title"]["text"].startswith("Parallel coordinates")
    assert query(at, "exp") == BOTH and query(at, "filter") == ["metrics.accuracy > 0.85"]


def test_bad_typed_filter_shows_mlflows_message_and_keeps_the_last_good_result(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": BOTH})
    at.text_input(key="compare_filter").input("params.model = 'rf'").run()
    good_rows = sorted(table(at)["run_id"])
    assert len(good_rows) == 5
    at.text_input(key="compare_filter").input("metrics.accuracy >> 0.9").run()
    assert not at.exception
    assert "Invalid comparator '>>'" in texts(at.error)
    assert sorted(table(at)["run_id"]) == good_rows
    assert "model = rf, 5 of 13 runs" in texts(at.caption)
    assert query(at, "filter") == ["params.model = 'rf'"]  # the URL keeps the filter that worked


def test_bad_filter_in_the_url_is_explained_and_the_unfiltered_runs_shown(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [SECOND_EXPERIMENT], "filter": "accuracy > 0.9"})
    assert not at.exception
    assert at.text_input(key="compare_filter").value == "accuracy > 0.9"
    assert "Invalid" in texts(at.error) or "invalid" in texts(at.error)
    assert len(table(at)) == 2


def test_filter_matching_nothing_says_so(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": BOTH, "filter": "metrics.accuracy > 5"})
    assert not at.exception
    assert "No runs match" in texts(at.warning)
    assert "0 of 13 runs" in texts(at.caption)
    assert not charts(at)


def test_no_experiment_chosen_and_unknown_experiment(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": ["no-such-experiment"]})
    assert not at.exception
    assert "No experiment named 'no-such-experiment'" in texts(at.warning)
    assert "Choose one or more experiments" in texts(at.info)


def test_default_is_the_latest_experiment_with_runs(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE)
    assert not at.exception
    assert at.multiselect(key="compare_experiments").value == [SECOND_EXPERIMENT]
    assert len(charts(at)) >= 2


def test_empty_experiment_says_so(fresh_sqlite_uri, open_app):
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=fresh_sqlite_uri).create_experiment("empty-one")
    at = open_app(fresh_sqlite_uri, PAGE, query={"exp": ["empty-one"]})
    assert not at.exception
    assert "No runs in empty-one yet" in texts(at.info)


def test_unreachable_store_shows_a_message_and_retry(open_app):
    at = open_app("http://bob:hunter2@127.0.0.1:9", PAGE)
    assert not at.exception
    shown = texts(at.error).replace("\\", "")  # the message is Markdown-escaped (podium.text.inert)
    assert "127.0.0.1:9" in shown and "hunter2" not in shown
    assert at.button(key="compare_store_retry")


def test_selecting_runs_shows_diff_and_history_and_is_shared(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    at.multiselect(key="compare_selected").set_value([ids["plain"], ids["posinf"]]).run()
    assert not at.exception
    assert at.session_state["podium_selected_runs"] == [ids["plain"], ids["posinf"]]
    assert query(at, "runs") == [ids["plain"], ids["posinf"]]
    params_diff = frame_with(at, "inf-loss")
    assert list(params_diff.columns) == ["plain-rf", "inf-loss"]
    assert "model" in params_diff.index  # rf vs gbm differ
    metrics_diff = frame_with(at, "Δ inf-loss")
    assert "Δ inf-loss" in metrics_diff.columns
    assert metrics_diff.loc["accuracy", "Δ inf-loss"] == pytest.approx(0.5 - 0.91)
    titles = [s.get("title", {}).get("text", "") for s in charts(at)]
    assert any(t.endswith("by step") for t in titles)  # metric history of the selected runs


def test_selected_runs_from_the_url(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT], "runs": [ids["child1"], ids["child2"]]})
    assert not at.exception
    assert at.multiselect(key="compare_selected").value == [ids["child1"], ids["child2"]]
    assert "Selected runs (2)" in texts(at.subheader)


def test_group_by_a_param(sqlite_awkward, open_app):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    at.selectbox(key="compare_group_by").select("params.model").run()
    assert not at.exception
    groups = frame_with(at, "runs")
    assert groups["runs"].sum() == 11  # every run counted, n/a included
    assert "n/a" in set(groups["params.model"])


def test_run_names_link_to_the_mlflow_ui_when_an_address_is_set(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [SECOND_EXPERIMENT]})
    at.text_input(key="podium_mlflow_ui").input("http://mlflow.example.com:5000/").run()
    assert not at.exception
    names = list(table(at)["run_name"])
    assert all(n.startswith("http://mlflow.example.com:5000/#/experiments/") for n in names)
    assert any(n.endswith("?run=other-a") for n in names)


def test_quick_filters_narrow_the_runs(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    at.multiselect(key="compare_status").set_value(["FAILED"]).run()
    assert not at.exception
    assert list(table(at)["run_id"]) == [ids["failed"]]
    assert "FAILED, 1 of 11 runs" in texts(at.caption)


def test_history_names_the_selected_runs_that_did_not_log_the_metric(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    at.multiselect(key="compare_selected").set_value([ids["plain"], ids["nan"]]).run()
    at.selectbox(key="compare_history_metric").set_value("metrics.loss").run()
    assert not at.exception
    assert "No loss logged by nan-metric." in texts(at.caption)  # plain-rf has a 4-step loss
    at.selectbox(key="compare_history_metric").set_value("metrics.f1").run()
    assert "logged by" not in texts(at.caption)  # both logged f1


def test_history_offers_only_metrics_the_selected_runs_logged(sqlite_awkward, open_app):
    uri, ids = sqlite_awkward
    at = open_app(uri, PAGE, query={"exp": [AWKWARD_EXPERIMENT]})
    at.multiselect(key="compare_selected").set_value([ids["plain"]]).run()
    assert at.selectbox(key="compare_history_metric").value == "metrics.loss"  # a loss curve first
    at.multiselect(key="compare_selected").set_value([ids["unicode"]]).run()  # a run without a loss
    assert not at.exception
    box = at.selectbox(key="compare_history_metric")
    assert set(box.options) == {"accuracy", "f1"} and box.value in {"metrics.accuracy", "metrics.f1"}
    assert "logged by" not in texts(at.caption)


def test_the_champion_is_marked_and_kept_in_view_when_the_filter_leaves_it_out(champion_template, tmp_path, open_app):
    import champion_store as cs

    uri, ids = champion_template
    uri = cs.fresh_copy(uri, tmp_path / "store")
    version = cs.register(uri, ids["tie-old"], alias="champion")
    at = open_app(uri, PAGE, query={"exp": cs.EXP_A, "filter": "metrics.f1 > 0.88"})
    assert not at.exception
    label = f"@champion {cs.MODEL} v{version} (outside the filter)"
    assert f"★ {label}, run tie-old:" in texts(at.caption)
    assert ids["tie-old"] not in set(table(at)["run_id"])  # the table keeps to the filter
    specs = charts(at)
    assert f"Dashed black: {label}." in specs[0]["title"]["subtitle"]
    from podium.charts import STAR

    assert any(layer["mark"].get("shape") == STAR for layer in specs[1]["layer"])  # a star on the scatter
    at.multiselect(key="compare_selected").set_value([ids["best"]]).run()  # a run of this week first
    at.button(key="compare_select_champion").click().run()
    assert not at.exception
    assert at.session_state["podium_selected_runs"] == [ids["best"], ids["tie-old"]]
    assert at.selectbox(key="compare_baseline").value == ids["tie-old"]  # deltas against the champion
    assert at.button(key="compare_select_champion").disabled  # already selected


@pytest.mark.parametrize(
    "params",
    [
        {"exp": "[Session expired - log in again](https://evil.example/login)"},
        {"exp": AWKWARD_EXPERIMENT, "filter": "tags.team = '[log in](https://evil.example)'"},
        {"exp": AWKWARD_EXPERIMENT, "filter": "params.model = 'www.evil.example'"},
    ],
)
def test_url_parameters_stay_inert(sqlite_awkward, open_app, params):
    uri, _ = sqlite_awkward
    at = open_app(uri, PAGE, query=params)
    assert not at.exception
    shown = "\n".join(texts(getattr(at, kind)) for kind in ("markdown", "caption", "warning", "info", "error", "success"))
    assert "](" not in shown and "www.evil" not in shown and "evil.example" not in shown
