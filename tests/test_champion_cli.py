"""``python -m podium champion``: ranking and decision printed, nothing changed without --apply."""

from __future__ import annotations

import pytest

import champion_store as cs
from podium import store
from podium.cli import main


@pytest.fixture
def fresh(champion_with_alias):
    return champion_with_alias


def cli(uri, *extra, metric="f1", model=cs.MODEL, experiment=cs.EXP_A):
    return main(["champion", "--tracking-uri", uri, "--experiment", experiment, "--metric", metric,
                 "--model-name", model, *extra])


WHERE = ["--where", "metrics.latency_ms < 50 and attributes.status = 'FINISHED'"]


def test_dry_run_prints_ranking_and_changes_nothing(fresh, capsys):
    uri, _ = fresh
    before, digest = cs.registry_dump(uri), cs.file_hash(uri)
    assert cli(uri, *WHERE) == 0
    out = capsys.readouterr().out
    assert "#1   best" in out and "tie-noauc" in out  # run names in the ranking
    assert "nomodel: no logged model" in out
    assert "challenger beats champion: yes" in out
    assert "Decision: Promote run best" in out and "Dry run, nothing changed" in out
    assert cs.registry_dump(uri) == before and cs.file_hash(uri) == digest


def test_apply_then_apply_again(fresh, capsys):
    uri, ids = fresh
    assert cli(uri, *WHERE, "--apply") == 0
    assert "is now @champion" in capsys.readouterr().out
    assert store.version_by_alias(uri, cs.MODEL, "champion").run_id == ids["best"]
    state = cs.registry_dump(uri)
    assert cli(uri, *WHERE, "--apply") == 0
    assert "Keep: version 2 (run best) is already @champion" in capsys.readouterr().out
    assert cs.registry_dump(uri) == state


@pytest.mark.parametrize("kwargs, extra, message", [
    ({"model": "no-such-model"}, [], "No registered model named 'no-such-model'"),
    ({"metric": "nope"}, [], "No run logged a metric named 'nope'"),
    ({"experiment": "no-such-exp"}, [], "No experiment named 'no-such-exp'"),
    ({}, ["--where", "metrics.f1 >> 1"], "Invalid comparator"),
    ({}, ["--where", "metrics.f1 > 5"], "No eligible run"),
    ({}, ["--where", "metrics.f1 > 5", "--apply"], "No eligible run"),
])
def test_bad_input_is_one_line_and_exit_2(fresh, capsys, kwargs, extra, message):
    uri, _ = fresh
    before = cs.registry_dump(uri)
    assert cli(uri, *extra, **kwargs) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("podium champion: error:")
    assert cs.registry_dump(uri) == before


@pytest.mark.parametrize("flag, created", [([], False), (["--create-model"], True)])
def test_create_model_only_when_asked(champion_template, tmp_path, capsys, flag, created):
    uri = cs.fresh_copy(champion_template[0], tmp_path / "store")
    code = cli(uri, *WHERE, "--apply", *flag, model="new-model")
    assert code == (0 if created else 2)
    assert store.registered_model_exists(uri, "new-model") is created
