"""The team stack (issue 13): deploy/ checked as files, then run as processes and driven in Chromium.

(a) deploy/compose.yaml, deploy/Dockerfile and deploy/.env.example read as a container runtime
    would read them (YAML, interpolation from .env.example, the auth ini as configparser reads it).
(b) The compose topology without containers (tests/harness_deploy.py): fresh PostgreSQL tracking
    and auth databases, ``mlflow server --app-name basic-auth`` on them, users and permissions made
    with MLflow's API, two Podium replicas in team mode, Debian's nginx with deploy/nginx.conf.
    Chromium talks to the proxy only: sign in, Compare, select runs, both downloads on each
    replica, promote as a user with EDIT, and a replica killed under an open session.
"""

from __future__ import annotations

import configparser
import io
import re
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import harness_deploy as h
from browser import CHROMIUM, CHROMIUM_ARGS, SHOTS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line.strip() and not line.startswith("#"))
DOCKERFILE = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")  # continuation lines joined


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}; $$ is a literal $."""
    def one(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        raise KeyError(f"{name} is not set ({arg})")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value).replace("$$", "$")


def command_text(service: dict) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        v = service.get(key, [])
        parts.extend(v if isinstance(v, list) else [v])
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# (a) the files, as a container runtime reads them
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["postgres", "mlflow", "podium", "proxy"])
def test_every_service_exists_with_a_health_check(name):
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1


@pytest.mark.parametrize("service, needs", [
    ("mlflow", "postgres"), ("podium", "mlflow"), ("proxy", "podium"),
])
def test_services_start_in_order_once_healthy(service, needs):
    assert SERVICES[service]["depends_on"][needs]["condition"] == "service_healthy"


def test_podium_runs_team_mode_against_the_mlflow_service_with_two_replicas():
    podium = SERVICES["podium"]
    assert podium["deploy"]["replicas"] == 2
    env = podium["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "--auth mlflow" in command_text(podium) or env.get("PODIUM_AUTH") == "mlflow"
    # The server's own identity never reaches a team session: no credentials in its environment.
    assert not {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"} & set(env)
    assert "ports" not in podium  # reached through the proxy only


@pytest.mark.parametrize("needle", ["--app-name=basic-auth", "--serve-artifacts", "server"])
def test_mlflow_serves_basic_auth_and_artifacts(needle):
    assert needle in command_text(SERVICES["mlflow"]).split()


def test_mlflow_stores_tracking_and_auth_on_postgres_and_its_secrets_come_from_env():
    mlflow = SERVICES["mlflow"]
    env = {k: interpolate(str(v), ENV_EXAMPLE) for k, v in mlflow["environment"].items()}
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql://mlflow:")
    assert env["MLFLOW_BACKEND_STORE_URI"].endswith("@postgres:5432/mlflow")
    # Every secret is interpolated from .env, none written in the compose file.
    for key in ("MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_AUTH_ADMIN_PASSWORD"):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", mlflow["environment"][key]), key
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"])
    # The auth ini, as configparser (MLflow's reader) sees it after interpolation.
    [ini_ref] = [c for c in mlflow["configs"] if c["target"] == env["MLFLOW_AUTH_CONFIG_PATH"]]
    ini = configparser.ConfigParser()
    ini.read_string(interpolate(COMPOSE["configs"][ini_ref["source"]]["content"], ENV_EXAMPLE))
    assert ini["mlflow"]["database_uri"] == f"postgresql://mlflow:{ENV_EXAMPLE['POSTGRES_PASSWORD']}@postgres:5432/mlflow_auth"
    assert ini["mlflow"]["default_permission"] in {"READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS"}
    # ... and the database it names is created by the postgres service's init script.
    [init] = SERVICES["postgres"]["configs"]
    assert init["target"].startswith("/docker-entrypoint-initdb.d/")
    assert "CREATE DATABASE mlflow_auth" in COMPOSE["configs"][init["source"]]["content"]


def test_only_the_proxy_is_public():
    published = {name: s.get("ports", []) for name, s in SERVICES.items()}
    assert published["postgres"] == [] and published["podium"] == []
    assert [p for p in published["mlflow"] if not str(p).startswith("127.0.0.1:")] == []
    assert len(published["proxy"]) == 1
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in SERVICES["proxy"]["volumes"]


def test_env_example_defines_every_required_variable_and_env_is_not_committed():
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required and required <= set(ENV_EXAMPLE)
    assert len(ENV_EXAMPLE["MLFLOW_ADMIN_PASSWORD"]) >= 12  # MLflow refuses shorter passwords
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT)
    assert ignored.returncode == 0


@pytest.mark.parametrize("pattern", [
    r"^FROM python:3\.11-slim",
    r"^RUN pip install -r requirements\.txt",
    r"^USER (?!root)\w+",
    r"^HEALTHCHECK .*/_stcore/health",
    r"^EXPOSE 8501$",
    r'^ENTRYPOINT \["python", "-m", "podium", "serve", "--host", "0\.0\.0\.0", "--port", "8501"',
])
def test_dockerfile(pattern):
    assert re.search(pattern, DOCKERFILE, flags=re.M), pattern


def test_the_image_copies_what_building_podium_reads_and_the_build_context_sends_it():
    """Every COPY source exists and passes deploy/Dockerfile.dockerignore (an allow-list), and the
    files pyproject.toml reads at build time (readme, requirements files) are among them."""
    import tomllib

    copied = set()
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, flags=re.M):
        copied.update(line.split()[:-1])
    allowed = {ln.strip().lstrip("!").rstrip("/") for ln in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if ln.strip().startswith("!")}
    assert copied <= allowed and all((ROOT / c).exists() for c in copied)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dynamic = project["tool"]["setuptools"].get("dynamic", {})
    read = {project["project"]["readme"], *dynamic.get("dependencies", {}).get("file", [])}
    read |= {f for extra in dynamic.get("optional-dependencies", {}).values() for f in extra.get("file", [])}
    assert read <= copied, read - copied
    assert {"app.py", "app_pages", "src", ".streamlit"} <= copied


def test_the_image_has_what_the_mlflow_service_runs():
    """The `mlflow` service runs `mlflow server --app-name basic-auth` from Podium's image, so the
    pinned requirements must bring mlflow[auth] (Flask-WTF)."""
    reqs = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^(mlflow\[auth\]==|Flask-WTF==)", reqs, flags=re.M | re.I)


@pytest.mark.server
def test_nginx_conf_as_rendered_for_the_test_passes_nginx_t(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(h.render_nginx_conf(["127.0.0.1:1", "127.0.0.1:2"], "127.0.0.1:3", tmp_path))
    done = subprocess.run([h.NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-g", f"pid {tmp_path}/n.pid;"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = conf.read_text()
    assert "server 127.0.0.1:1 " in text and "server 127.0.0.1:2 " in text and "podium:8501" not in text


# ---------------------------------------------------------------------------------------------
# (b) the topology as processes, driven through the proxy
# ---------------------------------------------------------------------------------------------



def on_stack(test):
    """Marks of the tests on the running stack: PostgreSQL, processes, logged models."""
    return pytest.mark.db(pytest.mark.server(pytest.mark.slow(test)))


# The session's basic-auth server is shared with test_team: this module's users and model have
# names of their own there (test_team has alice, bob and carol promoting the seeded team-model).
DANA = ("dana", "dana-password-01")      # READ on team-alpha: compare and report
ERIN = ("erin", "erin-password-001")     # READ on team-alpha, EDIT on the model: promotes
MODEL = "deploy-model"                   # registered from no run yet: promoting it is a test's job


@pytest.fixture(scope="module")
def stack(team_server, tmp_path_factory):
    """The session's basic-auth server with the team data (conftest ``team_server``), this
    module's users and model, two Podium replicas and nginx in front of them."""
    base = tmp_path_factory.mktemp("team-stack")
    backend = team_server
    alpha = h.experiment_id(backend, "team-alpha")
    h.create_model(backend, MODEL)
    for user, password in (DANA, ERIN):
        h.create_user(backend, user, password)
        h.grant(backend, user, "experiment", alpha, "READ")
    h.grant(backend, ERIN[0], "registered_model", MODEL, "EDIT")
    team = h.team_mode_available()
    extra = {} if team else {"MLFLOW_TRACKING_USERNAME": h.ADMIN, "MLFLOW_TRACKING_PASSWORD": h.ADMIN_PASSWORD}
    with h.replicas(backend.url, base, 2, team=team, env_extra=extra) as reps, \
            h.nginx_proxy([r.upstream for r in reps], base) as proxy:
        yield {"backend": backend, "replicas": reps, "proxy": proxy, "team": team,
               "keys": sticky_keys(proxy, reps)}


def sticky_keys(proxy: h.Proxy, reps: list[h.Replica]) -> dict[str, str]:
    """A podium_sticky value that nginx's consistent hash sends to each replica (found by asking)."""
    keys: dict[str, str] = {}
    for i in range(200):
        key = f"probe{i:03d}"
        requests.get(proxy.url + "/_stcore/health", cookies={"podium_sticky": key}, timeout=10).raise_for_status()
        [served] = proxy.upstreams_for(key)
        keys.setdefault(served, key)
        if len(keys) == len(reps):
            return keys
    raise AssertionError(f"200 keys all hashed to {set(keys)}")


@on_stack
def test_proxy_gives_a_new_browser_a_sticky_cookie_once_and_keeps_it_on_one_replica(stack):
    proxy = stack["proxy"]
    s = requests.Session()
    first = s.get(proxy.url + "/", timeout=30)
    assert first.status_code == 200 and "<html" in first.text.lower()
    cookie = first.headers["set-cookie"]
    assert re.fullmatch(r"podium_sticky=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax", cookie)
    key = s.cookies["podium_sticky"]
    for path in ["/compare", "/report", "/_stcore/health", "/_stcore/host-config", "/champion"]:
        r = s.get(proxy.url + path, timeout=30)
        assert r.status_code == 200, path
        assert "podium_sticky" not in r.headers.get("set-cookie", "")
    assert len(proxy.upstreams_for(key)) == 1
    assert set(stack["keys"]) == {r.upstream for r in stack["replicas"]}


def new_page(browser, proxy: h.Proxy, sticky: str | None):
    ctx = browser.new_context(viewport={"width": 1400, "height": 2200}, accept_downloads=True)
    if sticky:
        ctx.add_cookies([{"name": "podium_sticky", "value": sticky, "url": proxy.url}])
    return ctx, ctx.new_page()


def close(ctx, page, name: str) -> None:
    """Keep a screenshot of the page as it was last (the first thing to look at when a test fails)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SHOTS / f"deploy-{name}-last.png"), full_page=True)
    finally:
        ctx.close()


def sign_in(page, stack, user: str, password: str) -> None:
    """The team-mode sign-in form (issue 12): Username, Password, Sign in."""
    if not stack["team"]:
        return
    page.get_by_label("Username", exact=True).fill(user, timeout=90_000)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def go(page, title: str) -> None:
    """Navigate inside the session (the sidebar), as a user does; a reload would be a new session."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=90_000)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@on_stack
@pytest.mark.browser
@pytest.mark.parametrize("replica", [0, 1])
def test_sign_in_compare_select_and_download_both_reports_through_the_proxy(stack, browser, replica):
    proxy, rep = stack["proxy"], stack["replicas"][replica]
    key = stack["keys"][rep.upstream]
    since = len(proxy.access_lines())
    ctx, page = new_page(browser, proxy, key)
    try:
        page.goto(proxy.url + "/")
        sign_in(page, stack, *DANA)
        page.get_by_role("heading", name="Runs").wait_for(timeout=90_000)
        go(page, "Compare")  # dana may read team-alpha only: Runs opened it, Compare shares it
        page.get_by_role("heading", name="Parallel coordinates").wait_for(timeout=90_000)
        page.wait_for_function("document.querySelectorAll('.vega-embed canvas').length >= 2", timeout=60_000)
        grid = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(grid["x"] + 18, grid["y"] + 35 * 1.5)
        page.get_by_text("Selected runs (1)").wait_for(timeout=30_000)
        page.mouse.click(grid["x"] + 18, grid["y"] + 35 * 2.5)
        page.get_by_text("Selected runs (2)").wait_for(timeout=30_000)
        no_exception(page)

        go(page, "Report")
        page.get_by_text("Only the 2 runs chosen on Compare").wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"^2 runs ranked of")).first.wait_for(timeout=60_000)
        title = f"Team report from replica {replica}"  # also makes each download's content unique
        box = page.get_by_label("Title", exact=True)
        box.fill(title)
        box.press("Enter")
        # The page has rebuilt the report once its preview shows the title.
        page.wait_for_function("t => [...document.querySelectorAll('iframe')].some(f => (f.srcdoc || '').includes(t))",
                               arg=title, timeout=60_000)
        page.get_by_role("button", name="Download HTML").wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as got:
            page.get_by_role("button", name="Download HTML").click()
        html = Path(got.value.path()).read_text(encoding="utf-8")
        downloads = [urlsplit(got.value.url).path]
        with page.expect_download(timeout=90_000) as got:
            page.get_by_role("button", name="Download Markdown (zip)").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes()))
        downloads.append(urlsplit(got.value.url).path)
        # Why stickiness: the session's downloads live in its replica's memory; the other one has
        # no such file (Streamlit's MediaFileStorageError) while this one serves it.
        assert [p.rsplit(".", 1)[-1] for p in downloads] == ["html", "zip"]
        other = next(k for u, k in stack["keys"].items() if u != rep.upstream)
        for path in downloads:
            assert requests.get(proxy.url + path, cookies={"podium_sticky": other}, timeout=30).status_code in (400, 404)
            assert requests.get(proxy.url + path, cookies={"podium_sticky": key}, timeout=30).status_code == 200
        no_exception(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"deploy-report-replica{replica}.png"), full_page=True)
    finally:
        close(ctx, page, f"report-replica{replica}")
    assert "<html" in html.lower() and html.count("team-alpha-run-") >= 2 and title in html
    md = [n for n in archive.namelist() if n.endswith(".md")]
    assert md and "team-alpha-run-" in archive.read(md[0]).decode("utf-8")
    # Every request of this browser, downloads (/media/) and the websocket included, hit its replica.
    lines = proxy.lines_for(key, "/_stcore/stream", since=since)
    assert any("/_stcore/stream" in ln for ln in lines) and any("/media/" in ln for ln in lines)
    assert proxy.upstreams_for(key) == {rep.upstream}
    assert all(any(f'"GET {p} ' in ln for ln in lines) for p in downloads)
    assert not [ln for ln in lines if re.search(r'" (4\d\d|5\d\d) ', ln)]


@on_stack
@pytest.mark.browser
def test_a_user_with_edit_on_the_model_promotes_through_the_proxy(stack, browser):
    backend, proxy = stack["backend"], stack["proxy"]
    assert h.model_alias(backend, MODEL, "champion") is None
    ctx, page = new_page(browser, proxy, None)
    try:
        page.goto(proxy.url + "/")
        sign_in(page, stack, *ERIN)
        page.get_by_role("heading", name="Runs").wait_for(timeout=90_000)
        go(page, "Champion")
        page.get_by_role("heading", name="Promote").wait_for(timeout=120_000)
        page.get_by_text("Yes, change the registry of").click(timeout=60_000)
        page.get_by_role("button", name="Promote", exact=True).click()
        page.get_by_text(re.compile(r"is now @champion")).first.wait_for(timeout=90_000)
        no_exception(page)
        page.screenshot(path=str(SHOTS / "deploy-promoted.png"), full_page=True)
    finally:
        close(ctx, page, "promote")
    version = h.model_alias(backend, MODEL, "champion")
    assert version is not None
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert tags.get("podium.promoted_by") == ERIN[0]


@on_stack
@pytest.mark.browser
def test_a_replica_killed_under_an_open_session_the_user_signs_in_again_on_the_other(stack, browser):
    """Last in this module: it kills a replica of the shared stack."""
    backend, proxy = stack["backend"], stack["proxy"]
    victim, survivor = stack["replicas"]
    key = stack["keys"][victim.upstream]
    before = h.model_alias(backend, MODEL, "champion")
    ctx, page = new_page(browser, proxy, key)
    try:
        page.goto(proxy.url + "/?exp=team-alpha")
        sign_in(page, stack, *ERIN)
        page.get_by_role("heading", name="Runs").wait_for(timeout=90_000)
        page.get_by_text(re.compile(r"^4 runs \(")).first.wait_for(timeout=60_000)
        victim.kill()
        # Streamlit's frontend reconnects through the proxy, which sends it to the survivor. The
        # session (and its sign-in) died with its process: the page reruns on the survivor (by
        # itself when the old run was unfinished, else on the user's next click) and shows the
        # sign-in form, never an error or another user's page.
        form = page.get_by_label("Username", exact=True)
        for _ in range(12):
            if form.count():
                break
            try:  # the link is disabled while the frontend reconnects (long on a busy machine)
                page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs").click(timeout=10_000)
                form.wait_for(timeout=10_000)
            except PlaywrightTimeout:
                continue
        form.wait_for(timeout=1_000)
        page.get_by_role("button", name="Sign in").wait_for()
        page.screenshot(path=str(SHOTS / "deploy-reconnected.png"), full_page=True)
        sign_in(page, stack, *ERIN)
        page.get_by_text(re.compile(r"Signed in as")).first.wait_for(timeout=90_000)
        go(page, "Runs")
        page.get_by_text(re.compile(r"^4 runs \(")).first.wait_for(timeout=60_000)
        go(page, "Champion")
        page.get_by_role("heading", name="Promote").wait_for(timeout=120_000)
        no_exception(page)
        page.screenshot(path=str(SHOTS / "deploy-after-failover.png"), full_page=True)
    finally:
        close(ctx, page, "failover")
    # Nothing saved is lost: the registry is as it was (the promotion of the test above, when run).
    assert h.model_alias(backend, MODEL, "champion") == before
    assert survivor.upstream in proxy.upstreams_for(key)
    assert not victim.alive() and survivor.alive()
