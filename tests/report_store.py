"""A small store for report tests, written by the real MLflow client: real sklearn models with
their environment files, data sets logged with ``log_input``, a registered model whose
``champion`` alias points at one run, and run data as hostile as we could make it."""

from __future__ import annotations

import os
import warnings

HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "](javascript:alert(2))",
    "a|b|c",
    "`tick` ``two``",
    "{{ 7*7 }} {% if true %}jinja{% endif %}",
    "**bold** _it_ ~~s~~",
    "www.evil.example http://evil.example/x mailto:a@evil.example",
    "line1\nline2 | # head",
    '<a href="javascript:alert(3)" onclick="alert(4)">x</a>',
    "</script><svg onload=alert(5)>",
    "&lt;script&gt; &amp; \u2028",
]
EXPERIMENT = "report <b>exp</b> | `x` {{ 7*7 }}"
MODEL_NAME = "fraud <model> | x"
HOSTILE_RUN = "<script>alert('run')</script> | [x](javascript:alert(1)) {{ 7*7 }}"


def populate_report_store(uri: str) -> dict[str, str]:
    """Write the report test data into ``uri``; returns {label: run_id}.

    Runs (metric ``score``, higher is better): ``best`` 0.95 (hostile name, params and tags, no
    model, no code version), ``champ`` 0.9 (model + data set + git commit: registered and behind
    the ``champion`` alias), ``third`` 0.8 (model, no data set), ``nan`` (score NaN),
    ``other`` 0.7 (``params.kind = 'b'``).
    """
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    client = MlflowClient(uri)
    exp_id = client.create_experiment(EXPERIMENT)
    ids: dict[str, str] = {}
    rng = np.random.default_rng(0)
    X = rng.random((30, 3))
    y = (X[:, 0] > 0.5).astype(int)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        def run(label, name, score, params, tags=None, model=False, dataset=False, extra=None):
            with mlflow.start_run(experiment_id=exp_id, run_name=name, tags=tags or {}) as r:
                ids[label] = r.info.run_id
                mlflow.log_params(params)
                mlflow.log_metrics({"score": score, "latency_ms": 10 + len(ids), **(extra or {})})
                if dataset:
                    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
                    mlflow.log_input(mlflow.data.from_pandas(frame, name="transactions <v1>", targets="y"), context="training")
                if model:
                    mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model")
            return ids[label]

        hostile_params = {f"p{i}": h[:250] for i, h in enumerate(HOSTILE)}
        run("best", HOSTILE_RUN, 0.95, {"kind": "<img src=x onerror=alert(9)>", **hostile_params},
            tags={"mlflow.note.content": HOSTILE[0], "team": HOSTILE[2], "mlflow.user": HOSTILE[1]})
        run("champ", "champ-run", 0.9, {"kind": "a", "C": "1.0"}, model=True, dataset=True,
            tags={"mlflow.source.git.commit": "abc123def", "mlflow.source.name": "train.py"})
        run("third", "third-run", 0.8, {"kind": "a", "C": "0.1"}, model=True)
        run("nan", "nan-run", float("nan"), {"kind": "a", "C": "10"})
        run("other", "other-run", 0.7, {"kind": "b", "C": "5"})
        # MLflow resolves a models:/ source with the process-wide client, so register in here.
        client.create_registered_model(MODEL_NAME, description=HOSTILE[0])
        source = client.get_run(ids["champ"]).outputs.model_outputs[0].model_id
        version = client.create_model_version(MODEL_NAME, f"models:/{source}", run_id=ids["champ"])
        client.set_registered_model_alias(MODEL_NAME, "champion", version.version)
    finally:
        mlflow.set_tracking_uri(previous)
    return ids


class _Scan:
    """What an HTML document would run or follow: script elements, event handlers, link targets."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        self.scripts: list[tuple[dict, str]] = []
        self.handlers: list[tuple[str, str]] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        scan = self

        class Parser(HTMLParser):
            current = None

            def handle_starttag(self, tag, attrs):
                scan.tags.append(tag)
                for name, value in attrs:
                    if name.lower().startswith("on"):
                        scan.handlers.append((tag, name))
                    if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "data"):
                        scan.urls.append((tag, name, value or ""))
                if tag == "script":
                    self.current = [dict(attrs), ""]

            def handle_data(self, data):
                if self.current is not None:
                    self.current[1] += data

            def handle_endtag(self, tag):
                if tag == "script" and self.current is not None:
                    scan.scripts.append((self.current[0], self.current[1]))
                    self.current = None

        Parser(convert_charrefs=True).feed(html)


def assert_inert(html: str, allowed_scripts: int = 0, link_prefixes: tuple[str, ...] = ()) -> _Scan:
    """No event handler, no javascript:/data: URL, no executable script beyond ``allowed_scripts``
    (ours: the Vega bundle and the chart loader), no iframe/object/embed/img/svg/style from data,
    and every link target starts with one of ``link_prefixes``."""
    scan = _Scan(html)
    assert scan.handlers == []
    executable = [s for s in scan.scripts if s[0].get("type") != "application/json"]
    assert len(executable) == allowed_scripts, [a for a, _ in executable]
    for tag in ("iframe", "object", "embed", "img", "svg", "form", "base", "meta http-equiv", "style"):
        if tag == "style":
            continue  # the report's own stylesheet is checked by the caller's count
        assert tag not in scan.tags, tag
    for tag, attr, url in scan.urls:
        assert url.startswith(link_prefixes), (tag, attr, url)
    return scan
