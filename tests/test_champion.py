"""Champion core on a real store with real logged scikit-learn models and a real registry."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

import champion_store as cs
from podium import champion as ch
from podium import store
from podium.errors import FilterError, NotFoundError, PodiumError

LATENCY = "metrics.latency_ms < 50"
FINISHED = "attributes.status = 'FINISHED'"


@pytest.fixture
def template(champion_template):
    return champion_template


@pytest.fixture
def fresh(template, tmp_path):
    """(uri, ids) of a private copy of the template store, for tests that write."""
    uri, ids = template
    return cs.fresh_copy(uri, tmp_path / "store"), ids


def ranked(uri, policy, experiments=(cs.EXP_A,), model=cs.MODEL):
    return ch.evaluate(uri, list(experiments), policy, model)


def labels(ids, run_ids):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[r] for r in run_ids]


@pytest.mark.parametrize("policy, expected_order", [
    # No constraint: FAILED still counts, inf and NaN never do.
    (ch.ChampionPolicy("f1"), ["failed", "slow", "best", "tie-noauc", "tie-new", "tie-old", "tie-auc", "legacy", "artifact"]),
    (ch.ChampionPolicy("metrics.f1", constraints=FINISHED), ["slow", "best", "tie-noauc", "tie-new", "tie-old", "tie-auc", "legacy", "artifact"]),
    (ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"), ["best", "tie-noauc", "tie-new", "tie-old", "tie-auc", "legacy", "artifact"]),
    (ch.ChampionPolicy("f1", mode="min", constraints=FINISHED), ["artifact", "legacy", "tie-noauc", "tie-new", "tie-old", "tie-auc", "best", "slow"]),
    # Ties on f1: newer run first without a second metric...
    (ch.ChampionPolicy("f1", constraints="metrics.f1 = 0.85"), ["tie-noauc", "tie-new", "tie-old", "tie-auc"]),
    # ...the second metric first when there is one (a missing one sorts last), then the newer run.
    (ch.ChampionPolicy("f1", constraints="metrics.f1 = 0.85", second_metric="auc"), ["tie-auc", "tie-new", "tie-old", "tie-noauc"]),
    (ch.ChampionPolicy("f1", constraints="metrics.f1 = 0.85", second_metric="auc", second_mode="min"), ["tie-new", "tie-old", "tie-auc", "tie-noauc"]),
    (ch.ChampionPolicy("latency_ms", mode="min", constraints="metrics.f1 >= 0.9"), ["failed", "inf", "best", "slow"]),
])
def test_ranking_order(template, policy, expected_order):
    uri, ids = template
    ranking = ranked(uri, policy)
    assert labels(ids, [c.run_id for c in ranking.candidates]) == expected_order
    assert [c.rank for c in ranking.candidates] == list(range(1, len(expected_order) + 1))
    assert ranking.winner.run_name == expected_order[0]
    # Every run of the experiment is either ranked or excluded with a reason: none vanish.
    assert len(ranking.candidates) + len(ranking.excluded) == 12
    assert all(e.reasons for e in ranking.excluded)


@pytest.mark.parametrize("policy, label, expected_reasons", [
    (ch.ChampionPolicy("f1"), "nomodel", ["no logged model"]),
    (ch.ChampionPolicy("f1"), "nan", ["metric f1 missing (NaN)"]),
    (ch.ChampionPolicy("f1"), "inf", ["metric f1 is inf (not a finite number)"]),
    (ch.ChampionPolicy("f1", constraints=LATENCY), "slow", ["fails constraint: metrics.latency_ms < 50 (latency_ms = 80)"]),
    (ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"), "failed",
     ["fails constraint: attributes.status = 'FINISHED' (status FAILED)"]),
    (ch.ChampionPolicy("f1", constraints=f"{FINISHED} and metrics.auc > 0.9"), "nomodel", ["no logged model"]),
    (ch.ChampionPolicy("f1", constraints="metrics.auc > 0.9"), "tie-noauc", ["fails constraint: metrics.auc > 0.9 (auc = missing)"]),
    (ch.ChampionPolicy("auc", constraints="metrics.f1 > 0.5"), "tie-noauc",
     ["metric auc missing (NaN)"]),
    (ch.ChampionPolicy("auc", constraints="metrics.f1 > 0.5 and metrics.latency_ms < 2"), "legacy",
     ["fails constraint: metrics.f1 > 0.5 (f1 = 0.4)"]),
])
def test_exclusion_reasons(template, policy, label, expected_reasons):
    uri, ids = template
    ranking = ranked(uri, policy)
    excluded = {e.run_id: e for e in ranking.excluded}
    assert ids[label] in excluded, f"{label} should be excluded"
    assert list(excluded[ids[label]].reasons) == expected_reasons
    assert ids[label] not in {c.run_id for c in ranking.candidates}


@pytest.mark.parametrize("label, evidence", [
    ("best", "logged model"), ("legacy", "log-model tag"), ("artifact", "MLmodel artifact"),
])
def test_models_found_in_every_form_mlflow_has_recorded(template, label, evidence):
    uri, ids = template
    ranking = ranked(uri, ch.ChampionPolicy("f1"))
    model = next(c.model for c in ranking.candidates if c.run_id == ids[label])
    assert model.evidence == evidence
    if evidence == "logged model":
        assert model.source == f"models:/{model.model_id}"
    else:
        assert model.source.endswith("/model") and model.model_id is None


@pytest.mark.parametrize("constraints", ["metrics.f1 > 2", "attributes.status = 'KILLED'", "params.model = 'rf'"])
def test_constraints_excluding_every_run(template, constraints):
    uri, _ = template
    ranking = ranked(uri, ch.ChampionPolicy("f1", constraints=constraints))
    assert ranking.candidates == [] and ranking.winner is None and len(ranking.excluded) == 12
    with pytest.raises(PodiumError, match="No eligible run"):
        ch.plan_promotion(uri, ranking, cs.MODEL)


@pytest.mark.parametrize("make, error, match", [
    (lambda: ch.ChampionPolicy("nope"), NotFoundError, "No run logged a metric named 'nope'"),
    (lambda: ch.ChampionPolicy("f1", second_metric="nope2"), NotFoundError, "nope2"),
    (lambda: ch.ChampionPolicy("f1", constraints="metrics.f1 >> 1"), FilterError, "Invalid comparator"),
    (lambda: ch.ChampionPolicy("f1", constraints="f1 > 1"), FilterError, "Invalid attribute key 'f1'"),
])
def test_bad_policies(template, make, error, match):
    uri, _ = template
    with pytest.raises(error, match=match):
        ranked(uri, make())


@pytest.mark.parametrize("mode", ["maximum", "", "MAX"])
def test_policy_rejects_unknown_modes(mode):
    with pytest.raises(PodiumError):
        ch.ChampionPolicy("f1", mode=mode)


def test_comparison_with_current_champion(fresh):
    uri, ids = fresh
    champion_version = cs.register(uri, ids["tie-old"], alias="champion")
    ranking = ranked(uri, ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"))
    comp = ranking.comparison
    assert comp.champion.version == champion_version and comp.champion_run_name == "tie-old"
    rows = {r.metric: r for r in comp.rows}
    assert list(rows)[0] == "f1" and set(rows) == {"f1", "auc", "latency_ms"}
    assert rows["f1"].challenger == 0.90 and rows["f1"].champion == 0.85
    assert rows["f1"].delta == pytest.approx(0.05)
    assert rows["latency_ms"].delta == pytest.approx(10.0)
    assert comp.challenger_beats and not comp.same_run
    frame = ranking.comparison_frame()
    assert list(frame.columns) == ["metric", "challenger", "champion", "delta"] and len(frame) == 3
    candidates = ranking.candidates_frame()
    assert dict(zip(candidates["run_name"], candidates["current"]))["tie-old"] == f"v{champion_version} @champion"
    assert (candidates["current"] != "").sum() == 1


@pytest.mark.parametrize("champion_label, policy, beats, why", [
    # The champion comes from another experiment and is better: keep it.
    ("other", ch.ChampionPolicy("f1"), False, "run failed 0.970 vs champion run other 0.999: worse, gain -0.029"),
    # ...but it breaks the latency constraint, so the challenger wins.
    ("other", ch.ChampionPolicy("f1", constraints=LATENCY), True, "the champion breaks the policy: fails constraint: metrics.latency_ms < 50"),
    # Same f1 and auc: the newer run wins the tie.
    ("tie-old", ch.ChampionPolicy("f1", constraints="metrics.f1 = 0.85 and metrics.auc = 0.9"), True, "newer run"),
    ("best", ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"), False, "already the champion"),
])
def test_challenger_against_champion(fresh, champion_label, policy, beats, why):
    uri, ids = fresh
    cs.register(uri, ids[champion_label], alias="champion")
    ranking = ranked(uri, policy)
    assert ranking.comparison.challenger_beats is beats
    assert why in ranking.comparison.why
    plan = ch.plan_promotion(uri, ranking, cs.MODEL)
    assert plan.changes_anything is beats
    assert plan.decision.startswith("Promote" if beats else "Keep")


def _promote(uri, policy, **kw):
    ranking = ranked(uri, policy)
    plan = ch.plan_promotion(uri, ranking, cs.MODEL, **kw)
    return plan, ch.apply_promotion(uri, plan)


@pytest.mark.parametrize("registered_before", [[], ["best"], ["tie-old", "best"]])
def test_promotion_sets_alias_on_the_winners_version(fresh, registered_before):
    """Registers the winner only when it has no version yet; the alias lands on its version."""
    uri, ids = fresh
    before = {label: cs.register(uri, ids[label]) for label in registered_before}
    plan, result = _promote(uri, ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"))
    versions = store.model_versions(uri, cs.MODEL)
    best_versions = [v for v in versions if v.run_id == ids["best"]]
    assert len(best_versions) == 1  # never a second version for the same run
    assert result.changed and result.created_version is ("best" not in before)
    assert store.version_by_alias(uri, cs.MODEL, "champion").version == best_versions[0].version
    assert len(versions) == len(before) + (0 if "best" in before else 1)
    if "best" not in before:
        assert best_versions[0].source.startswith("models:/m-")


@pytest.mark.parametrize("env", [None, "sqlite:///the-store-the-app-was-started-on.db"])
def test_promotion_leaves_mlflows_process_state_as_it_was(fresh, monkeypatch, env):
    """Registering a version points MLflow's process-global URI at the store for a moment; after
    it, the environment is as before: a web app keeps the store it was started on."""
    import stores

    if env is None:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", env)
    before = stores.global_mlflow_state()
    uri, _ = fresh
    _, result = _promote(uri, ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"))
    assert result.created_version  # the registering path, the one that touches the globals
    assert stores.global_mlflow_state() == before


@pytest.mark.parametrize("policy", [
    ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"),
    ch.ChampionPolicy("f1", constraints="metrics.f1 < 0.5"),  # the MLflow 2-style legacy run wins
    ch.ChampionPolicy("f1", mode="min"),  # the artifact-only run wins
])
def test_apply_twice_changes_nothing_the_second_time(fresh, policy):
    uri, ids = fresh
    cs.register(uri, ids["tie-old"], alias="champion")
    _, first = _promote(uri, policy)
    assert first.changed
    after_first = cs.registry_dump(uri)
    plan, second = _promote(uri, policy)
    assert not plan.changes_anything and plan.decision.startswith("Keep")
    assert not second.changed
    assert cs.registry_dump(uri) == after_first


def test_apply_is_idempotent_even_with_a_stale_plan(fresh):
    uri, _ = fresh
    ranking = ranked(uri, ch.ChampionPolicy("f1", constraints=LATENCY))
    plan = ch.plan_promotion(uri, ranking, cs.MODEL)
    assert ch.apply_promotion(uri, plan).changed
    state = cs.registry_dump(uri)
    assert not ch.apply_promotion(uri, plan).changed  # same plan applied again
    assert cs.registry_dump(uri) == state


@pytest.mark.parametrize("policy, champion", [
    (ch.ChampionPolicy("f1", constraints=LATENCY), "tie-old"),
    (ch.ChampionPolicy("f1", constraints=LATENCY), None),
    (ch.ChampionPolicy("auc", mode="min", second_metric="f1"), "best"),
])
def test_dry_run_leaves_the_store_byte_for_byte(fresh, policy, champion):
    uri, ids = fresh
    if champion:
        cs.register(uri, ids[champion], alias="champion")
    dump, digest = cs.registry_dump(uri), cs.file_hash(uri)
    ranking = ranked(uri, policy)
    plan = ch.plan_promotion(uri, ranking, cs.MODEL, user="ana", report="run 123")
    ch.promotion_history(uri, cs.MODEL)
    assert plan.changes_anything
    assert cs.registry_dump(uri) == dump
    assert cs.file_hash(uri) == digest


def test_audit_tags(fresh):
    uri, ids = fresh
    previous = cs.register(uri, ids["tie-old"], alias="champion")
    policy = ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}", second_metric="auc")
    _, result = _promote(uri, policy, user="ana <ops>", report="https://example.org/report/7")
    tags = store.version_by_alias(uri, cs.MODEL, "champion").tags
    assert tags[ch.TAG_BY] == "ana <ops>"
    assert datetime.fromisoformat(tags[ch.TAG_AT]).utcoffset().total_seconds() == 0
    assert json.loads(tags[ch.TAG_POLICY]) == {"metric": "f1", "mode": "max", "constraints": f"{LATENCY} and {FINISHED}",
                                                "second_metric": "auc", "second_mode": "max", "repeats_by": None,
                                                "confidence": None, "min_gain": None, "aggregate": "last", "champion_stage": None}
    assert tags[ch.TAG_EVIDENCE] == "run best 0.900 vs champion run tie-old 0.850: better, gain 0.050"
    assert tags[ch.TAG_ACTION] == "promote" and json.loads(tags[ch.TAG_STATS])["mean"] == 0.9
    assert tags[ch.TAG_PREVIOUS] == str(previous)
    assert tags[ch.TAG_RUN] == ids["best"] and tags[ch.TAG_ALIAS] == "champion"
    assert tags[ch.TAG_REPORT] == "https://example.org/report/7"
    deltas = json.loads(tags[ch.TAG_DELTAS])
    assert deltas["f1"] == pytest.approx({"challenger": 0.9, "champion": 0.85, "delta": 0.05})
    assert deltas["latency_ms"]["delta"] == pytest.approx(10.0)


@pytest.mark.parametrize("create_model", [True, False])
def test_missing_registered_model(fresh, create_model):
    uri, ids = fresh
    ranking = ranked(uri, ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"))
    assert ranking.champion is None and ranking.comparison is None
    if not create_model:
        with pytest.raises(NotFoundError, match="No registered model named 'churn-model'"):
            ch.plan_promotion(uri, ranking, cs.MODEL, create_model=False)
        assert not store.registered_model_exists(uri, cs.MODEL)
        return
    plan = ch.plan_promotion(uri, ranking, cs.MODEL)
    assert plan.create_model and plan.changes[0] == "create registered model 'churn-model'"
    assert not store.registered_model_exists(uri, cs.MODEL)  # planning wrote nothing
    result = ch.apply_promotion(uri, plan)
    assert result.version == 1
    assert store.version_by_alias(uri, cs.MODEL, "champion").run_id == ids["best"]
    assert store.version_by_alias(uri, cs.MODEL, "champion").tags[ch.TAG_PREVIOUS] == ""


def test_history_newest_first(fresh):
    uri, ids = fresh
    steps = [
        (ch.ChampionPolicy("f1", constraints="metrics.f1 < 0.35"), "artifact"),
        (ch.ChampionPolicy("f1", constraints="metrics.f1 < 0.5"), "legacy"),
        (ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}"), "best"),
    ]
    for policy, _ in steps:
        assert _promote(uri, policy, user="ana")[1].changed
    history = ch.promotion_history(uri, cs.MODEL)
    assert labels(ids, [h.run_id for h in history]) == ["best", "legacy", "artifact"]
    assert [h.previous_version for h in history] == ["2", "1", ""]
    assert [h.current for h in history] == [True, False, False]
    assert [h.promoted_at for h in history] == sorted((h.promoted_at for h in history), reverse=True)
    frame = ch.history_frame(history)
    assert frame["policy"].iloc[0].startswith("highest f1") and len(frame) == 3


def test_history_ignores_versions_podium_did_not_promote(fresh):
    uri, ids = fresh
    cs.register(uri, ids["tie-old"], alias="champion")
    assert ch.promotion_history(uri, cs.MODEL) == []
    assert ch.promotion_history(uri, "no-such-model") == []


def test_promotion_through_a_tracking_server(fresh, tmp_path):
    """The same promotion, idempotency, audit trail and history through a real `mlflow server`:
    Podium talks to the server's REST registry, never to its database."""
    import stores

    db_uri, ids = fresh
    with stores.mlflow_server(db_uri, tmp_path / "server-artifacts") as url:
        previous = cs.register(url, ids["tie-old"], alias="champion")
        policy = ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}")
        dump = cs.registry_dump(db_uri)
        plan = ch.plan_promotion(url, ranked(url, policy), cs.MODEL, user="ana")
        assert plan.changes_anything and cs.registry_dump(db_uri) == dump  # the dry run wrote nothing
        first = ch.apply_promotion(url, plan)
        assert first.changed and first.created_version
        champion = store.version_by_alias(url, cs.MODEL, "champion")
        assert champion.run_id == ids["best"]
        assert champion.tags[ch.TAG_BY] == "ana" and champion.tags[ch.TAG_PREVIOUS] == str(previous)
        state = cs.registry_dump(db_uri)
        again = ch.plan_promotion(url, ranked(url, policy), cs.MODEL, user="ana")
        assert not again.changes_anything and not ch.apply_promotion(url, again).changed
        assert cs.registry_dump(db_uri) == state
        assert [h.run_id for h in ch.promotion_history(url, cs.MODEL)] == [ids["best"]]


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_ranking_and_promotion_on_database_backends(template, backend, tmp_path):
    """PostgreSQL and MariaDB: the same ranking as on SQLite, then a promotion with its dry run,
    audit trail, idempotency and history, all in the real database's registry tables."""
    import stores

    policy = ch.ChampionPolicy("f1", constraints=f"{LATENCY} and {FINISHED}", second_metric="auc")
    sqlite_uri, sqlite_ids = template
    expected = labels(sqlite_ids, ranked(sqlite_uri, policy).candidates_frame()["run_id"])
    database = stores.postgres_database(migrated=True) if backend == "postgresql" else stores.mysql_database(migrated=True)
    with database as uri:
        uri, ids = cs.build(tmp_path, uri)
        assert labels(ids, ranked(uri, policy).candidates_frame()["run_id"]) == expected
        previous = cs.register(uri, ids["tie-old"], alias="champion")
        dump = cs.registry_dump(uri)
        plan = ch.plan_promotion(uri, ranked(uri, policy), cs.MODEL, user="ana")
        assert plan.changes_anything and cs.registry_dump(uri) == dump  # the dry run wrote nothing
        assert ch.apply_promotion(uri, plan).changed
        champion = store.version_by_alias(uri, cs.MODEL, "champion")
        assert champion.run_id == ids[expected[0]]
        assert champion.tags[ch.TAG_PREVIOUS] == str(previous) and json.loads(champion.tags[ch.TAG_POLICY])["metric"] == "f1"
        state = cs.registry_dump(uri)
        again = ch.plan_promotion(uri, ranked(uri, policy), cs.MODEL, user="ana")
        assert not again.changes_anything and not ch.apply_promotion(uri, again).changed
        assert cs.registry_dump(uri) == state
        assert [h.run_id for h in ch.promotion_history(uri, cs.MODEL)] == [ids[expected[0]]]
