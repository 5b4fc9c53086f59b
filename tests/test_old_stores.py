"""Stores written by old MLflow generations open read-only on every read path, page and CLI command.

The fixtures in ``tests/fixtures/stores/`` were written by MLflow 1.26, 1.30, 2.9 and 2.22 themselves
(``tests/fixtures/make_stores.py``; ``manifest.json`` says what each holds): a SQLite store and a
file store of each, and one ``mlruns`` folder as git commits it (empty folders gone). Each test
works on a private copy of one fixture, hashes every file and folder of the copy before and after
the read, and runs in an empty working folder that must stay empty: not one byte of a store may
change, and nothing may appear beside it, unless a user confirmed a write (issue 11).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from podium import analysis, store
from podium.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STORES = FIXTURES / "stores"
MANIFEST = json.loads((STORES / "manifest.json").read_text())
STORE_NAMES = sorted(MANIFEST)

_spec = importlib.util.spec_from_file_location("make_stores", FIXTURES / "make_stores.py")
make_stores = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_stores)
TRAIN, SWEEP, MODEL = make_stores.TRAIN, make_stores.SWEEP, make_stores.MODEL_NAME
RUNS = make_stores.RUNS
ACTIVE = {exp: sum(1 for label, r in RUNS.items() if r[0] == exp and label != "deleted") for exp in (TRAIN, SWEEP)}


@dataclass
class OldStore:
    """A private copy of one fixture store, and what it looked like before the test read it."""

    name: str
    info: dict
    uri: str
    root: Path  # the folder holding the copy (and anything a driver might put beside it)
    cwd: Path  # the test's working folder, empty at the start
    before: dict[str, str]

    @property
    def ids(self) -> dict[str, str]:
        return self.info["runs"]

    @property
    def has_registry(self) -> bool:
        return bool(self.info["versions"])

    @property
    def legacy_stages(self) -> bool:
        return any(v["stage"] for v in self.info["versions"].values())


def digest(root: Path) -> dict[str, str]:
    """Every file (by its bytes) and folder under ``root``, by relative path."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


def changes(s: OldStore) -> list[str]:
    """What differs from the copy as it was before the read, and what appeared in the working folder."""
    after = digest(s.root)
    out = [f"added {p}" for p in sorted(set(after) - set(s.before))]
    out += [f"removed {p}" for p in sorted(set(s.before) - set(after))]
    out += [f"changed {p}" for p in sorted(set(after) & set(s.before)) if after[p] != s.before[p]]
    out += [f"written in the working folder: {p.name}" for p in sorted(s.cwd.iterdir())]
    return out


def open_copy(name: str, tmp_path: Path) -> OldStore:
    info = MANIFEST[name]
    source = STORES / info["fixture"]
    root = tmp_path / "store"
    root.mkdir()
    if info["kind"] == "sqlite":
        shutil.copy2(source, root / name)
        uri = f"sqlite:///{root / name}"
    elif source.name.endswith(".tar.gz"):
        with tarfile.open(source) as tar:
            tar.extractall(root, filter="data")
        uri = str(root / name)
    else:
        shutil.copytree(source, root / name)
        uri = str(root / name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return OldStore(name, info, uri, root, cwd, digest(root))


@pytest.fixture(params=STORE_NAMES)
def old_store(request, tmp_path, monkeypatch) -> OldStore:
    s = open_copy(request.param, tmp_path)
    monkeypatch.chdir(s.cwd)
    return s


def read_then_check(s: OldStore, read, *args) -> None:
    """Run ``read``; the store and the working folder must be unchanged even when it fails."""
    error = None
    try:
        read(s, *args)
    except Exception as exc:  # reported after the write check, which matters more
        error = exc
    changed = changes(s)
    assert not changed, f"{s.name}: a read changed the store or the working folder: {changed}" + (
        f" (and the read itself failed: {type(error).__name__}: {error})" if error else "")
    if error is not None:
        raise error


# ------------------------------------------------------------------------------------------------
# Read paths of the core, each with what it must find.


def read_experiments(s: OldStore) -> None:
    exps = {e.name: e for e in store.list_experiments(s.uri)}
    assert {TRAIN, SWEEP} <= set(exps)
    assert {n: exps[n].run_count for n in ACTIVE} == ACTIVE


def read_runs(s: OldStore) -> None:
    for name, count in ACTIVE.items():
        df = store.load_runs(s.uri, [name])
        assert len(df) == count, name
        assert set(df["experiment_name"]) == {name}
    ids = s.ids
    df = store.load_runs(s.uri, [TRAIN, SWEEP])
    assert ids["deleted"] not in set(df["run_id"])
    runs = df.set_index("run_id")
    assert runs.at[ids["running"], "status"] == "RUNNING"
    assert runs.at[ids["failed"], "status"] == "FAILED"
    assert runs.at[ids["rf-1"], "run_name"] == "rf-baseline"  # on 1.26 the name is only the tag
    assert runs.at[ids["child-1"], "tags.mlflow.parentRunId"] == ids["parent"]
    assert set(runs["params.seed"].dropna()) == {"1", "2", "3", "7"}
    assert math.isnan(runs.at[ids["gbm-nan"], "metrics.accuracy"])  # the last value logged was NaN
    assert runs.at[ids["gbm-inf"], "metrics.loss"] >= sys.float_info.max  # inf (float max on SQL)
    assert runs.at[ids["rf-1"], "start_time"].value // 10**6 == make_stores.BASE_MS + 30
    labels = analysis.run_labels(df)
    assert all(isinstance(v, str) and v.strip() for v in labels), "a run has a blank label"
    if not s.info["named_runs"]:
        assert labels[ids["unnamed"]] == ids["unnamed"][:8]
    assert len(set(labels)) == len(labels)


def read_history(s: OldStore) -> None:
    ids = s.ids
    labels = ["rf-1", "gbm-inf", "running", "failed"]
    hist = store.load_metric_history(s.uri, [ids[label] for label in labels], "loss")
    counts = hist.groupby("run_id").size().to_dict()
    assert counts == {ids[label]: len(RUNS[label][5]["loss"]) for label in labels}
    nan_run = store.load_metric_history(s.uri, [ids["gbm-nan"]], "accuracy")
    assert list(nan_run["step"]) == [0, 1, 2, 3, 4] and math.isnan(nan_run["value"].iloc[-1])


def read_records(s: OldStore) -> None:
    ids = s.ids
    active = [rid for label, rid in ids.items() if label != "deleted"]
    records = store.run_records(s.uri, active)
    assert set(records) == set(active)
    for label, rid in ids.items():
        if label == "deleted":
            continue
        assert records[rid].tags.get("fixture.label") == label
        # The artifact folders are out of reach (a copied store); the run's
        # mlflow.log-model.history tag still says it logged a model.
        assert bool(records[rid].models) == (label in make_stores.MODEL_RUNS), label


def read_registry(s: OldStore) -> None:
    ids = s.ids
    assert store.registered_model_names(s.uri) == ([MODEL] if s.has_registry else [])
    versions = store.model_versions(s.uri, MODEL)
    expected = {int(v): ids[info["run"]] for v, info in s.info["versions"].items()}
    assert {v.version: v.run_id for v in versions} == expected
    for v in versions:
        info = s.info["versions"][str(v.version)]
        assert sorted(v.aliases) == info["aliases"]
        if s.legacy_stages:  # the legacy stage is shown where there is no alias
            assert getattr(v, "stage", None) == info["stage"]
    champions = store.champion_versions(s.uri)
    assert [(c.model_name, c.alias, str(c.version), c.run_id) for c in champions] == [
        (MODEL, alias, v, ids[info["run"]]) for v, info in s.info["versions"].items() for alias in info["aliases"]
    ]


READS = {
    "list_experiments": read_experiments,
    "load_runs": read_runs,
    "load_metric_history": read_history,
    "run_records": read_records,
    "registry": read_registry,
}


@pytest.mark.parametrize("read", list(READS))
def test_core_reads_change_nothing(old_store, read):
    read_then_check(old_store, READS[read])


# ------------------------------------------------------------------------------------------------
# The CLI: champion dry run, report in both formats.


def cli_champion(s: OldStore, capsys) -> None:
    code = main(["champion", "--tracking-uri", s.uri, "--experiment", TRAIN, "--metric", "accuracy",
                 "--model-name", MODEL])
    out, err = capsys.readouterr()
    if s.has_registry:
        assert code == 0, err
        assert "Decision:" in out
        assert "rf-seed2" in out  # the best accuracy among runs with a model
        assert "Dry run" in out or "Nothing to change" in out  # 2.22: rf-seed2 already @champion
    else:  # a file store of MLflow 1.x has no registry: a one-line user error, nothing created
        assert code == 2, err
        assert err.count("\n") == 1 and "Traceback" not in err and MODEL in err


def cli_report(s: OldStore, capsys, fmt: str, out_dir: Path) -> None:
    output = out_dir / ("report.html" if fmt == "html" else "report.zip")
    code = main(["report", "--tracking-uri", s.uri, "--experiment", TRAIN, "--metric", "accuracy",
                 "--format", fmt, "--output", str(output)])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert output.is_file() and output.stat().st_size > 0
    if fmt == "html":
        assert "rf-seed2" in output.read_text()


@pytest.mark.parametrize("command", ["champion", "report-html", "report-md"])
def test_cli_changes_nothing(old_store, command, capsys, tmp_path):
    if command == "champion":
        read_then_check(old_store, cli_champion, capsys)
    else:
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        read_then_check(old_store, cli_report, capsys, command.split("-")[1], out_dir)


# ------------------------------------------------------------------------------------------------
# The app's pages (Streamlit AppTest): no exception, no error message, the runs shown.


def _no_error(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def page_runs(s: OldStore, open_app) -> None:
    at = open_app(s.uri)
    _no_error(at)
    at.multiselect(key="runs_experiments").set_value([TRAIN, SWEEP]).run()
    _no_error(at)
    table = at.dataframe[0].value
    assert len(table) == sum(ACTIVE.values())
    blank = [i for i, name in enumerate(table["run_name"]) if not (isinstance(name, str) and name.strip())]
    assert not blank, f"rows shown without a run name or label: {blank}"  # MLflow 1.26's unnamed run


def page_compare(s: OldStore, open_app) -> None:
    ids = s.ids
    at = open_app(s.uri, "app_pages/compare.py", query={"exp": [TRAIN], "runs": [ids["rf-1"], ids["unnamed"]]})
    _no_error(at)
    assert at.multiselect(key="compare_selected").value == [ids["rf-1"], ids["unnamed"]]
    assert any("Selected runs (2)" in h.value for h in at.subheader)


def page_report(s: OldStore, open_app) -> None:
    at = open_app(s.uri, "app_pages/report.py")
    _no_error(at)
    at.multiselect(key="report_experiments").set_value([TRAIN]).run()
    _no_error(at)
    assert any("runs ranked of" in c.value for c in at.caption)


def page_champion(s: OldStore, open_app) -> None:
    at = open_app(s.uri, "app_pages/champion.py")
    _no_error(at)
    at.multiselect(key="champion_experiments").set_value([TRAIN]).run()
    _no_error(at)
    if s.has_registry:
        assert at.selectbox(key="champion_model").value == MODEL


PAGES = {"runs": page_runs, "compare": page_compare, "report": page_report, "champion": page_champion}


@pytest.mark.parametrize("page", list(PAGES))
def test_pages_open_and_change_nothing(old_store, page, open_app):
    read_then_check(old_store, PAGES[page], open_app)


# ------------------------------------------------------------------------------------------------
# The fixtures themselves: what the issue asks of them.


def test_fixtures_cover_every_generation_and_a_git_copy():
    versions = {info["mlflow"] for info in MANIFEST.values()}
    assert {"1.30.1", "2.9.2"} <= versions and any(v.startswith("2.22.") for v in versions)
    kinds = {(info["mlflow"], info["kind"]) for info in MANIFEST.values()}
    assert all((v, k) in kinds for v in versions for k in ("sqlite", "file"))
    git_copies = [n for n, info in MANIFEST.items() if info.get("git_copy_of")]
    assert git_copies
    for name in git_copies:
        folder = STORES / MANIFEST[name]["fixture"]
        assert not [p for p in folder.rglob("*") if p.is_dir() and not any(p.iterdir())]
    total = sum(p.stat().st_size for p in STORES.rglob("*") if p.is_file())
    assert total < 3_000_000  # small enough to commit


@pytest.mark.parametrize("name", [n for n in STORE_NAMES if MANIFEST[n]["fixture"].endswith(".tar.gz")])
def test_archived_mlruns_keep_their_empty_folders(name, tmp_path):
    s = open_copy(name, tmp_path)
    empty = [p for p in (s.root / name).rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert empty  # runs without artifacts keep an empty artifacts/ folder, as MLflow left them
