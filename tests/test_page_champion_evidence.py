"""AppTest of the Champion page on the store of configurations repeated over seeds:
repeats picker, gates, the evidence sentence, promotion with a webhook, lineage chart, rollback."""

from __future__ import annotations

import html

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import champion_store as cs
from podium import champion as ch
from podium import store

EXAMPLE = ("config max_depth=10 (5 runs) 0.948 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006: "
           "better, p = 6.2e-07 < 0.05, gain 0.047 ≥ 0.010")


def plain(text: str) -> str:
    return html.unescape(text.replace("\\", "").replace("\u200b", ""))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return cs.seeds_template(tmp_path_factory)


@pytest.fixture
def fresh(seeds, tmp_path):
    uri, ids = seeds
    return cs.fresh_seeds(uri, tmp_path / "store"), ids


def page(open_app, uri, experiments, **widgets):
    at = open_app(uri, page="app_pages/champion.py")
    at.multiselect(key="champion_experiments").set_value(experiments).run()
    for key, value in widgets.items():
        widget = at.text_input(key=key) if key in ("champion_min_gain", "champion_notify_url", "champion_user") else at.selectbox(key=key)
        widget.set_value(value).run()
    assert not at.exception
    return at


def shown(at) -> list[str]:
    return [plain(e.value) for e in [*at.success, *at.info, *at.warning, *at.markdown]]


def table(at, column):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_repeats_default_to_the_seed_param_and_keep_the_champion(seeds, open_app):
    uri, _ = seeds
    at = page(open_app, uri, [cs.SEEDS_EXP])
    assert at.selectbox(key="champion_model").value == cs.SEEDS_MODEL
    assert at.selectbox(key="champion_repeats").value == "random_state"
    assert at.selectbox(key="champion_metric").value == "acc" and at.segmented_control(key="champion_mode").value == "max"
    ranking = table(at, "config")
    assert list(ranking["config"]) == ["config max_depth=5", "config max_depth=3"] and list(ranking["n"]) == [5, 5]
    assert ranking["current"].iloc[0] == "v1 @champion (a run of this config)"
    assert any("the champion's configuration is still the best" in t for t in shown(at))
    with pytest.raises(KeyError):
        at.button(key="champion_promote")  # nothing to promote
    # Without repeats, the lucky seed would replace the champion.
    at.selectbox(key="champion_repeats").set_value("(none)").run()
    assert any("run d3-s2 0.930 vs champion run d5-s2 0.893: better, no confidence can be given" in t for t in shown(at))
    assert at.button(key="champion_promote").disabled


@pytest.mark.parametrize("gain, replace, says", [
    ("", True, "config max_depth=7 (5 runs) 0.905 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006: better, gain 0.004"),
    ("0.01", False, "better by less than the minimum gain, gain 0.004 < 0.010"),
    ("2%", False, "gain 0.004 < 0.018 (2%)"),
])
def test_minimum_gain_on_the_page(seeds, open_app, gain, replace, says):
    uri, _ = seeds
    at = page(open_app, uri, [cs.SEEDS_EXP, cs.SEEDS_SMALL_EXP], champion_confidence=0.0, champion_min_gain=gain)
    assert any(says in t for t in shown(at))
    promote = [b for b in at.button if b.key == "champion_promote"]
    assert bool(promote) is replace


def test_bad_minimum_gain_is_a_message(seeds, open_app):
    uri, _ = seeds
    at = page(open_app, uri, [cs.SEEDS_EXP], champion_min_gain="lots")
    assert any("Minimum gain must be a number" in e.value for e in at.error)


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_promote_notify_lineage_and_roll_back(fresh, open_app):
    uri, ids = fresh
    handler = type("Hook", (_Hook,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        at = page(open_app, uri, [cs.SEEDS_EXP, cs.SEEDS_BETTER_EXP], champion_min_gain="0.01", champion_user="ana",
                  champion_notify_url=f"http://127.0.0.1:{server.server_port}/hook")
        assert any(EXAMPLE in t for t in shown(at))
        before = cs.registry_dump(uri)
        assert at.button(key="champion_promote").disabled
        at.checkbox(key="champion_confirm").check().run()
        at.button(key="champion_promote").click().run()
        assert not at.exception
    finally:
        server.shutdown()
        server.server_close()
    assert cs.registry_dump(uri) != before
    champion = store.version_by_alias(uri, cs.SEEDS_MODEL, "champion")
    assert champion.run_id == ids["d10-s2"] and champion.tags[ch.TAG_EVIDENCE] == EXAMPLE and champion.tags[ch.TAG_BY] == "ana"
    assert any("is now @champion" in plain(s.value) for s in at.success)
    assert any("Notified 127.0.0.1" in plain(s.value) for s in at.success)
    [body] = handler.received
    assert body["to_version"] == 2 and body["from_version"] == 1 and body["evidence"] == EXAMPLE
    # The lineage: a chart and the trail; a rollback offered, behind a confirmation.
    [chart] = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]  # the lineage
    assert '"title": "promotion"' in json.dumps(chart) and "95% interval" in json.dumps(chart)
    history = table(at, "evidence")
    assert list(history["version"]) == [2] and history["evidence"].iloc[0] == EXAMPLE
    rollback = at.button(key="champion_rollback")
    assert rollback.disabled and rollback.label == "Roll back to v1"
    at.checkbox(key="champion_rollback_confirm").check().run()
    at.button(key="champion_rollback").click().run()
    assert not at.exception
    champion = store.version_by_alias(uri, cs.SEEDS_MODEL, "champion")
    assert champion.version == 1 and champion.tags[ch.TAG_ACTION] == "rollback" and champion.tags[ch.TAG_BY] == "ana"
    assert any("is @champion again" in plain(s.value) for s in at.success)
    assert list(table(at, "evidence")["action"]) == ["rollback", "promote"]


def test_aggregate_on_the_page(seeds, open_app):
    uri, ids = seeds
    at = page(open_app, uri, [cs.HISTORY_EXP])
    assert table(at, "rank")["run_name"].iloc[0] == "steady"
    at.segmented_control(key="champion_aggregate").set_value("max").run()
    assert table(at, "rank")["run_name"].iloc[0] == "early"


def test_legacy_stage_and_a_name_with_both_quotes(seeds, tmp_path, open_app):
    """Issue 11: a registry with stages and no aliases, a model name with ' and ": no crash; the
    stage is shown, and a policy can make the Production version the champion."""
    uri, ids = seeds
    uri = cs.fresh_seeds(uri, tmp_path / "s")
    name = """it's "q" """.strip()
    cs.register_source(uri, ids["d5-s2"], name=name, stage="Production")
    at = page(open_app, uri, [cs.SEEDS_EXP])
    at.selectbox(key="champion_model").set_value(name).run()
    assert not at.exception
    assert any("has the alias @champion yet" in t for t in shown(at))
    at.checkbox(key="champion_stage").check().run()
    assert not at.exception
    assert table(at, "config")["current"].iloc[0] == "v1 (stage Production) (a run of this config)"
    assert any("the champion's configuration is still the best" in t for t in shown(at))



def test_a_repeats_param_that_repeats_nothing_is_said(tmp_path, open_app):
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    uri = f"sqlite:///{tmp_path / 'one.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("single", artifact_location=(tmp_path / "artifacts").as_uri())
    for i, (seed, lr) in enumerate([("1", "0.1"), ("2", "0.2")]):
        rid = client.create_run(exp, start_time=cs.T0 + i, run_name=f"r{i}").info.run_id
        client.log_batch(rid, metrics=[Metric("acc", 0.8 + i / 10, cs.T0, 0)], params=[Param("seed", seed), Param("lr", lr)])
        client.log_artifacts(rid, str(cs._saved_model(tmp_path)), "model")
        client.set_tag(rid, "mlflow.log-model.history", json.dumps([{"artifact_path": "model", "flavors": {}}]))
        client.set_terminated(rid)
    cs.register_source(uri, rid, name="m")
    at = page(open_app, uri, ["single"])
    assert at.selectbox(key="champion_repeats").value == "seed"
    assert any("No configuration has two runs that differ only in seed" in plain(w.value) for w in at.warning)
    assert list(table(at, "config")["n"]) == [1, 1]
