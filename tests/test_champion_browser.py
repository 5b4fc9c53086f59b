"""The Champion page in a real Chromium on a store of configurations repeated over seeds, with two
earlier promotions: the evidence sentence, the ranking of configurations, the lineage chart and
the rollback offer are drawn (screenshot in PODIUM_SHOTS, the README's docs/img/champion.png)."""

from __future__ import annotations

import pytest

import champion_store as cs
from browser import chromium, screenshot, streamlit_server
from podium import champion as ch

EXPERIMENTS = [cs.SEEDS_EXP, cs.SEEDS_BETTER_EXP, cs.SEEDS_SMALL_EXP]


@pytest.fixture(scope="module")
def promoted_store(tmp_path_factory):
    """The repeats store after two promotions by Podium (max_depth=5, then max_depth=7) and a
    rollback to the first."""
    base = tmp_path_factory.mktemp("champion-browser")
    uri, ids = cs.build_seeds(base)
    for experiments, user in (([cs.SEEDS_EXP], "ana"), ([cs.SEEDS_EXP, cs.SEEDS_SMALL_EXP], "bo")):
        policy = ch.ChampionPolicy("acc", repeats_by="random_state")
        ranking = ch.evaluate(uri, experiments, policy, cs.SEEDS_MODEL)
        plan = ch.plan_promotion(uri, ranking, cs.SEEDS_MODEL, user=user)
        assert ch.apply_promotion(uri, plan).changed
    rollback = ch.plan_rollback(uri, cs.SEEDS_MODEL, "champion", promoted_by="cy", metric="acc")
    assert ch.apply_rollback(uri, rollback).changed
    return uri, base


def test_champion_page_draws_evidence_lineage_and_rollback(promoted_store):
    uri, base = promoted_store
    errors = []
    with streamlit_server(uri, base) as url, chromium(viewport=(1400, 2700)) as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(180_000)  # a busy shared machine: waiting is not what is tested
        # The Runs page takes the experiments from its address and shares them with the Champion page.
        page.goto(url + "/?" + "&".join(f"exp={e}" for e in EXPERIMENTS))
        # As a user would: see the Runs page with those runs before going on (a click while its
        # first run is still going could leave the choice unshared, as no person would meet it).
        page.get_by_text("Compare these runs").wait_for()
        page.get_by_text("Champion", exact=True).first.click()
        page.get_by_text("Lineage and rollback").wait_for()
        page.get_by_text("config max_depth=10 (5 runs) 0.948 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006",
                         exact=False).first.wait_for()
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for()
        assert page.get_by_role("button", name="Roll back to v2").count() == 1
        assert page.get_by_role("button", name="Promote").count() == 1
        page.wait_for_timeout(1500)  # let the charts and tables settle before the picture
        shot = screenshot(page, "champion")
    assert shot.exists() and shot.stat().st_size > 50_000
    assert not errors
