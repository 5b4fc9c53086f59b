"""Champion decisions on evidence, on a real store of configurations repeated over seeds.

The champion is one run (random_state 2, acc 0.893) of configuration max_depth=5 (mean 0.901 over
five seeds). A lucky seed of max_depth=3 beats it run against run but not on the mean;
max_depth=10 is clearly better; max_depth=7 is better by a hair.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import champion_store as cs
from podium import champion as ch
from podium import store
from podium.cli import main
from podium.errors import NotFoundError, PodiumError

SEEDS, BETTER, SMALL, HISTORY = cs.SEEDS_EXP, cs.SEEDS_BETTER_EXP, cs.SEEDS_SMALL_EXP, cs.HISTORY_EXP
REPEATS = ["--repeats-by", "random_state"]
EXAMPLE = ("config max_depth=10 (5 runs) 0.948 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006: "
           "better, p = 6.2e-07 < 0.05, gain 0.047 ≥ 0.010")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return cs.seeds_template(tmp_path_factory)


@pytest.fixture
def fresh(seeds, tmp_path):
    uri, ids = seeds
    return cs.fresh_seeds(uri, tmp_path / "store"), ids


def cli(uri, experiments, *extra, metric="acc", model=cs.SEEDS_MODEL):
    args = ["champion", "--tracking-uri", uri, "--metric", metric, "--model-name", model]
    for e in experiments:
        args += ["--experiment", e]
    return main(args + list(extra))


@pytest.mark.parametrize("experiments, extra, code, says", [
    # Run against run, the lucky seed wins...
    ([SEEDS], [], 3, "REPLACE: a challenger would replace the champion: run d3-s2 0.930 vs champion run d5-s2 0.893: better, gain 0.037"),
    # ...configuration against configuration it does not.
    ([SEEDS], [*REPEATS, "--confidence", "0.95"], 0, "the champion's configuration is still the best"),
    ([SEEDS], REPEATS, 0, "the champion's configuration is still the best"),
    # A hair better on the mean: replaces without gates, not with a minimum gain or a confidence level.
    ([SEEDS, SMALL], REPEATS, 3, "config max_depth=7 (5 runs) 0.905 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006: better, gain 0.004"),
    ([SEEDS, SMALL], [*REPEATS, "--min-gain", "0.01"], 0, "better by less than the minimum gain, gain 0.004 < 0.010"),
    ([SEEDS, SMALL], [*REPEATS, "--min-gain", "0.4%"], 3, "gain 0.004 ≥ 0.004 (0.4%)"),
    ([SEEDS, SMALL], [*REPEATS, "--min-gain", "1%"], 0, "gain 0.004 < 0.009 (1%)"),
    ([SEEDS, SMALL], [*REPEATS, "--confidence", "0.95"], 0, "not better with confidence, p = 0.12 ≥ 0.05"),
    ([SEEDS, BETTER], [*REPEATS, "--confidence", "0.95", "--min-gain", "0.01"], 3, EXAMPLE),
    # One run a side with a confidence level: said plainly, the other rules decide.
    ([SEEDS], ["--confidence", "0.95"], 3, "no confidence can be given with a single run on either side"),
    ([SEEDS], ["--min-gain", "0.05"], 0, "gain 0.037 < 0.050"),
])
def test_check_exit_codes(seeds, capsys, experiments, extra, code, says):
    uri, _ = seeds
    before = cs.file_hash(uri)
    assert cli(uri, experiments, *extra, "--check") == code
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, out
    assert out.startswith("REPLACE" if code == 3 else "STANDS") and says in out
    assert cs.file_hash(uri) == before


@pytest.mark.parametrize("extra, message", [
    (["--apply"], "--check only reads"),
    (["--repeats-by", "nope"], "No run logged a param named 'nope'"),
    (["--confidence", "1.5"], "Confidence must be between 0 and 1"),
    (["--min-gain", "lots"], "Minimum gain must be a number"),
    (["--notify-url", "ftp://x"], "must be an http:// or https:// address"),
])
def test_check_errors_exit_2(seeds, capsys, extra, message):
    uri, _ = seeds
    assert cli(uri, [SEEDS], "--check", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_ranking_by_configuration_mean(seeds):
    uri, ids = seeds
    policy = ch.ChampionPolicy("acc", repeats_by="random_state", confidence=0.95)
    ranking = ch.evaluate(uri, [SEEDS, BETTER, SMALL], policy, cs.SEEDS_MODEL)
    assert [c.config for c in ranking.candidates] == ["config max_depth=10", "config max_depth=7", "config max_depth=5",
                                                      "config max_depth=3"]
    assert [c.n for c in ranking.candidates] == [5, 5, 5, 5]
    best = ranking.winner
    assert best.run_id == ids["d10-s2"] and best.run_value == 0.953  # the representative: the config's best run
    assert best.value == pytest.approx(0.9476) and best.summary.std == pytest.approx(0.00513, abs=1e-5)
    assert best.summary.low < best.value < best.summary.high
    frame = ranking.candidates_frame()
    assert list(frame.columns[:9]) == ["rank", "config", "n", "acc", "sd", "ci_low", "ci_high", "run_name", "run_value"]
    assert frame.loc[frame["config"] == "config max_depth=5", "current"].item() == "v1 @champion (a run of this config)"
    assert ranking.comparison.why == EXAMPLE.replace(" ≥ 0.010", "")
    assert ranking.excluded == []


def test_a_clearly_better_configuration_is_promoted_and_its_best_run_registered(fresh, capsys):
    uri, ids = fresh
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--confidence", "0.95", "--min-gain", "0.01", "--apply",
               "--promoted-by", "ana") == 0
    assert "is now @champion" in capsys.readouterr().out
    champion = store.version_by_alias(uri, cs.SEEDS_MODEL, "champion")
    assert champion.run_id == ids["d10-s2"] and champion.version == 2
    tags = champion.tags
    assert tags[ch.TAG_EVIDENCE] == EXAMPLE and tags[ch.TAG_BY] == "ana" and tags[ch.TAG_PREVIOUS] == "1"
    assert ch.recorded_evidence(champion) == EXAMPLE and ch.recorded_evidence(None) is None
    stats = json.loads(tags[ch.TAG_STATS])
    assert stats["n"] == 5 and stats["mean"] == pytest.approx(0.9476) and stats["low"] < stats["mean"] < stats["high"]
    policy = json.loads(tags[ch.TAG_POLICY])
    assert (policy["repeats_by"], policy["confidence"], policy["min_gain"]) == ("random_state", 0.95, "0.01")
    # The champion stands now.
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--confidence", "0.95", "--check") == 0
    assert capsys.readouterr().out.startswith("STANDS")


@pytest.mark.parametrize("aggregate, metric, mode, winner", [
    ("last", "val_acc", "max", "steady"),  # MLflow's latest value: 0.89 vs 0.84
    ("max", "val_acc", "max", "early"),  # best of the history: 0.93 vs 0.89
    ("min", "val_acc", "min", "early"),  # lowest of the history: 0.80 vs 0.86
])
def test_aggregate_ranks_by_the_history(seeds, aggregate, metric, mode, winner):
    uri, ids = seeds
    policy = ch.ChampionPolicy(metric, mode, aggregate=aggregate)
    ranking = ch.evaluate(uri, [HISTORY], policy, cs.SEEDS_MODEL)
    assert ranking.winner.run_id == ids[winner]
    expected = {"last": cs.HISTORIES[winner][-1], "max": max(cs.HISTORIES[winner]), "min": min(cs.HISTORIES[winner])}[aggregate]
    assert ranking.winner.value == pytest.approx(expected)


def test_aggregate_max_in_the_cli(seeds, capsys):
    uri, _ = seeds
    assert cli(uri, [HISTORY], "--aggregate", "max", metric="val_acc") == 0
    out = capsys.readouterr().out
    assert "#1   early  val_acc=0.930" in out and "highest value of each run's history" in out


def test_rollback_moves_the_alias_back_and_is_audited(fresh, capsys):
    uri, ids = fresh
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--apply", "--promoted-by", "ana") == 0
    assert store.version_by_alias(uri, cs.SEEDS_MODEL, "champion").version == 2
    dump = cs.registry_dump(uri)
    # Dry run first: says what it would do, changes nothing.
    assert cli(uri, [SEEDS], "--rollback") == 0
    assert "Roll back: @champion goes from version 2 back to version 1" in capsys.readouterr().out
    assert cs.registry_dump(uri) == dump
    plan = ch.plan_rollback(uri, cs.SEEDS_MODEL, "champion", promoted_by="bo", metric="acc")
    result = ch.apply_rollback(uri, plan)
    assert result.changed and (result.previous_version, result.version) == (2, 1)
    champion = store.version_by_alias(uri, cs.SEEDS_MODEL, "champion")
    assert champion.version == 1 and champion.run_id == ids["d5-s2"]
    tags = champion.tags
    assert (tags[ch.TAG_ACTION], tags[ch.TAG_BY], tags[ch.TAG_PREVIOUS]) == ("rollback", "bo", "2")
    assert tags[ch.TAG_EVIDENCE] == "Rolled back @champion from v2 to v1."
    # A stale plan changes nothing the second time.
    state = cs.registry_dump(uri)
    assert not ch.apply_rollback(uri, plan).changed and cs.registry_dump(uri) == state
    history = ch.promotion_history(uri, cs.SEEDS_MODEL)
    assert [(h.version, h.action, h.current) for h in history] == [(1, "rollback", True), (2, "promote", False)]
    lineage = ch.lineage_frame(history, "acc")
    assert list(lineage["label"]) == ["v2", "v1"] and list(lineage["action"]) == ["promote", "rollback"]
    assert lineage["value"].iloc[0] == pytest.approx(0.9476) and lineage["low"].iloc[0] < 0.9476 < lineage["high"].iloc[0]
    assert lineage["value"].iloc[1] == 0.893 and lineage["n"].iloc[1] == 1  # v1's own run, recorded by the rollback
    ch.lineage_chart(lineage, "acc").to_dict()  # a valid Vega-Lite spec
    # Promoting again after a rollback keeps the earlier promotion of that version in the trail.
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--apply", "--promoted-by", "cy") == 0
    history = ch.promotion_history(uri, cs.SEEDS_MODEL)
    assert [(h.version, h.action, h.promoted_by) for h in history] == [(2, "promote", "cy"), (1, "rollback", "bo"), (2, "promote", "ana")]
    frame = ch.history_frame(history)
    assert list(frame["action"]) == ["promote", "rollback", "promote"]


@pytest.mark.parametrize("setup, message", [
    ("none", "has the alias @nothing-here: nothing to roll back"),
    ("unaudited", "has no recorded previous champion"),
])
def test_rollback_refuses_without_a_previous_champion(seeds, tmp_path, setup, message):
    uri, ids = seeds
    uri = cs.fresh_seeds(uri, tmp_path / "s")
    alias = "nothing-here" if setup == "none" else "champion"
    with pytest.raises((NotFoundError, PodiumError), match=message):
        ch.plan_rollback(uri, cs.SEEDS_MODEL, alias)


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A real HTTP server on 127.0.0.1 in a thread; yields (url, handler class)."""
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/T000/secret-token", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_is_called_after_a_promotion(fresh, webhook, capsys):
    uri, ids = fresh
    url, hook = webhook
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--confidence", "0.95", "--apply", "--promoted-by", "ana", "--notify-url", url) == 0
    out = capsys.readouterr().out
    assert "Notified 127.0.0.1:" in out and "secret-token" not in out
    [(path, content_type, body)] = hook.received
    assert path == "/hooks/T000/secret-token" and content_type == "application/json"
    assert (body["model"], body["alias"], body["from_version"], body["to_version"], body["user"]) == (cs.SEEDS_MODEL, "champion", 1, 2, "ana")
    assert body["evidence"].startswith("config max_depth=10 (5 runs) 0.948") and "repeats by random_state" in body["policy"]
    assert body["text"].startswith(f"{cs.SEEDS_MODEL} @champion: v1 → v2, promoted by ana.") and body["run_id"] == ids["d10-s2"]
    # A dry run or a promotion that changes nothing posts nothing.
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--apply", "--notify-url", url) == 0
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--notify-url", url) == 0
    assert len(hook.received) == 1
    # A rollback is announced too.
    assert cli(uri, [SEEDS], "--rollback", "--apply", "--promoted-by", "bo", "--notify-url", url) == 0
    assert hook.received[-1][2]["event"] == "rollback" and hook.received[-1][2]["to_version"] == 1


@pytest.mark.parametrize("failure", ["http-500", "refused"])
def test_a_failed_webhook_is_reported_and_the_promotion_stands(fresh, webhook, capsys, failure):
    from stores import free_port

    uri, ids = fresh
    url, hook = webhook
    hook.status = 500
    if failure == "refused":
        url = f"http://127.0.0.1:{free_port()}/hook?token=secret-token"
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--apply", "--notify-url", url) == 0
    captured = capsys.readouterr()
    assert "is now @champion" in captured.out
    assert "Notification to 127.0.0.1:" in captured.err and "The promotion stands." in captured.err
    assert ("HTTP 500" in captured.err) is (failure == "http-500") and "secret-token" not in captured.err
    assert store.version_by_alias(uri, cs.SEEDS_MODEL, "champion").run_id == ids["d10-s2"]


def test_promoted_by_is_the_callers(fresh):
    """In team mode the page passes the signed-in user; it wins over the plan's."""
    uri, ids = fresh
    policy = ch.ChampionPolicy("acc", repeats_by="random_state")
    ranking = ch.evaluate(uri, [SEEDS, BETTER], policy, cs.SEEDS_MODEL)
    plan = ch.plan_promotion(uri, ranking, cs.SEEDS_MODEL, user="typed-in")
    ch.apply_promotion(uri, plan, promoted_by="signed-in@example.org")
    assert store.version_by_alias(uri, cs.SEEDS_MODEL, "champion").tags[ch.TAG_BY] == "signed-in@example.org"


def test_a_frame_already_loaded_is_used_as_is(seeds):
    """The page passes its loaded frame: ranking works on it (a subset here) without reloading runs."""
    uri, ids = seeds
    runs = store.load_runs(uri, [SEEDS, BETTER])
    subset = runs[runs["params.max_depth"] != "10"]
    policy = ch.ChampionPolicy("acc", repeats_by="random_state")
    ranking = ch.evaluate(uri, [SEEDS, BETTER], policy, cs.SEEDS_MODEL, runs=subset)
    assert [c.config for c in ranking.candidates] == ["config max_depth=5", "config max_depth=3"]


def test_legacy_stage_stands_in_for_a_missing_alias(seeds, tmp_path):
    uri, ids = seeds
    uri = cs.fresh_seeds(uri, tmp_path / "s")
    name = "staged-model"
    cs.register_source(uri, ids["d3-s0"], name=name, stage="Staging")
    version = cs.register_source(uri, ids["d5-s2"], name=name, stage="Production")
    policy = ch.ChampionPolicy("acc", repeats_by="random_state", champion_stage="Production")
    ranking = ch.evaluate(uri, [SEEDS], policy, name)
    assert ranking.champion.version == version and ranking.champion_via == "stage"
    assert ch.version_label(ranking.champion, "stage") == f"v{version} (stage Production)"
    assert ranking.candidates_frame()["current"].iloc[0] == f"v{version} (stage Production) (a run of this config)"
    plan = ch.plan_promotion(uri, ranking, name)
    assert not plan.changes_anything and "still the best" in plan.decision
    # Without the stage rule there is no champion.
    assert ch.evaluate(uri, [SEEDS], ch.ChampionPolicy("acc"), name).champion is None


def test_model_name_with_both_quotes(seeds, tmp_path, capsys):
    uri, ids = seeds
    uri = cs.fresh_seeds(uri, tmp_path / "s")
    name = """it's "q" """.strip()
    cs.register_source(uri, ids["d5-s2"], name=name, alias="champion")
    assert cli(uri, [SEEDS, BETTER], *REPEATS, "--apply", model=name) == 0
    assert store.version_by_alias(uri, name, "champion").run_id == ids["d10-s2"]
    assert [h.version for h in ch.promotion_history(uri, name)] == [2]


@pytest.mark.parametrize("extra, code", [([], 3), (REPEATS + ["--confidence", "0.95"], 0), (["--min-gain", "x%"], 2)])
def test_check_as_a_ci_job_runs_it(seeds, tmp_path, extra, code):
    """The CI gate as a pipeline calls it: a process, its exit code, one line of output."""
    import subprocess
    import sys

    uri, _ = seeds
    proc = subprocess.run([sys.executable, "-m", "podium", "champion", "--tracking-uri", uri, "--experiment", SEEDS,
                           "--metric", "acc", "--model-name", cs.SEEDS_MODEL, "--check", *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == code
    output = proc.stdout if code != 2 else proc.stderr
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written in the working folder


@pytest.mark.parametrize("backend", ["server", "postgresql", "mysql"])
def test_repeats_aggregate_and_rollback_on_other_backends(seeds, tmp_path, backend):
    """The same decisions through a tracking server's REST API and on PostgreSQL / MariaDB (metric
    summaries from the database's grouped query), then a promotion and a rollback."""
    import stores

    if backend == "server":
        db_uri = cs.fresh_seeds(seeds[0], tmp_path / "db")
        ids = seeds[1]
        context = stores.mlflow_server(db_uri, tmp_path / "server-artifacts")
    else:
        context = stores.postgres_database(migrated=True) if backend == "postgresql" else stores.mysql_database(migrated=True)
    with context as uri:
        if backend != "server":
            uri, ids = cs.build_seeds(tmp_path, uri)
            cs.register_source(uri, ids["d5-s2"], alias="champion")
        early = ch.evaluate(uri, [HISTORY], ch.ChampionPolicy("val_acc", aggregate="max"), cs.SEEDS_MODEL)
        assert early.winner.run_id == ids["early"] and early.winner.value == pytest.approx(0.93)
        policy = ch.ChampionPolicy("acc", repeats_by="random_state", confidence=0.95, min_gain="0.01")
        assert "the champion's configuration is still the best" in ch.evaluate(uri, [SEEDS], policy, cs.SEEDS_MODEL).evidence
        ranking = ch.evaluate(uri, [SEEDS, BETTER], policy, cs.SEEDS_MODEL)
        assert ranking.evidence == EXAMPLE
        result = ch.apply_promotion(uri, ch.plan_promotion(uri, ranking, cs.SEEDS_MODEL, user="ana"))
        assert result.changed and store.version_by_alias(uri, cs.SEEDS_MODEL, "champion").run_id == ids["d10-s2"]
        back = ch.apply_rollback(uri, ch.plan_rollback(uri, cs.SEEDS_MODEL, "champion", promoted_by="bo", metric="acc"))
        assert back.changed and store.version_by_alias(uri, cs.SEEDS_MODEL, "champion").run_id == ids["d5-s2"]
        assert [h.action for h in ch.promotion_history(uri, cs.SEEDS_MODEL)] == ["rollback", "promote"]
