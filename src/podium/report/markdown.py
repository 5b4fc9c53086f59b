"""Render a :class:`~podium.report.build.Report` as GitHub-flavoured Markdown.

Charts become PNG images (drawn by vl-convert, no browser, in a child process so that a crash of
the native renderer costs only the images) in a folder beside the file, or in a zip with it; when
they cannot be drawn the Markdown says so and is written without them. Every string from a run
goes through :func:`podium.report.safe.md_text`, and no link is made from run data: the only
links are to the MLflow UI, built from its configured address and a run id that is checked to be
plain letters and digits.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from podium.errors import PodiumError
from podium.report import chartdata
from podium.report.build import FINISHED, Report
from podium.report.safe import (
    delta_better,
    fmt_delta,
    fmt_duration,
    fmt_time,
    fmt_value,
    md_code,
    md_text,
    short,
    summary_markdown,
)

PNG_WIDTH = 760
# A link Podium builds (MLflow UI address + checked ids) must also be a plain URL to be emitted.
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#@!$&*+,;=%-]+$")
CELL_MAX = 80
# Markdown tables cannot size their columns; fewer columns keep run names readable on GitHub.
MD_METRICS = 3
MD_PARAMS = 4


PNG_TIMEOUT_S = 300


class ChartImageError(PodiumError):
    """The chart images could not be drawn (the report is still written, without them)."""


def chart_pngs(report: Report) -> dict[str, bytes]:
    """Each chart as PNG bytes, keyed by file name (``parallel.png``, ``scatter.png``).

    Every string is made visible first (:func:`podium.report.chartdata.compact`: no control
    or bidi character reaches vl-convert), and vl-convert draws in a child process
    (:mod:`podium.report._png_child`), so even a crash of the native renderer only fails this call.

    Raises:
        ChartImageError: the renderer failed; the message says how, in one line.
    """
    if not report.charts:
        return {}
    charts = {}
    for chart in report.charts:
        spec = chartdata.compact(chart.spec)
        if spec.get("width") == "container":
            spec["width"] = PNG_WIDTH
        charts[f"{chart.key}.png"] = spec
    return render_pngs(charts)


def render_pngs(charts: dict[str, dict], scale: int = 2) -> dict[str, bytes]:
    """Vega-Lite specs (by file name) drawn as PNG by vl-convert in a child process.

    Callers sanitise the specs; this only keeps a renderer crash out of the calling process.

    Raises:
        ChartImageError: the child failed, crashed or took longer than ``PNG_TIMEOUT_S``.
    """
    child = Path(__file__).with_name("_png_child.py")
    payload = json.dumps({"scale": scale, "charts": charts}, allow_nan=False, default=str)
    with tempfile.TemporaryDirectory(prefix="podium-png-") as folder:
        try:
            done = subprocess.run([sys.executable, str(child), folder], input=payload.encode("utf-8"),
                                  capture_output=True, timeout=PNG_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise ChartImageError(f"drawing the chart images took longer than {PNG_TIMEOUT_S} s") from None
        except OSError as exc:
            raise ChartImageError(f"the chart renderer could not start ({exc.strerror or exc})") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
            how = lines[-1].strip()[:200] if lines else f"exit code {done.returncode}"
            raise ChartImageError(f"the chart renderer (vl-convert) failed: {how}")
        return {name: (Path(folder) / name).read_bytes() for name in charts}


def _pngs(report: Report, warnings: list[str] | None) -> tuple[dict[str, bytes], str | None]:
    try:
        return chart_pngs(report), None
    except ChartImageError as exc:
        problem = f"The chart images could not be drawn ({exc}); the HTML report has the charts."
        if warnings is not None:
            warnings.append(problem)
        return {}, problem


def render_markdown(report: Report, image_dir: str | Path | None = None, image_prefix: str | None = None,
                    warnings: list[str] | None = None) -> str:
    """The report as Markdown text.

    Args:
        report: What :func:`~podium.report.build.build_report` computed.
        image_dir: Write the chart PNGs here; without it, charts are listed but not drawn.
        image_prefix: How the Markdown refers to the images (default: ``image_dir``'s name).
        warnings: When the images cannot be drawn, the text says so and the reason is appended here.
    """
    images: dict[str, str] = {}
    problem = None
    if image_dir is not None and report.charts:
        folder = Path(image_dir)
        prefix = image_prefix if image_prefix is not None else folder.name
        pngs, problem = _pngs(report, warnings)
        if pngs:
            folder.mkdir(parents=True, exist_ok=True)
        for name, data in pngs.items():
            (folder / name).write_bytes(data)
            images[name] = f"{prefix}/{name}" if prefix else name
    return _render(report, images, problem)


def write_markdown(report: Report, path: str | Path, warnings: list[str] | None = None) -> Path:
    """Write ``path`` and its charts in ``<stem>_files/`` beside it; returns the path."""
    path = Path(path)
    text = render_markdown(report, path.parent / f"{path.stem}_files", f"{path.stem}_files", warnings)
    path.write_text(text, encoding="utf-8")
    return path


def markdown_zip(report: Report, stem: str = "report", warnings: list[str] | None = None) -> bytes:
    """A zip holding ``<stem>.md`` and ``<stem>_files/*.png``.

    When the images cannot be drawn the zip holds the Markdown alone, which says so.
    """
    buffer = io.BytesIO()
    folder = f"{stem}_files"
    pngs, problem = _pngs(report, warnings) if report.charts else ({}, None)
    text = _render(report, {name: f"{folder}/{name}" for name in pngs}, problem)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{stem}.md", text)
        for name, data in pngs.items():
            zf.writestr(f"{folder}/{name}", data)
    return buffer.getvalue()


def _link_ok(url: str | None) -> bool:
    return bool(url) and bool(_PLAIN_URL.match(url))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _render(r: Report, images: dict[str, str], problem: str | None = None) -> str:
    p = r.provenance
    better = "higher is better" if r.mode == "max" else "lower is better"
    out = [f"# {md_text(r.title)}", ""]
    byline = [f"by {md_text(r.author)}"] if r.author else []
    byline += [f"generated {fmt_time(r.generated_at)}", f"Podium {r.podium_version}", f"MLflow {r.mlflow_version}"]
    out += ["_" + " · ".join(byline) + "_", ""]
    summary = summary_markdown(r.summary)
    if summary:
        out += [summary, ""]

    out += ["## Data", ""]
    out.append(f"- **Store:** {md_code(p.store)}")
    out.append("- **Experiments:** " + ", ".join(md_text(e) for e in p.experiments))
    if p.filter_string:
        out.append(f"- **Filter:** {md_text(p.filter_words)} · MLflow syntax: {md_code(p.filter_string)}")
    else:
        out.append("- **Filter:** none (all runs)")
    counts = f"{p.runs_total:,} in the experiments, {p.runs_filtered:,} after the filter"
    if p.selected_runs is not None:
        counts += f", {p.selected_runs:,} chosen"
    if p.runs_without_metric:
        counts += f", {p.runs_without_metric:,} without {md_text(r.metric_name)} (not ranked)"
    out.append(f"- **Runs:** {counts}")
    out.append(f"- **Ranked by:** {md_text(r.metric_name)} ({better}), top {r.top}")
    out.append("")

    if r.champion:
        c = r.champion
        who = md_text(c.run_name or c.run_id or "unknown run")
        where = " (in the leaderboard)" if c.in_leaderboard else ""
        link = f" · [MLflow run]({c.url})" if _link_ok(c.url) else ""
        value = fmt_value(c.metrics.get(r.metric))
        out += ["## Current champion", "",
                f"{md_text(c.model_name)} version {md_text(c.version)} (alias {md_code(c.alias)}): run **{who}**{where}, "
                f"{md_text(r.metric_name)} = {value}{link}. Deltas below are each run minus the champion.", ""]

    out += [f"## Leaderboard: top {len(r.leaderboard)} by {md_text(r.metric_name)} ({better})", ""]
    for note in r.notes:
        out += [f"> {md_text(note)}", ""]
    if r.leaderboard:
        deltas = bool(r.champion) and any(row.deltas for row in r.leaderboard)
        key_metrics, key_params = r.key_metrics[:MD_METRICS], r.key_params[:MD_PARAMS]
        head = ["#", "Run"] + [md_text(short(m)) for m in key_metrics]
        if deltas:
            head.insert(3, f"Δ {md_text(r.metric_name)} vs champion")
        head += [md_text(short(k)) for k in key_params] + (["MLflow"] if r.ui_base else [])
        align = ["--:", "---"] + ["--:"] * (len(key_metrics) + deltas) + ["---"] * (len(key_params) + bool(r.ui_base))
        out += [_row(head), _row(align)]
        for row in r.leaderboard:
            name = md_text(row.run_name, CELL_MAX)
            if row.status and row.status != FINISHED:
                name += f" **{md_text(row.status)}**"
            if row.is_champion:
                name += " ★ _champion_"
            if len(p.experiments) > 1:
                name += f" · {md_text(row.experiment_name, CELL_MAX)}"
            cells = [str(row.rank), name] + [fmt_value(row.metrics.get(m)) for m in key_metrics]
            cells[2] = f"**{cells[2]}**"
            if deltas:
                d = row.deltas.get(r.metric)
                mark = {True: " ▲", False: " ▼", None: ""}[delta_better(d, r.mode)]
                cells.insert(3, "champion" if row.is_champion else f"{fmt_delta(d)}{mark}" if d is not None else "n/a")
            cells += [md_text(row.params.get(k), CELL_MAX) if row.params.get(k) is not None else "–" for k in key_params]
            if r.ui_base:
                cells.append(f"[open]({row.url})" if _link_ok(row.url) else "")
            out.append(_row(cells))
        out.append("")
        if deltas:
            out += [f"_Δ: this run's {md_text(r.metric_name)} minus the champion's; ▲ better, ▼ worse. "
                    "The HTML report shows more metrics and params, with deltas for each._", ""]

    if r.charts:
        out += ["## Charts", ""]
        if problem:
            out += [f"> {md_text(problem)}", ""]
        for chart in r.charts:
            out += [f"### {md_text(chart.title)}", ""]
            src = images.get(f"{chart.key}.png")
            if src:
                out += [f"![{md_text(chart.title)}]({src})", ""]
            elif chart.notes:  # the image's subtitle carries them otherwise
                out += [f"_{md_text(' '.join(chart.notes))}_", ""]
        out += ["Best runs are highlighted. The HTML report has the same charts, interactive.", ""]

    if r.cards:
        out += ["## Reproducibility", ""]
    for i, card in enumerate(r.cards, start=1):
        status = f" ({md_text(card.status)})" if card.status and card.status != FINISHED else ""
        out += [f"### {i}. {md_text(card.run_name, CELL_MAX)}{status}", ""]
        if card.unreadable:
            out += [f"> **Not read:** MLflow could not read this run's data sets and models ({md_text(card.unreadable)}).", ""]
        if card.missing:
            out += ["> **Missing:** " + "; ".join(card.missing) + ".", ""]
        elif not card.unreadable:
            out += ["> **Complete:** code version, data sets and model with its environment are recorded.", ""]
        line = f"- **Run id:** {md_code(card.run_id)}"
        if _link_ok(card.url):
            line += f" ([open in MLflow]({card.url}))"
        out.append(line)
        out.append(f"- **Experiment:** {md_text(card.experiment_name)}")
        code = md_code(card.git_commit) if card.git_commit else "_not recorded_"
        out.append(f"- **Code version:** {code}" + (f" of {md_code(card.source_name)}" if card.source_name else ""))
        entry = card.entry_point or (f"{card.source_type.lower()} source" if card.source_type else None)
        out.append(f"- **Entry point:** {md_code(entry) if card.entry_point else md_text(entry) if entry else '_not recorded_'}")
        out.append(f"- **User:** {md_text(card.user) if card.user else '_unknown_'} · **Started:** {fmt_time(card.start_time)} · **Duration:** {fmt_duration(card.duration_s)}")
        if card.unreadable and not card.datasets:
            out.append("- **Data sets:** _could not be read_")
        elif card.datasets:
            ds = "; ".join(f"{md_text(d.name)} (digest {md_code(d.digest)}" + (f", {md_text(d.context)})" if d.context else ")") for d in card.datasets)
            out.append(f"- **Data sets:** {ds}")
        else:
            out.append("- **Data sets:** _none logged_")
        if card.models:
            for m in card.models:
                env = ", ".join(md_code(f) for f in m.env_files) or (
                    "_no environment file_" if m.files_checked else "_not checked (the model's files were not listed)_")
                out.append(f"- **Model** {md_text(m.name)}: {md_code(m.uri)} · environment: {env}")
                out.append(f"  - Load it: {md_code(m.load_code)}")
        else:
            out.append("- **Model:** _could not be read_" if card.unreadable else "- **Model:** _none logged_")
        if card.params:
            params = ", ".join(f"{md_text(k, 60)} = {md_text(v, 60)}" for k, v in card.params.items())
            more = f" (and {card.params_hidden} more)" if card.params_hidden else ""
            out.append(f"- **Params:** {params}{more}")
        out.append("")
    out += ["---", "", f"_Made with Podium {r.podium_version} from {md_code(p.store)}._", ""]
    return "\n".join(out)
