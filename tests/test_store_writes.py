"""Writes happen only where nothing else can change: an older schema is refused, not migrated, and
the same promotion twice at once registers one version."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest

from podium import champion as ch
from podium import store
from podium.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stores"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fixture", ["mlflow-1.30.1.db", "mlflow-2.9.2.db", "mlflow-2.22.5.db"])
def test_a_promotion_on_an_older_schema_refuses_and_changes_nothing(tmp_path, capsys, monkeypatch, fixture):
    path = tmp_path / fixture
    shutil.copyfile(FIXTURES / fixture, path)
    monkeypatch.chdir(tmp_path)
    before = _digest(path)
    code = main(["champion", "--tracking-uri", f"sqlite:///{path}", "--experiment", "fixture-train", "--metric", "accuracy",
                 "--mode", "max", "--model-name", "fixture-model", "--alias", "shipped", "--apply"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Podium does not upgrade a team's database" in err and len(err.strip().splitlines()) == 1
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [fixture]


def test_the_same_promotion_twice_at_once_registers_one_version(tmp_path_factory, tmp_path):
    # Two sessions press Promote on the same plan at the same moment.
    import champion_store as cs

    template_uri, ids = cs.template(tmp_path_factory)
    uri = cs.fresh_copy(template_uri, tmp_path)
    policy = ch.ChampionPolicy(metric="f1", mode="max", constraints="metrics.latency_ms < 50")
    ranking = ch.evaluate(uri, [cs.EXP_A], policy, cs.MODEL, "champion")
    plan = ch.plan_promotion(uri, ranking, cs.MODEL, "champion", user="ci")
    assert plan.run_id in ids.values() and plan.changes
    results, errors = [], []

    def promote():
        try:
            results.append(ch.apply_promotion(uri, plan, promoted_by="ci"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=promote) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert errors == []
    versions = [v for v in store.model_versions(uri, cs.MODEL) if v.run_id == plan.run_id]
    assert len(versions) == 1
    assert store.version_by_alias(uri, cs.MODEL, "champion").run_id == plan.run_id
