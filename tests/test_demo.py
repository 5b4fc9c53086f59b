"""The demo store: real scikit-learn runs seeded into a real SQLite store, read back through Podium.

Seeding the full demo takes about a minute, so it happens once per session (``demo_seed`` in
conftest); the tests only read it. The small demo the browser tests open is compared with it
run by run; tests that write make their own small stores with ``scale``.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

import stores
from podium import cli, store
from podium.demo import (
    CHAMPION_ALIAS,
    DEMO_EXPERIMENTS,
    DEMO_MODEL,
    FRAUD_EXPERIMENT,
    HOUSE_EXPERIMENT,
    NONDETERMINISTIC_METRICS,
    WINE_EXPERIMENT,
    seed_demo,
)
from podium.errors import PodiumError

SOURCE_TAGS = ["mlflow.source.git.commit", "mlflow.source.name", "mlflow.source.type"]
TEAM_TAGS = ["team", "owner", "stage", "purpose"]


class Demo:
    def __init__(self, uri: str, summary, progress: list[str], state_before: tuple, state_after: tuple):
        self.uri = uri
        self.summary = summary
        self.progress = progress
        self.state_before = state_before
        self.state_after = state_after
        self.runs = store.load_runs(uri, list(DEMO_EXPERIMENTS))
        self.client = MlflowClient(uri)

    def exp_runs(self, experiment: str) -> pd.DataFrame:
        return self.runs[self.runs["experiment_name"] == experiment]

    def run(self, experiment: str, name: str) -> pd.Series:
        rows = self.exp_runs(experiment)
        rows = rows[rows["run_name"] == name]
        assert len(rows) == 1, f"{experiment}/{name}: {len(rows)} runs"
        return rows.iloc[0]


@pytest.fixture(scope="module")
def demo(demo_seed) -> Demo:
    """The full default demo, seeded once per session into a fresh SQLite store (conftest)."""
    return Demo(demo_seed.uri, demo_seed.summary, demo_seed.progress, demo_seed.state_before, demo_seed.state_after)


def _local(uri: str) -> str:
    """A local ``file://`` artifact URI as a path (MLflow's model loaders want a path)."""
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    return url2pathname(urlsplit(uri).path)


def _parent_ids(runs: pd.DataFrame) -> set[str]:
    return set(runs["tags.mlflow.parentRunId"].dropna())


# --------------------------------------------------------------------------------------------
# Shape of the store


def test_experiments_and_run_counts(demo):
    experiments = {e.name: e.run_count for e in store.list_experiments(demo.uri)}
    assert set(DEMO_EXPERIMENTS) <= set(experiments)
    assert len(DEMO_EXPERIMENTS) >= 3
    assert sum(experiments[name] for name in DEMO_EXPERIMENTS) >= 150
    assert len(demo.runs) >= 150
    # The summary tells the truth about what was written.
    assert demo.summary.runs == {name: experiments[name] for name in DEMO_EXPERIMENTS}
    assert demo.summary.total_runs == len(demo.runs)
    assert demo.summary.failed == {
        name: int((demo.exp_runs(name)["status"] == "FAILED").sum()) for name in DEMO_EXPERIMENTS
    }


def test_progress_and_summary_lines_name_every_experiment(demo):
    text = "\n".join(demo.progress)
    for name in DEMO_EXPERIMENTS:
        assert re.search(rf"{re.escape(name)}: {demo.summary.runs[name]} runs", text), text
    summary = "\n".join(demo.summary.lines())
    assert str(demo.summary.total_runs) in summary and DEMO_MODEL in summary


@pytest.mark.parametrize("experiment, min_failed", [(FRAUD_EXPERIMENT, 2), (HOUSE_EXPERIMENT, 1), (WINE_EXPERIMENT, 0)])
def test_failed_runs_are_real_failures(demo, experiment, min_failed):
    runs = demo.exp_runs(experiment)
    failed = runs[runs["status"] == "FAILED"]
    assert len(failed) >= min_failed
    assert set(runs["status"]) <= {"FINISHED", "FAILED"}
    for _, row in failed.iterrows():
        # The error scikit-learn raised, kept on the run; a failed run has no scores.
        assert row["tags.error.type"] in ("ValueError", "InvalidParameterError")
        assert row["tags.error.message"]
        scores = [c for c in runs.columns if c.startswith("metrics.")]
        assert row[scores].isna().all()
    assert (demo.runs["status"] == "FAILED").sum() >= 3


@pytest.mark.parametrize(
    "experiment, metrics",
    [
        (FRAUD_EXPERIMENT, ["accuracy", "precision", "recall", "f1", "roc_auc", "predict_latency_ms"]),
        (HOUSE_EXPERIMENT, ["rmse", "mae", "r2"]),
        (WINE_EXPERIMENT, ["accuracy", "f1_macro"]),
    ],
)
def test_finished_runs_have_their_experiments_metrics(demo, experiment, metrics):
    runs = demo.exp_runs(experiment)
    children = runs[~runs["run_id"].isin(_parent_ids(runs)) & (runs["status"] == "FINISHED")]
    assert len(children) > 10
    for metric in metrics:
        values = children[f"metrics.{metric}"]
        assert values.notna().all(), metric
        assert values.nunique() > 1, f"{metric} never varies"


@pytest.mark.parametrize("metric, low, high", [("accuracy", 0, 1), ("f1", 0, 1), ("roc_auc", 0.5, 1), ("predict_latency_ms", 0, 10_000)])
def test_fraud_metrics_in_range(demo, metric, low, high):
    values = demo.exp_runs(FRAUD_EXPERIMENT)[f"metrics.{metric}"].dropna()
    assert ((values >= low) & (values <= high)).all()


# --------------------------------------------------------------------------------------------
# Histories, tags, notes, nesting


@pytest.mark.parametrize(
    "experiment, run_name, key, steps",
    [
        (FRAUD_EXPERIMENT, "gbm-lr0.1-d3-sub1", "train_loss", 80),
        (FRAUD_EXPERIMENT, "gbm-lr0.1-d3-sub1", "eval_loss", 80),
        (HOUSE_EXPERIMENT, "gbm-lr0.1-d3", "eval_rmse", 150),
        (HOUSE_EXPERIMENT, "mlp-64x32-lr0.001", "train_loss", 40),
        (HOUSE_EXPERIMENT, "mlp-64x32-lr0.001", "eval_rmse", 40),
    ],
)
def test_metric_histories_have_steps(demo, experiment, run_name, key, steps):
    row = demo.run(experiment, run_name)
    history = store.load_metric_history(demo.uri, [row["run_id"]], key)
    assert list(history["step"]) == list(range(steps))
    assert history["value"].map(math.isfinite).all()
    # Training makes progress: the loss at the end is below the loss at the start.
    assert history["value"].iloc[-1] < history["value"].iloc[0]
    # The run's metric is the last step's value, as MLflow reports it.
    assert row[f"metrics.{key}"] == history["value"].iloc[-1]


@pytest.mark.parametrize("experiment", DEMO_EXPERIMENTS)
def test_team_and_source_tags_on_every_run(demo, experiment):
    runs = demo.exp_runs(experiment)
    for tag in TEAM_TAGS + SOURCE_TAGS:
        assert runs[f"tags.{tag}"].notna().all(), tag
    assert runs["tags.mlflow.source.git.commit"].str.fullmatch(r"[0-9a-f]{40}").all()
    assert set(runs["tags.mlflow.source.type"]) <= {"LOCAL", "JOB", "NOTEBOOK", "PROJECT"}
    assert (runs["user"] == runs["tags.owner"]).all()


def test_some_runs_have_descriptions(demo):
    notes = demo.runs["tags.mlflow.note.content"].dropna()
    assert len(notes) >= 2
    assert notes.str.len().min() > 20


@pytest.mark.parametrize("experiment, parent, children", [
    (FRAUD_EXPERIMENT, "gbm-sweep", 13),
    (WINE_EXPERIMENT, "seed-study-logreg", 25),
    (WINE_EXPERIMENT, "seed-study-random-forest", 25),
    (WINE_EXPERIMENT, "seed-study-svc", 25),
])
def test_nested_runs(demo, experiment, parent, children):
    runs = demo.exp_runs(experiment)
    parent_row = demo.run(experiment, parent)
    kids = runs[runs["tags.mlflow.parentRunId"] == parent_row["run_id"]]
    assert len(kids) == children
    assert parent_row["tags.mlflow.parentRunId"] is None or pd.isna(parent_row["tags.mlflow.parentRunId"])
    # The parent spans its children.
    assert parent_row["start_time"] <= kids["start_time"].min()
    assert parent_row["end_time"] >= kids["end_time"].max()


def test_small_data_seeds_show_variance(demo):
    runs = demo.exp_runs(WINE_EXPERIMENT)
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    for model, group in children.groupby("params.model"):
        assert sorted(group["params.seed"].astype(int)) == list(range(25)), model
        assert group["params.C"].nunique(dropna=False) == 1  # same config ...
        assert group["metrics.accuracy"].std() > 0  # ... different scores


def test_model_families_are_spelled_alike_in_every_experiment(demo):
    """Compared across experiments, one family must be one category, not two."""
    models = set(demo.runs["params.model"].dropna())
    by_key = {}
    for m in models:
        by_key.setdefault(m.replace("-", "_").lower(), set()).add(m)
    assert all(len(spellings) == 1 for spellings in by_key.values()), by_key
    assert {"logistic_regression", "random_forest"} <= models


# --------------------------------------------------------------------------------------------
# Datasets, models, registry


@pytest.mark.parametrize("experiment", DEMO_EXPERIMENTS)
def test_datasets_logged_with_context(demo, experiment):
    runs = demo.exp_runs(experiment)
    children = runs[~runs["run_id"].isin(_parent_ids(runs))]
    for run_id in children["run_id"]:
        inputs = demo.client.get_run(run_id).inputs.dataset_inputs
        contexts = {t.value for d in inputs for t in d.tags if t.key == "mlflow.data.context"}
        assert contexts == {"training", "eval"}, run_id
        assert all(d.dataset.name and d.dataset.digest for d in inputs)


def test_models_logged_with_signatures_for_some_runs_only(demo):
    import mlflow.models

    exp = demo.client.get_experiment_by_name(FRAUD_EXPERIMENT)
    models = demo.client.search_logged_models(experiment_ids=[exp.experiment_id])
    finished = demo.exp_runs(FRAUD_EXPERIMENT).query("status == 'FINISHED'")
    with_model = {m.source_run_id for m in models}
    assert with_model <= set(finished["run_id"])
    assert 3 <= len(with_model) < len(finished)  # promising runs only: others have no model
    for m in models:
        assert m.status == "READY", (m.model_id, m.status)
        info = mlflow.models.Model.load(_local(m.artifact_location))
        assert info.signature is not None
        assert [c.name for c in info.signature.inputs.inputs] == [f"v{i:02d}" for i in range(1, 21)]


def test_artifacts_live_beside_the_database(demo):
    db_dir = Path(demo.uri.removeprefix("sqlite:///")).parent
    for name in DEMO_EXPERIMENTS:
        location = demo.client.get_experiment_by_name(name).artifact_location
        assert location == (db_dir / "mlartifacts" / name).as_uri()
    assert any((db_dir / "mlartifacts" / FRAUD_EXPERIMENT).rglob("MLmodel"))


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("sqlite:///mlflow.db", Path.cwd() / "mlartifacts"),  # relative to the cwd, made absolute
        ("sqlite:///sub/dir/m.db", Path.cwd() / "sub" / "dir" / "mlartifacts"),
        ("sqlite:////abs/dir/m.db", Path("/abs/dir/mlartifacts")),
        ("sqlite:///:memory:", None),
        ("postgresql://postgres@127.0.0.1:5432/db", None),  # the store decides
        ("http://127.0.0.1:5000", None),
    ],
)
def test_artifact_root_beside_a_sqlite_file(uri, expected):
    from podium.demo import _artifact_root

    assert _artifact_root(uri) == expected


def test_registered_model_with_champion_and_a_challenger(demo):
    import mlflow.sklearn

    model = demo.client.get_registered_model(DEMO_MODEL)
    versions = demo.client.search_model_versions(f"name='{DEMO_MODEL}'")
    assert len(versions) >= 2
    assert [str(v) for v in sorted(int(v.version) for v in versions)] == list(demo.summary.versions)
    champion = demo.client.get_model_version_by_alias(DEMO_MODEL, CHAMPION_ALIAS)
    assert model.aliases == {CHAMPION_ALIAS: champion.version}
    assert str(champion.version) == demo.summary.champion_version
    fraud = demo.exp_runs(FRAUD_EXPERIMENT)
    assert set(v.run_id for v in versions) <= set(fraud["run_id"])
    champ_run = fraud[fraud["run_id"] == champion.run_id].iloc[0]
    assert champ_run["status"] == "FINISHED"
    # Not the best run on its own selection metric, so there is a challenger to show.
    assert (fraud["metrics.f1"] > champ_run["metrics.f1"]).any()
    # The champion model is a real, loadable scikit-learn model.
    sample = pd.DataFrame([[0.0] * 20], columns=[f"v{i:02d}" for i in range(1, 21)])
    assert champion.source.startswith("models:/m-")
    logged = demo.client.get_logged_model(champion.source.removeprefix("models:/"))
    assert logged.source_run_id == champion.run_id
    loaded = mlflow.sklearn.load_model(_local(logged.artifact_location))
    assert loaded.predict_proba(sample).shape == (1, 2)


def test_the_champion_was_promoted_by_policy_with_an_audit_trail(demo):
    from podium import champion as ch
    from podium.demo import CHAMPION_CONSTRAINT

    history = ch.promotion_history(demo.uri, DEMO_MODEL)
    assert [h.version for h in history] == [int(demo.summary.champion_version)]
    record = history[0]
    assert record.current and record.alias == CHAMPION_ALIAS and record.promoted_by == "alice"
    assert json.loads(record.policy)["constraints"] == CHAMPION_CONSTRAINT
    # The policy's winner: the best f1 among runs whose review passed.
    fraud = demo.exp_runs(FRAUD_EXPERIMENT)
    approved = fraud[fraud["tags.review"] == "approved"]
    assert len(approved) >= 2 and (fraud["tags.review"] == "pending").any()
    assert record.run_id == approved.sort_values("metrics.f1").iloc[-1]["run_id"]


def test_seeding_restores_mlflow_global_state(demo):
    assert demo.state_after == demo.state_before


# --------------------------------------------------------------------------------------------
# Determinism: a smaller seed into another store gives the same runs


def test_same_params_and_metrics_every_time(demo, small_demo_seed):
    small, small_uri = small_demo_seed.summary, small_demo_seed.uri
    assert small_demo_seed.scale < 1 and small.total_runs < demo.summary.total_runs
    again = store.load_runs(small_uri, list(DEMO_EXPERIMENTS))
    # Parents summarise however many children a scale gives them; compare the trained runs.
    again = again[~again["run_id"].isin(_parent_ids(again))]
    full = demo.runs.set_index(["experiment_name", "run_name"])
    assert not full.index.duplicated().any()
    param_cols = [c for c in again.columns if c.startswith("params.")]
    metric_cols = [c for c in again.columns if c.startswith("metrics.")
                   and c.removeprefix("metrics.") not in NONDETERMINISTIC_METRICS]
    assert len(again) >= 20 and len(metric_cols) >= 10
    for _, row in again.iterrows():
        ref = full.loc[(row["experiment_name"], row["run_name"])]
        where = f"{row['experiment_name']}/{row['run_name']}"
        assert ref["status"] == row["status"], where
        for col in param_cols:
            assert (pd.isna(ref[col]) and pd.isna(row[col])) or ref[col] == row[col], (where, col)
        for col in metric_cols:
            assert (math.isnan(ref[col]) and math.isnan(row[col])) or ref[col] == row[col], (where, col)
    # Histories too.
    # A FINISHED boosting run: the fraud sweep holds one that fails before it logs a history.
    boosted = again[(again["params.model"] == "gradient_boosting") & (again["status"] == "FINISHED")]
    name = boosted["run_name"].iloc[0]
    mine = again[again["run_name"] == name]["run_id"].iloc[0]
    theirs = demo.run(again[again["run_name"] == name]["experiment_name"].iloc[0], name)["run_id"]
    a = store.load_metric_history(small_uri, [mine], "train_loss" if "sub" in name else "train_rmse")
    b = store.load_metric_history(demo.uri, [theirs], "train_loss" if "sub" in name else "train_rmse")
    assert list(a["value"]) == list(b["value"]) and len(a) > 1


# --------------------------------------------------------------------------------------------
# CLI: refusal, --force, bad input


def _user_store(uri: str, experiment: str = "my-experiment", with_run: bool = True) -> None:
    client = MlflowClient(uri)
    exp = client.create_experiment(experiment) if experiment != "Default" else "0"
    if with_run:
        run = client.create_run(exp, run_name="mine")
        client.set_terminated(run.info.run_id)


@pytest.mark.parametrize("experiment", ["my-experiment", "Default"])
def test_refuses_a_store_with_experiments_without_force(fresh_sqlite_uri, capsys, experiment):
    _user_store(fresh_sqlite_uri, experiment)
    capsys.readouterr()  # the store's own creation logs
    before = {e.name: e.run_count for e in store.list_experiments(fresh_sqlite_uri)}
    code = cli.main(["demo", "--tracking-uri", fresh_sqlite_uri, "--scale", "0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "--force" in err and experiment in err
    assert {e.name: e.run_count for e in store.list_experiments(fresh_sqlite_uri)} == before


def test_refuses_the_demo_store_itself(demo, capsys):
    code = cli.main(["demo", "--tracking-uri", demo.uri])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--force" in err
    assert len(store.load_runs(demo.uri, list(DEMO_EXPERIMENTS))) == len(demo.runs)


@pytest.mark.slow
def test_force_adds_the_demo_beside_existing_experiments(fresh_sqlite_uri, capsys):
    _user_store(fresh_sqlite_uri)
    capsys.readouterr()  # the store's own creation logs
    code = cli.main(["demo", "--tracking-uri", fresh_sqlite_uri, "--force", "--scale", "0.1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    experiments = {e.name: e.run_count for e in store.list_experiments(fresh_sqlite_uri)}
    assert experiments["my-experiment"] == 1
    assert all(experiments[name] > 0 for name in DEMO_EXPERIMENTS)
    assert all(name in out for name in DEMO_EXPERIMENTS)
    # MLflow's and scikit-learn's chatter (migrations, schema hints, warnings) stays out of the output.
    assert "warn" not in (out + err).lower() and "INFO" not in out + err


@pytest.mark.slow
def test_a_store_not_created_yet_is_created_and_seeded(tmp_path, capsys):
    """What ``make run`` meets on a first run: MLflow's default store does not exist yet."""
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    (tmp_path / "new").mkdir()
    assert cli.main(["demo", "--tracking-uri", uri, "--scale", "0.1"]) == 0
    out, err = capsys.readouterr()
    experiments = {e.name: e.run_count for e in store.list_experiments(uri)}
    assert all(experiments[name] > 0 for name in DEMO_EXPERIMENTS), experiments
    assert f"Demo store ready at {uri}" in out
    assert "INFO" not in out + err  # MLflow's migration logs stay out of the output


@pytest.mark.parametrize(
    "experiment, with_run, occupied",
    [
        ("Default", False, []),  # every new store has it: still empty
        ("Default", True, ["Default"]),
        ("my-experiment", False, ["my-experiment"]),
    ],
)
def test_what_makes_a_store_occupied(fresh_sqlite_uri, experiment, with_run, occupied):
    from podium.demo.seeder import _occupied

    MlflowClient(fresh_sqlite_uri).search_experiments()  # MLflow adds its Default experiment
    _user_store(fresh_sqlite_uri, experiment, with_run=with_run)
    assert _occupied(store.list_experiments(fresh_sqlite_uri)) == occupied


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--scale", "0"], "--scale"),
        (["--scale", "1.5"], "--scale"),
        (["--tracking-uri", "{tmp}/mlruns"], "file store"),
        (["--tracking-uri", "http://alice:s3cret@127.0.0.1:{port}"], "127.0.0.1:{port}"),
    ],
)
def test_bad_input_is_one_line_and_never_shows_a_password(tmp_path, capsys, args, expected):
    (tmp_path / "mlruns").mkdir()
    fills = {"tmp": str(tmp_path), "port": str(stores.free_port())}
    args, expected = [a.format(**fills) for a in args], expected.format(**fills)
    if "--tracking-uri" not in args:
        args += ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    code = cli.main(["demo", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err
    assert "s3cret" not in err


def test_seed_demo_raises_podium_error_for_a_non_empty_store(demo):
    with pytest.raises(PodiumError, match="already holds experiments"):
        seed_demo(demo.uri)


@pytest.mark.parametrize("missing", [["sklearn"], ["skops"], ["sklearn", "skops"]])
def test_without_the_demo_extra_the_error_says_what_to_install(tmp_path, capsys, monkeypatch, missing):
    """scikit-learn and skops are the optional ``demo`` extra: without them, one line, nothing written."""
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it fails
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = cli.main(["demo", "--tracking-uri", uri])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    names = {"sklearn": "scikit-learn", "skops": "skops"}
    assert all(names[m] in err for m in missing) and "requirements-demo.txt" in err
    assert not (tmp_path / "mlflow.db").exists()


def test_importing_the_demo_and_its_help_need_no_scikit_learn():
    """``python -m podium --help`` and ``demo --help`` work without the demo extra's packages loaded."""
    code = ("import sys\n"
            "from podium import cli\n"
            "import podium.demo\n"
            "try:\n"
            "    cli.main(['demo', '--help'])\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0\n"
            "print(sorted(m for m in ('sklearn', 'skops') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--scale" in out and "--force" in out
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "name",
    ["CHAMPION_ALIAS", "CHAMPION_CONSTRAINT", "DEMO_EXPERIMENTS", "DEMO_MODEL", "seed_demo", "_artifact_root",
     "add_arguments", "run"],
)
def test_the_package_keeps_the_names_other_modules_import(name):
    import podium.demo

    assert getattr(podium.demo, name) is not None
