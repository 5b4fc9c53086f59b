"""Reports from real stores: ranking, champion deltas, reproducibility cards, and inert run data
in both formats (HTML parsed with html.parser; Markdown rendered by markdown-it with raw HTML and
linkify on, as GitHub would)."""

from __future__ import annotations

import json
import math
import zipfile
import io

import pytest
from markdown_it import MarkdownIt

from podium import charts
from podium.errors import FilterError, NotFoundError
from podium.report import build_report, chartdata, log_report_to_mlflow, write_report
from podium.report.html import render_html
from podium.report.markdown import markdown_zip, render_markdown
from podium.report.safe import fmt_delta, fmt_value, md_text, summary_html, summary_markdown
from report_store import EXPERIMENT, HOSTILE, HOSTILE_RUN, MODEL_NAME, assert_inert
from stores import AWKWARD_EXPERIMENT, HOSTILE_NAME


@pytest.fixture(scope="module")
def report_store(report_template):
    """The session's report store (conftest ``report_template``), read-only."""
    return report_template


@pytest.fixture(scope="module")
def report(report_store):
    uri, _ = report_store
    return build_report(uri, [EXPERIMENT], "score", "max", top=3, summary=HOSTILE[2] + "\n\n" + HOSTILE[0])


def github_html(markdown: str) -> str:
    """Markdown as GitHub would show it: raw HTML allowed, bare URLs linkified."""
    return MarkdownIt("gfm-like", {"html": True, "linkify": True}).render(markdown)


# --- what the report says ---------------------------------------------------------------------


def test_leaderboard_ranks_by_metric_and_leaves_nan_unranked(report, report_store):
    _, ids = report_store
    assert [row.run_id for row in report.leaderboard] == [ids["best"], ids["champ"], ids["third"]]
    assert [row.rank for row in report.leaderboard] == [1, 2, 3]
    assert report.provenance.runs_total == 5 and report.provenance.runs_without_metric == 1
    assert any("1 of 5 runs have no value for score" in n for n in report.notes)


@pytest.mark.parametrize("mode, expected", [("max", ["best", "champ", "third", "other"]), ("min", ["other", "third", "champ", "best"])])
def test_direction_orders_the_leaderboard(report_store, mode, expected):
    uri, ids = report_store
    r = build_report(uri, [EXPERIMENT], "metrics.score", mode, top=10, charts=False)
    assert [row.run_id for row in r.leaderboard] == [ids[k] for k in expected]


def test_champion_is_found_by_alias_and_deltas_are_against_it(report, report_store):
    _, ids = report_store
    c = report.champion
    assert (c.model_name, c.alias, c.version, c.run_id) == (MODEL_NAME, "champion", "1", ids["champ"])
    assert c.in_leaderboard
    best, champ = report.leaderboard[0], report.leaderboard[1]
    assert champ.is_champion and not best.is_champion
    assert best.deltas["metrics.score"] == pytest.approx(0.95 - 0.9)
    assert champ.deltas["metrics.score"] == 0


def test_no_champion_without_the_alias(report_store):
    uri, _ = report_store
    r = build_report(uri, [EXPERIMENT], "score", alias="nobody", charts=False)
    assert r.champion is None and all(row.deltas == {} for row in r.leaderboard)


def test_filter_is_given_in_words_and_mlflow_syntax_with_counts(report_store):
    uri, ids = report_store
    r = build_report(uri, [EXPERIMENT], "score", filter_string="params.kind = 'a'", charts=False)
    p = r.provenance
    assert (p.runs_total, p.runs_filtered, p.runs_without_metric) == (5, 3, 1)
    assert p.filter_string == "params.kind = 'a'"
    assert "kind = a" in p.filter_words and "3 of 5 runs" in p.filter_words
    assert [row.run_id for row in r.leaderboard] == [ids["champ"], ids["third"]]


def test_chosen_runs_restrict_the_report(report_store):
    uri, ids = report_store
    r = build_report(uri, [EXPERIMENT], "score", run_ids=[ids["third"], ids["other"]], charts=False)
    assert [row.run_id for row in r.leaderboard] == [ids["third"], ids["other"]]
    assert r.provenance.selected_runs == 2


def test_reproducibility_cards_name_what_is_missing(report, report_store):
    _, ids = report_store
    cards = {c.run_id: c for c in report.cards}
    champ = cards[ids["champ"]]
    assert champ.missing == []
    assert champ.git_commit == "abc123def" and champ.source_name == "train.py"
    assert [(d.name, d.context) for d in champ.datasets] == [("transactions <v1>", "training")]
    assert len(champ.datasets[0].digest) >= 8
    (model,) = champ.models
    assert model.uri.startswith("models:/m-") and model.load_code == f'mlflow.pyfunc.load_model("{model.uri}")'
    assert model.env_files == ["conda.yaml", "requirements.txt", "python_env.yaml"]
    assert "MLmodel" in model.files
    # MLflow's fluent API records the source file itself; the git commit only inside a repository.
    assert cards[ids["best"]].missing == ["no code version recorded", "no dataset logged", "no model logged"]
    assert "no dataset logged" in cards[ids["third"]].missing and "no model logged" not in cards[ids["third"]].missing


def test_the_model_uri_in_the_card_loads_the_model(report):
    import mlflow

    card = report.cards[1]
    mlflow.set_tracking_uri(report.provenance.store)
    try:
        model = mlflow.pyfunc.load_model(card.models[0].uri)
    finally:
        mlflow.set_tracking_uri(None)
    assert model.metadata.run_id == card.run_id


@pytest.mark.parametrize("experiments, metric, filter_string, error", [
    (["no such experiment"], "score", "", NotFoundError),
    ([EXPERIMENT], "no_such_metric", "", NotFoundError),
    ([EXPERIMENT], "score", "metrics.score >> 1", FilterError),
    ([EXPERIMENT], "score", "score > 1", FilterError),
])
def test_bad_input_raises_a_podium_error(report_store, experiments, metric, filter_string, error):
    uri, _ = report_store
    with pytest.raises(error):
        build_report(uri, experiments, metric, filter_string=filter_string, charts=False)


# --- safety: hostile run data is inert ------------------------------------------------------------


def test_html_report_is_inert(report):
    html = render_html(report)
    # Our two scripts (the Vega bundle and the chart loader); the specs are JSON data blocks.
    scan = assert_inert(html, allowed_scripts=2, link_prefixes=("http://", "https://", "mailto:"))
    assert scan.urls == []  # no UI address known for a SQLite store, and the summary's link was javascript:
    assert "&lt;script&gt;alert(&#39;run&#39;)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html
    for attrs, body in scan.scripts:
        if attrs.get("type") == "application/json":
            json.loads(body)  # stays valid JSON, and '<' cannot close the element
            assert "<" not in body


def test_markdown_report_is_inert_when_rendered_like_github(report, tmp_path):
    text = render_markdown(report, tmp_path / "files", "files")
    html = github_html(text)
    scan = assert_inert(html.replace('<img src="files/', '<x-img src="files/'), link_prefixes=("files/",))
    assert "javascript" not in "".join(u for _, _, u in scan.urls)
    assert not [u for t, _, u in scan.urls if t == "a"]  # no link at all: none from run data, no UI known
    assert "<script" not in html and "&lt;img src=x onerror=alert(9)&gt;" in html
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == ["parallel.png", "scatter.png"]


def test_markdown_tables_keep_their_shape_with_hostile_cells(report):
    text = render_markdown(report)
    html = github_html(text)
    from html.parser import HTMLParser

    rows: list[list[str]] = []

    class Cells(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                rows.append([])
            if tag in ("td", "th"):
                rows[-1].append("")

        def handle_data(self, data):
            if rows and rows[-1]:
                rows[-1][-1] += data.strip("\n")

    Cells().feed(html)
    leader = [r for r in rows if r and r[0] == "#"][0]
    body = rows[rows.index(leader) + 1: rows.index(leader) + 4]
    assert all(len(r) == len(leader) for r in body)
    assert body[0][1] == HOSTILE_RUN  # shown exactly, as text
    assert body[0][0] == "1"


@pytest.mark.parametrize("value, shown", [(h, h.replace("\n", " ").replace("\u2028", " ").strip()) for h in HOSTILE])
def test_md_text_shows_any_string_literally_in_a_table_cell(value, shown):
    html = github_html(f"| a |\n| --- |\n| {md_text(value)} |\n")
    assert_inert(html)
    cell = html.split("<td>", 1)[1].split("</td>", 1)[0]
    import html as h

    assert h.unescape(cell) == shown


@pytest.mark.parametrize("summary, present, absent", [
    ("We **tried** [docs](https://mlflow.org).", ['<strong>tried</strong>', 'href="https://mlflow.org"'], []),
    ("[x](javascript:alert(1))", ["[x](javascript:alert(1))"], ["href="]),
    ("[x](JAVASCRIPT:alert(1)) and [y](data:text/html,hi)", [], ["href="]),
    ("<script>alert(1)</script>", ["&lt;script&gt;"], ["<script"]),
    ("![img](https://evil.example/x.png)", ['href="https://evil.example/x.png"'], ["<img"]),
    ("[ref]\n\n[ref]: javascript:alert(1)", [], ["href="]),
    ("mail [me](mailto:a@b.example)", ['href="mailto:a@b.example"'], []),
    ("<https://ok.example>", ['href="https://ok.example"'], []),
])
def test_summary_is_safe_markdown_in_html(summary, present, absent):
    html = summary_html(summary)
    assert_inert(html, link_prefixes=("http://", "https://", "mailto:"))
    for s in present:
        assert s in html
    for s in absent:
        assert s not in html


@pytest.mark.parametrize("summary, passes_through", [
    ("We **tried** [docs](https://mlflow.org).", True),
    ("[x](javascript:alert(1))", False),
    ("[ref]\n\n[ref]: javascript:alert(1)", False),
    ("<img src=x onerror=alert(1)>", True),  # passes as text: '<' becomes an entity
    ("![img](https://evil.example/x.png)", False),
])
def test_summary_is_safe_markdown_in_markdown(summary, passes_through):
    text = summary_markdown(summary)
    html = github_html(text)
    assert_inert(html, link_prefixes=("http://", "https://", "mailto:"))
    # Passing through keeps the Markdown; otherwise every bracket is escaped into plain text.
    assert ("\\[" not in text and "\\!" not in text) == passes_through


# --- formatting and files ---------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (0.6153846, "0.6154"), (12.3456, "12.35"), (math.nan, "n/a"), (None, "n/a"), (math.inf, "∞"),
    (-math.inf, "-∞"), (0.0, "0"), (1e-7, "1.000e-07"), (123456789.0, "1.235e+08"),
    # MLflow's SQL stores keep ±inf as ±float max: shown as infinity, not 1.798e+308.
    (1.7976931348623157e308, "∞"), (-1.7976931348623157e308, "-∞"), ("1.7976931348623157e308", "∞"),
    (1.7e308, "1.700e+308"), ("0\x1b[0m", "0␛[0m"),
])
def test_fmt_value(value, text):
    assert fmt_value(value) == text


@pytest.mark.parametrize("value, text", [(0.013, "+0.013"), (-0.0469, "−0.0469"), (0.0, "±0"), (math.nan, "n/a")])
def test_fmt_delta(value, text):
    assert fmt_delta(value) == text


def test_markdown_golden_rows(report):
    lines = render_markdown(report).splitlines()
    head = lines.index("## Leaderboard: top 3 by score (higher is better)")
    table = lines[head + 4: head + 9]
    assert table[0] == "| # | Run | score | Δ score vs champion | latency\\_ms | kind | C | p0 | p1 |"
    assert table[1] == "| --: | --- | --: | --: | --: | --- | --- | --- | --- |"
    assert table[2].startswith(
        "| 1 | &lt;script&gt;alert\\('run'\\)&lt;/script&gt; \\| \\[x\\]\\(javascript\\:alert\\(1\\)\\) \\{\\{ 7\\*7 \\}\\} "
        "| **0.95** | +0.05 ▲ | 11 | &lt;img src=x onerror=alert\\(9\\)&gt; | – | &lt;script&gt;alert\\('x'\\)&lt;/script&gt; |")
    assert table[3] == "| 2 | champ-run ★ _champion_ | **0.9** | champion | 12 | a | 1.0 | – | – |"
    assert table[4] == "| 3 | third-run | **0.8** | −0.1 ▼ | 13 | a | 0.1 | – | – |"


def test_markdown_data_section(report):
    text = render_markdown(report)
    assert f"- **Experiments:** report &lt;b&gt;exp&lt;/b&gt; \\| \\`x\\` \\{{\\{{ 7\\*7 \\}}\\}}" in text
    assert "- **Runs:** 5 in the experiments, 5 after the filter, 1 without score (not ranked)" in text
    assert "- **Ranked by:** score (higher is better), top 3" in text


def test_zip_holds_markdown_and_charts(report):
    data = markdown_zip(report, "team")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        text = zf.read("team.md").decode()
    assert names == ["team.md", "team_files/parallel.png", "team_files/scatter.png"]
    assert "![Parallel coordinates](team_files/parallel.png)" in text


def test_awkward_store_report_is_inert(awkward_store, tmp_path):
    uri, ids = awkward_store
    r = build_report(uri, [AWKWARD_EXPERIMENT], "accuracy", top=5)
    assert ids["hostile"] in [row.run_id for row in r.leaderboard]
    html = render_html(r)
    prefixes = (r.ui_base,) if r.ui_base else ()
    assert_inert(html, allowed_scripts=2, link_prefixes=prefixes or ("\x00",))
    assert HOSTILE_NAME not in html
    md = render_markdown(r)
    assert_inert(github_html(md), link_prefixes=prefixes or ("\x00",))
    assert "<script>" not in md


def test_password_never_appears(awkward_stores, tmp_path):
    base, _ = awkward_stores.get("http")
    uri = base.replace("http://", "http://alice:s3cr3t-pw@")
    r = build_report(uri, [AWKWARD_EXPERIMENT], "accuracy", top=3)
    assert r.ui_base == base  # links go to the server, without the user's credentials
    html, md = render_html(r), render_markdown(r)
    for text in (html, md, repr(r)):
        assert "s3cr3t-pw" not in text
    assert "alice:***@" in md
    assert_inert(html, allowed_scripts=2, link_prefixes=(base + "/#/experiments/",))
    assert f"[open]({base}/#/experiments/" in md


def test_log_report_to_mlflow_writes_a_tagged_run_with_both_formats(report_copy):
    from mlflow import MlflowClient

    uri, _ = report_copy
    r = build_report(uri, [EXPERIMENT], "score", top=2)
    run_id = log_report_to_mlflow(uri, r, EXPERIMENT)
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.tags["podium.report"] == "true" and run.info.run_name.startswith("podium-report-")
    assert run.info.status == "FINISHED"
    files = sorted(f.path for f in client.list_artifacts(run_id, "report"))
    assert files == ["report/report.html", "report/report.md", "report/report_files"]
    assert sorted(f.path for f in client.list_artifacts(run_id, "report/report_files")) == [
        "report/report_files/parallel.png", "report/report_files/scatter.png"]
    found = client.search_runs([run.info.experiment_id], "tags.`podium.report` = 'true'")
    assert [x.info.run_id for x in found] == [run_id]


def test_write_report_md_writes_images_beside(report, tmp_path):
    files = write_report(report, tmp_path / "out.md", "md")
    assert [f.name for f in files] == ["out.md", "parallel.png", "scatter.png"]
    assert "](out_files/parallel.png)" in (tmp_path / "out.md").read_text()


@pytest.mark.parametrize("filter_string, label", [
    ("", f"@champion {MODEL_NAME} v1"),
    ("metrics.score > 0.92", f"@champion {MODEL_NAME} v1 (outside the filter)"),  # 0.9: filtered out, still marked
])
def test_the_champion_is_marked_on_the_report_charts(report_store, filter_string, label):
    uri, ids = report_store
    r = build_report(uri, [EXPERIMENT], "score", "max", top=3, filter_string=filter_string)
    parallel, scatter = (c.spec for c in r.charts)
    assert f"Dashed black: {label}." in parallel["title"]["subtitle"]
    stars = [layer for layer in scatter["layer"] if layer["mark"].get("shape") == charts.STAR]
    assert len(stars) == 1 and [row["run"] for row in chartdata.rows(scatter, stars[0]["data"]["name"])] == ["champ-run"]
