"""Load test of the team stack: simulated users opening Podium through the nginx proxy.

Usage (from the repository root; loopback only, bounded in time)::

    .venv/bin/python -m bench.load_proxy                      # 20 users for 60 s
    .venv/bin/python -m bench.load_proxy --users 5 --seconds 20 --json /tmp/load.json

It starts the topology of deploy/compose.yaml as processes (tests/harness_deploy.py): a fresh
PostgreSQL tracking database and auth database, ``mlflow server --app-name basic-auth`` on them
(2 workers) with two experiments of runs, two Podium replicas (team mode when ``podium serve``
has ``--auth``) and Debian's nginx with deploy/nginx.conf. Then ``--users`` threads, each one
browser with its own cookies (so the sticky cookie spreads them over the replicas), repeat what a
browser does when a teammate opens a page, until ``--seconds`` have passed:

- **page**: GET of a page URL (``/``, ``/compare``, ``/report``, ``/champion``: Streamlit's
  index.html), then ``/_stcore/health`` and ``/_stcore/host-config`` as the frontend does;
- **session** (every ``--session-every``-th page): the websocket ``/_stcore/stream`` through the
  proxy, a ``rerun_script`` message for that page, timed until Streamlit reports the script
  finished: the server really runs the app for a new session (the sign-in form in team mode, the
  page itself in single-user mode) and sends every element. With ``--sign-in`` (team mode) the
  session then submits the sign-in form as a browser does and is timed until the signed-in page
  has finished (credentials checked by MLflow, the page's reads made as that user).

Every request counts; an error is any status other than 200, a refused or reset connection, a
websocket closed before the script finished or a script that did not finish successfully. The
report gives requests served, errors, and p50/p95/max per kind, and how the sessions split over
the replicas (from nginx's access log).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

PAGES = ["/", "/compare", "/report", "/champion"]
PAGE_NAMES = {"/": "", "/compare": "compare", "/report": "report", "/champion": "champion"}


def _elements(fwd) -> list:
    """The new elements a ForwardMsg carries (widgets, markdown...)."""
    if fwd.WhichOneof("type") == "delta" and fwd.delta.WhichOneof("type") == "new_element":
        return [fwd.delta.new_element]
    return []


def _run_until_finished(ws, deadline: float, seen: list) -> None:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("script did not finish")
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv(timeout=left))
        seen.extend(_elements(fwd))
        if fwd.WhichOneof("type") == "script_finished":
            if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue  # a rerun follows (st.rerun or a newer request): wait for that one
            if fwd.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                raise RuntimeError(f"script finished with status {fwd.script_finished}")
            return


def start_session(proxy_url: str, path: str, cookies: dict[str, str], timeout_s: float = 60,
                  credentials: tuple[str, str] | None = None) -> None:
    """Open Streamlit's websocket through the proxy and run ``path``'s script once; with
    ``credentials``, then submit team mode's sign-in form as the browser does (the form's widget
    values and its submit trigger) and run until the signed-in page has finished. Raises unless
    every run finished successfully (and, signing in, the page says who is signed in)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from websockets.sync.client import connect

    ws_url = proxy_url.replace("http://", "ws://") + "/_stcore/stream"
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    headers = {"Cookie": cookie, "Origin": proxy_url}

    def rerun(widgets: dict | None = None) -> bytes:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = PAGE_NAMES[path]
        msg.rerun_script.context_info.timezone = "UTC"
        for wid, (kind, value) in (widgets or {}).items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = wid
            setattr(state, kind, value)
        return msg.SerializeToString()

    deadline = time.monotonic() + timeout_s
    with connect(ws_url, additional_headers=headers, subprotocols=["streamlit"], open_timeout=timeout_s,
                 max_size=None) as ws:
        ws.send(rerun())
        seen: list = []
        _run_until_finished(ws, deadline, seen)
        if credentials is None:
            return
        ids = {}
        for el in seen:
            kind = el.WhichOneof("type")
            if kind == "text_input":
                ids[el.text_input.label] = el.text_input.id
            elif kind == "button" and el.button.is_form_submitter:
                ids[el.button.label] = el.button.id
        if not {"Username", "Password", "Sign in"} <= set(ids):
            raise RuntimeError(f"no sign-in form (found {sorted(ids)})")
        ws.send(rerun({ids["Username"]: ("string_value", credentials[0]),
                       ids["Password"]: ("string_value", credentials[1]),
                       ids["Sign in"]: ("trigger_value", True)}))
        seen = []
        _run_until_finished(ws, deadline, seen)
        texts = [el.markdown.body for el in seen if el.WhichOneof("type") == "markdown"]
        if not any("Signed in as" in t for t in texts):
            raise RuntimeError("the sign-in did not open the page")


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.error_examples: list[str] = []

    def record(self, kind: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.times[kind].append(seconds)
            else:
                self.errors[kind] += 1
                if len(self.error_examples) < 10:
                    self.error_examples.append(f"{kind}: {error}")


def user(proxy_url: str, until: float, session_every: int, results: Results, seed: int,
         credentials: tuple[str, str] | None = None) -> None:
    rng = random.Random(seed)
    http = requests.Session()
    n = 0
    while time.monotonic() < until:
        path = rng.choice(PAGES)
        for kind, url in (("page", path), ("health", "/_stcore/health"), ("host-config", "/_stcore/host-config")):
            t0 = time.perf_counter()
            try:
                r = http.get(proxy_url + url, timeout=60)
                err = None if r.status_code == 200 else f"HTTP {r.status_code} on {url}"
            except requests.RequestException as exc:
                err = f"{type(exc).__name__} on {url}"
            results.record(kind, time.perf_counter() - t0, err)
        n += 1
        if session_every and n % session_every == 0 and time.monotonic() < until:
            t0 = time.perf_counter()
            try:
                start_session(proxy_url, path, http.cookies.get_dict(), credentials=credentials)
                err = None
            except Exception as exc:  # noqa: BLE001 - every failure is an error to count
                err = f"{type(exc).__name__}: {exc}"[:200]
            results.record("session", time.perf_counter() - t0, err)


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summarize(results: Results, seconds: float, proxy, replicas) -> dict:
    kinds = {}
    for kind in ("page", "health", "host-config", "session"):
        t = results.times.get(kind, [])
        kinds[kind] = {
            "served": len(t), "errors": results.errors.get(kind, 0),
            "p50_ms": round(1000 * percentile(t, 50), 1) if t else None,
            "p95_ms": round(1000 * percentile(t, 95), 1) if t else None,
            "max_ms": round(1000 * max(t), 1) if t else None,
        }
    streams = Counter()
    for line in proxy.access_lines():
        if "/_stcore/stream" in line:
            streams[line.rsplit("upstream=", 1)[1].split()[0]] += 1
    served = sum(k["served"] for k in kinds.values())
    return {
        "requests_served": served,
        "errors": sum(results.errors.values()),
        "requests_per_s": round(served / seconds, 1),
        "kinds": kinds,
        "sessions_per_replica": {r.upstream: streams.get(r.upstream, 0) for r in replicas},
        "error_examples": results.error_examples,
    }


def main(argv: list[str] | None = None) -> int:
    import harness_deploy as h

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--session-every", type=int, default=4,
                        help="open a websocket session on every Nth page (0: never)")
    parser.add_argument("--single-user", action="store_true",
                        help="replicas without --auth (sessions render the Runs page, not the sign-in form)")
    parser.add_argument("--sign-in", action="store_true",
                        help="team mode: each session also signs in (as a user with READ on both "
                             "experiments) and runs the page it opened")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 100 or not 1 <= args.seconds <= 600:
        parser.error("--users 1..100 and --seconds 1..600 (a bounded test)")

    team = h.team_mode_available() and not args.single_user
    with tempfile.TemporaryDirectory(prefix="podium-load-") as tmp:
        base = Path(tmp)
        print("starting PostgreSQL databases, the basic-auth mlflow server, 2 replicas, nginx…", flush=True)
        with h.team_backend(base) as backend:
            h.seed_team_store(backend, models=False)
            credentials = None
            if args.sign_in and team:
                credentials = ("loadtester", "load-tester-password")
                h.create_user(backend, *credentials)
                for name in h.EXPERIMENTS:
                    h.grant(backend, credentials[0], "experiment", h.experiment_id(backend, name), "READ")
            extra = {} if team else {"MLFLOW_TRACKING_USERNAME": h.ADMIN, "MLFLOW_TRACKING_PASSWORD": h.ADMIN_PASSWORD}
            with h.replicas(backend.url, base, 2, team=team, env_extra=extra) as reps, \
                    h.nginx_proxy([r.upstream for r in reps], base) as proxy:
                # Untimed warm-up sessions (four random keys): a replica's first script run imports the app.
                for key in ("warm-a", "warm-b", "warm-c", "warm-d"):
                    start_session(proxy.url, "/", {"podium_sticky": key}, timeout_s=180)
                mode = "single-user mode" if not team else "team mode, sessions sign in" if credentials else "team mode"
                print(f"{args.users} users for {args.seconds:g} s through {proxy.url} ({mode})…", flush=True)
                results = Results()
                until = time.monotonic() + args.seconds
                threads = [threading.Thread(target=user, args=(proxy.url, until, args.session_every, results, i,
                                                               credentials))
                           for i in range(args.users)]
                started = time.monotonic()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.monotonic() - started
                summary = summarize(results, elapsed, proxy, reps)
    summary.update(users=args.users, seconds=round(elapsed, 1), team_mode=team,
                   sessions_sign_in=bool(args.sign_in and team), session_every=args.session_every)
    print(json.dumps(summary, indent=2))
    print("\n| kind | served | errors | p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|")
    for kind, k in summary["kinds"].items():
        print(f"| {kind} | {k['served']:,} | {k['errors']} | {k['p50_ms']} ms | {k['p95_ms']} ms | {k['max_ms']} ms |")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
