"""Report: turn a comparison into a Markdown or one-file HTML report a lead can send.

Experiments, filter and chosen runs come from the Compare page when set there. The runs are the
frame every page shares (read once); the report is built from it, and the store is read again
only for the champion and the top runs' records when those change. Title, author and summary
are put on at render time: editing them reads and computes nothing again. The preview is the
HTML report in a frame sandboxed to scripts only (an opaque origin: its scripts cannot reach
this app); "Log to MLflow" writes only after an explicit confirmation.
"""

import uuid

import streamlit as st

from app_pages import _state as state
from app_pages._state import selected_runs
from app_pages._widgets import runs_or_stop
from podium import analysis
from podium.config import redact_uri
from podium.errors import PodiumError
from podium.links import mlflow_ui_base
from podium.report import ReportQuery, log_report_to_mlflow
from podium.report.build import build
from podium.report.gather import read_extras, select_runs, top_runs
from podium.report.html import preview_document, render_html
from podium.report.markdown import markdown_zip
from podium.text import inert



@st.cache_data(ttl=300, show_spinner=False, max_entries=8)
def cached_report(uri, experiments, query, runs):
    """The report without its words, and a key naming it; built once per (store, experiments,
    query, loaded runs). Reads only the champion and the top runs' records."""
    chosen = select_runs(uri, list(experiments), runs, query.filter_string, query.run_ids)
    extras = read_extras(uri, runs, top_runs(chosen, query), query)
    report = build(runs, chosen, query, extras, experiments=list(experiments), store_label=redact_uri(str(uri)),
                   ui_base=mlflow_ui_base(uri, query.ui_url))
    return report, uuid.uuid4().hex


@st.cache_data(show_spinner=False, max_entries=16)
def cached_html(key, title, author, summary, _report) -> str:
    return render_html(_report.with_words(title, author, summary))


@st.cache_data(show_spinner=False, max_entries=4)
def cached_zip(key, title, author, summary, _report) -> bytes:
    return markdown_zip(_report.with_words(title, author, summary), "report")


uri, experiments = state.page_store()  # read by the shell (app.py), which also drew the title
names = [e.name for e in experiments]
if "report_experiments" not in st.session_state:
    shared = state.shared_experiments(names)
    newest = [e.name for e in experiments if e.run_count][:1]  # newest activity first, as on Runs
    st.session_state["report_experiments"] = shared or newest
if "report_filter" not in st.session_state:
    st.session_state["report_filter"] = state.good_filter()

chosen = st.multiselect("Experiments", names, key="report_experiments", placeholder="Choose experiments")
if not chosen:
    st.info("Choose one or more experiments to report on.", icon=":material/arrow_upward:")
    st.stop()
runs = runs_or_stop(uri, chosen, experiments, key="report")
metrics = [c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics.")]
if not metrics:
    st.info("These experiments have no metrics to rank runs by.", icon=":material/inbox:")
    st.stop()

left, right = st.columns(2)
filter_string = left.text_input("Filter (MLflow search syntax)", key="report_filter",
                                placeholder="metrics.accuracy > 0.9 and params.optimizer = 'adam'")
picked = [r for r in selected_runs() if r in set(runs["run_id"])]
only_picked = left.toggle(f"Only the {len(picked)} runs chosen on Compare" if picked else "Only runs chosen on Compare (none chosen)",
                          key="report_only_selected", disabled=not picked, value=bool(picked))
primary = (analysis.primary_metric(runs) or "metrics." + metrics[0]).removeprefix("metrics.")
metric = right.selectbox("Rank by metric", metrics, index=metrics.index(primary) if primary in metrics else 0,
                         key="report_metric")
c1, c2 = right.columns(2)
if st.session_state.get("report_mode_metric") != metric:  # a new metric brings its usual direction
    st.session_state["report_mode_metric"] = metric
    st.session_state["report_mode"] = analysis.metric_direction("metrics." + metric)
mode = c1.segmented_control("Better is", ["max", "min"], key="report_mode",
                            format_func={"max": "higher", "min": "lower"}.get)
top = c2.number_input("Top N", min_value=1, max_value=50, value=5, step=1, key="report_top")

with st.expander("Title, author and summary", icon=":material/edit_note:", expanded=True):
    title = st.text_input("Title", key="report_title", placeholder=f"Best runs by {metric}")
    author = st.text_input("Author", key="report_author")
    summary = st.text_area("Summary (Markdown)", key="report_summary", height=120,
                           placeholder="What we tried, what we learnt, what we recommend.")

try:
    query = ReportQuery(metric, mode or "max", int(top), filter_string, tuple(picked) if only_picked else None,
                        ui_url=state.ui_base())
    with st.spinner("Building the report…", show_time=True):
        built, key = cached_report(uri, tuple(chosen), query, runs)
except PodiumError as exc:
    st.error(inert(str(exc)), icon=":material/error:")
    st.stop()

report = built.with_words(title, author, summary)
p = report.provenance
champion = f" · champion: {inert(report.champion.model_name)} v{inert(report.champion.version)}" if report.champion else " · no champion found"
st.caption(f"{len(report.leaderboard)} runs ranked of {p.runs_filtered:,} ({p.runs_total:,} in the experiments){champion}")
for note in report.notes:
    st.caption(inert(note))
html = cached_html(key, title, author, summary, built)
stamp = report.generated_at.strftime("%Y%m%d-%H%M")
d1, d2, d3 = st.columns([1, 1, 2], vertical_alignment="center")
d1.download_button("Download HTML", html.encode("utf-8"), file_name=f"podium-report-{stamp}.html", mime="text/html",
                   key="report_download_html", icon=":material/download:", on_click="ignore", width="stretch")
d2.download_button("Download Markdown (zip)", lambda: cached_zip(key, title, author, summary, built),
                   file_name=f"podium-report-{stamp}.zip", mime="application/zip", key="report_download_md",
                   icon=":material/folder_zip:", on_click="ignore", width="stretch")
with d3.popover("Log to MLflow", icon=":material/cloud_upload:", width="stretch"):
    st.write("Logs the HTML and the Markdown (with charts) as artifacts of a new run "
             "**podium-report-…** tagged `podium.report=true` in the experiment below. This writes to the store.")
    target = st.selectbox("Experiment", chosen, key="report_log_experiment")
    sure = st.checkbox("Yes, write to this MLflow store", key="report_log_confirm")
    if st.button("Log report", key="report_log", type="primary", disabled=not sure, icon=":material/cloud_upload:"):
        try:
            state.set_logged_report_run(log_report_to_mlflow(uri, report, target))
        except PodiumError as exc:
            st.error(inert(str(exc)), icon=":material/error:")
if state.logged_report_run():
    st.success(f"Report logged to run {inert(state.logged_report_run())}.", icon=":material/check_circle:")

st.iframe(preview_document(html), height=1100)
