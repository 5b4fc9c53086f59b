"""Team mode (issue 12): a real ``mlflow server --app-name basic-auth``, users and permissions made
with MLflow's own API, Podium started with ``--auth mlflow``, driven in headless Chromium.

- a wrong password gets a message and nothing else;
- a user with READ on one experiment sees that one only, also through a permalink to the other;
- two users signed in at once never see each other's data;
- promotion as a user with EDIT on the model records them in ``podium.promoted_by``; a user
  without it is refused with a message naming the permission;
- no page makes a request outside the app's own server.
"""

from __future__ import annotations

import re

import pytest
import requests

import harness_deploy as hd
from browser import chromium, screenshot

pytestmark = [pytest.mark.server, pytest.mark.browser]

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-123", "carol": "carol-password-1"}


@pytest.fixture(scope="module")
def team(team_server, tmp_path_factory):
    """The session's basic-auth server with the team data (conftest ``team_server``), three users
    of this module's own, and one team-mode Podium. The model they promote is the seeded
    ``hd.MODEL``; test_deploy promotes a model of its own on the same server."""
    backend = team_server
    alpha, beta = (hd.experiment_id(backend, name) for name in hd.EXPERIMENTS)
    for user, password in PASSWORDS.items():
        hd.create_user(backend, user, password)
    hd.grant(backend, "alice", "experiment", alpha, "READ")
    hd.grant(backend, "bob", "experiment", beta, "EDIT")
    hd.grant(backend, "bob", "experiment", alpha, "READ")
    hd.grant(backend, "bob", "registered_model", hd.MODEL, "EDIT")
    hd.grant(backend, "carol", "experiment", alpha, "READ")
    hd.grant(backend, "carol", "registered_model", hd.MODEL, "READ")
    replica = hd.start_replica(backend.url, tmp_path_factory.mktemp("team"), team=True)
    try:
        yield backend, replica
    finally:
        replica.stop()


def sign_in(page, url: str, user: str, password: str, path: str = "/") -> None:
    """Open ``path`` (the sign-in form comes first) and sign in; the grid's cells are in the DOM
    (drawn on a canvas), so tests wait for them attached and read the page's text content."""
    page.goto(url + path)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_password_gets_a_message_and_nothing_else(team):
    _backend, replica = team
    with chromium() as page:
        sign_in(page, replica.url, "alice", "not-her-password")
        page.get_by_text("Wrong username or password.").wait_for(timeout=120_000)
        body = page.locator("body").text_content()
        screenshot(page, "team-wrong-password")
    assert "team-alpha" not in body and "Runs" not in body.split("Sign in")[0]
    assert "not-her-password" not in body


def test_read_permission_shows_only_that_experiment_also_through_a_permalink(team):
    _backend, replica = team
    requests_seen: list[str] = []
    with chromium() as page:
        page.on("request", lambda r: requests_seen.append(r.url))
        sign_in(page, replica.url, "alice", PASSWORDS["alice"])
        page.get_by_text("team-alpha-run-0").first.wait_for(state="attached", timeout=180_000)
        assert "team-beta" not in page.locator("body").text_content()
        assert "Signed in as" in page.locator("body").text_content()
        screenshot(page, "team-alice-runs")
        # A permalink opens a new browser session: sign in again, then the link applies.
        sign_in(page, replica.url, "alice", PASSWORDS["alice"], path="/compare?exp=team-beta")
        page.get_by_text("No experiment named").first.wait_for(state="attached", timeout=180_000)
        assert "/compare" in page.url  # the deep link kept its page through the sign-in form
        page.get_by_role("heading", name="Compare").first.wait_for(timeout=60_000)
        body = page.locator("body").text_content()
        screenshot(page, "team-alice-permalink-to-beta")
    assert "team-beta-run" not in body
    assert PASSWORDS["alice"] not in body
    outside = [u for u in requests_seen if not re.match(r"^(https?|wss?)://127\.0\.0\.1:\d+/|^(data|blob):", u)]
    assert outside == []


def test_two_users_at_once_never_see_each_others_data(team):
    _backend, replica = team
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            alice = browser.new_context().new_page()
            carol = browser.new_context().new_page()
            bob = browser.new_context().new_page()
            for page, user in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
                sign_in(page, replica.url, user, PASSWORDS[user], path="/?exp=team-beta&exp=team-alpha")
            bob.get_by_text("team-beta-run-0").first.wait_for(state="attached", timeout=180_000)
            alice.get_by_text("team-alpha-run-0").first.wait_for(state="attached", timeout=180_000)
            carol.get_by_text("team-alpha-run-0").first.wait_for(state="attached", timeout=180_000)
            # Alice again after Bob loaded team-beta (shared caches are keyed by identity).
            # A reload is a new browser session: Alice signs in again.
            sign_in(alice, replica.url, "alice", PASSWORDS["alice"], path="/?exp=team-beta&exp=team-alpha")
            alice.get_by_text("team-alpha-run-0").first.wait_for(state="attached", timeout=180_000)
            bodies = {name: p.locator("body").text_content() for name, p in (("alice", alice), ("bob", bob), ("carol", carol))}
        finally:
            browser.close()
    assert "team-beta-run" not in bodies["alice"] and "team-beta-run" not in bodies["carol"]
    assert "team-beta-run" in bodies["bob"]
    assert "Signed in as alice" in bodies["alice"]


def test_cli_promotes_as_the_user_in_the_uri_and_refuses_without_edit(team, capsys):
    from podium.cli import main

    backend, _replica = team
    host = backend.url.split("://", 1)[1]
    code = main(["champion", "--tracking-uri", f"http://carol:{PASSWORDS['carol']}@{host}", "--experiment", hd.EXPERIMENTS[0],
                 "--metric", "f1", "--model-name", hd.MODEL, "--promoted-by", "somebody-else", "--apply"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "EDIT permission on the registered model" in err
    assert PASSWORDS["carol"] not in err


# Carol first: after Bob's promotion the winner is already the champion and a plan changes nothing.
@pytest.mark.parametrize(("user", "allowed"), [("carol", False), ("bob", True)])
def test_promotion_needs_edit_and_records_the_signed_in_user(team, user, allowed):
    from podium import champion as ch
    from podium import store
    from podium.errors import PermissionDeniedError

    backend, _replica = team
    ref = store.check_credentials(backend.url, user, PASSWORDS[user])
    policy = ch.ChampionPolicy(metric="f1", mode="max")
    ranking = ch.evaluate(ref, [hd.EXPERIMENTS[0]], policy, hd.MODEL, "champion")
    plan = ch.plan_promotion(ref, ranking, hd.MODEL, "champion", user=user)
    if not allowed:
        with pytest.raises(PermissionDeniedError, match="EDIT permission on the registered model"):
            ch.apply_promotion(ref, plan, promoted_by=user)
        return
    ch.apply_promotion(ref, plan, promoted_by=user)
    version = hd.model_alias(backend, hd.MODEL, "champion")
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert tags["podium.promoted_by"] == "bob"


def test_wrong_credentials_are_refused_by_the_core_too(team):
    from podium import store
    from podium.errors import PermissionDeniedError

    backend, _replica = team
    with pytest.raises(PermissionDeniedError, match="Wrong username or password"):
        store.check_credentials(backend.url, "alice", "wrong-password")
    # The server's own answer without credentials: nothing.
    assert requests.post(backend.url + "/api/2.0/mlflow/experiments/search", json={}, timeout=10).status_code == 401


@pytest.mark.parametrize(("user", "allowed"), [("alice", False), ("bob", True)])
def test_logging_a_report_needs_edit_on_the_experiment_and_names_the_user(team, tmp_path, user, allowed):
    from podium import store
    from podium.errors import PermissionDeniedError

    backend, _replica = team
    ref = store.check_credentials(backend.url, user, PASSWORDS[user])
    page = tmp_path / "report.html"
    page.write_text("<p>report</p>")
    experiment = hd.EXPERIMENTS[0] if user == "alice" else hd.EXPERIMENTS[1]
    if not allowed:
        with pytest.raises(PermissionDeniedError, match="EDIT permission on the experiment"):
            store.log_report(ref, experiment, [(str(page), "report")], "podium-report-test", {"podium.report": "true"})
        return
    run_id = store.log_report(ref, experiment, [(str(page), "report")], "podium-report-test", {"podium.report": "true"})
    run = requests.get(backend.url + "/api/2.0/mlflow/runs/get", params={"run_id": run_id}, auth=backend.admin(), timeout=30).json()["run"]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["podium.promoted_by"] == "bob" and run["info"]["status"] == "FINISHED"
    files = requests.get(backend.url + "/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "report"},
                         auth=backend.admin(), timeout=30).json()["files"]
    assert [f["path"] for f in files] == ["report/report.html"]
