"""Altair specs for Compare's deeper views: parameter importance, sweeps, a scatter matrix.

Computed in pandas first (see :mod:`podium.importance`, :mod:`podium.sweeps`); the specs only draw.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from podium.analysis import run_labels
from podium.charts import CANVAS, SELECTED_COLOR, ChartResult, chart_numbers
from podium.columns import column_label

#: The scatter matrix draws at most this many columns (5 × 5 panels).
MATRIX_MAX = 5


def importance_chart(importance: pd.DataFrame, metric_label: str, columns: list[str] | None = None, height: int | None = None) -> ChartResult:
    """Bars of :func:`podium.analysis.parameter_importance`, most important on top, coloured by
    the sign of the param's rank correlation with the metric (grey for categories)."""
    cols = columns or list(importance["param"])
    data = importance.assign(
        label=[column_label(p, cols) for p in importance["param"]],
        sign=[("higher → higher" if c > 0 else "higher → lower" if c < 0 else "no trend") if pd.notna(c) else "category"
              for c in importance["correlation"]],
        corr=importance["correlation"].astype(float).round(3),
        best=importance["best_value"].astype(object).where(importance["best_value"].notna(), ""),
    )[["label", "importance", "std", "sign", "corr", "best"]]
    order = list(data["label"])
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("importance:Q", title=f"Importance for {metric_label} (drop in R² when shuffled)"),
        color=alt.Color("sign:N", title=f"Param vs {metric_label}",
                        scale=alt.Scale(domain=["higher → higher", "higher → lower", "no trend", "category"],
                                        range=["#2563eb", "#dc2626", "#9ca3af", "#6b7280"])),
        tooltip=[alt.Tooltip("label:N", title="Param"), alt.Tooltip("importance:Q", format=".3f"),
                 alt.Tooltip("std:Q", title="± (over shuffles)", format=".3f"),
                 alt.Tooltip("corr:Q", title="Rank correlation"), alt.Tooltip("best:N", title="Best value")],
    )
    note = importance.attrs.get("note", "")
    title = alt.TitleParams(text=f"Which params explain {metric_label} · {importance.attrs.get('runs', 0):,} runs",
                            subtitle=[note] if note else [""], anchor="start", fontSize=14)
    chart = chart.properties(height=height or alt.Step(24), title=title, usermeta=CANVAS)
    return ChartResult(chart, total=len(data), drawn=len(data), notes=[note] if note else [])


def best_so_far_chart(curve: pd.DataFrame, labels: dict[str, str], metric_label: str, height: int = 300) -> ChartResult:
    """Each child's value by trial (start order) as dots, the best so far as a step line."""
    data = curve.assign(run=curve["run_id"].map(lambda r: labels.get(r, r[:8])))
    data = data[["trial", "value", "best", "run", "is_best"]]
    base = alt.Chart(data)
    dots = base.mark_circle(size=45, opacity=0.6, color="#6b7280").encode(
        x=alt.X("trial:Q", title="Trial (children by start time)", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title=metric_label, scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip("trial:Q"), alt.Tooltip("value:Q", format=".5~g")])
    line = base.mark_line(interpolate="step-after", color="#e4007c", strokeWidth=2.5).encode(
        x="trial:Q", y=alt.Y("best:Q", scale=alt.Scale(zero=False)))
    missing = int(curve["value"].isna().sum())
    notes = [f"{missing} child{'ren' * (missing != 1)} without a value."] if missing else []
    title = alt.TitleParams(text=f"Best {metric_label} so far · {len(curve)} children", subtitle=notes or [""], anchor="start", fontSize=14)
    return ChartResult(alt.layer(dots, line).properties(height=height, title=title, usermeta=CANVAS), total=len(curve),
                       drawn=int(curve["value"].notna().sum()), notes=notes)


def slice_chart(kids: pd.DataFrame, metric: str, params: list[str], selected=(), columns: int = 3) -> ChartResult:
    """Slice plots: the metric against each swept param, one small panel per param (numbers on a
    numeric axis, other values as categories)."""
    cols = list(kids.columns)
    metric_label = column_label(metric, cols)
    y = chart_numbers(kids[metric])
    panels = []
    for p in params:
        nums = chart_numbers(kids[p])
        data = pd.DataFrame({"run": run_labels(kids).values, "y": y.values if y is not None else np.nan,
                             "sel": kids["run_id"].isin(set(selected)).values})
        if nums is not None:
            data["v"] = nums.values
            kind = "Q"
        else:
            data["v"] = kids[p].astype(object).where(kids[p].notna(), "n/a").astype(str).values
            kind = "N"
        data = data[np.isfinite(data["y"].astype(float))]
        if kind == "Q":
            data = data[np.isfinite(data["v"].astype(float))]
        label = column_label(p, cols)
        panels.append(alt.Chart(data).mark_circle(size=50, opacity=0.7).encode(
            x=alt.X(f"v:{kind}", title=label, scale=alt.Scale(zero=False) if kind == "Q" else alt.Undefined),
            y=alt.Y("y:Q", title=metric_label, scale=alt.Scale(zero=False)),
            color=alt.condition("datum.sel", alt.value(SELECTED_COLOR), alt.value("#4f46e5")),
            tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip(f"v:{kind}", title=label), alt.Tooltip("y:Q", title=metric_label, format=".5~g")],
        ).properties(width=230, height=180))
    rows = [alt.hconcat(*panels[i:i + columns]) for i in range(0, len(panels), columns)]
    chart = alt.vconcat(*rows) if rows else alt.Chart(pd.DataFrame({"x": []})).mark_point()
    title = alt.TitleParams(text=f"{metric_label} against each swept param", anchor="start", fontSize=14)
    return ChartResult(chart.properties(title=title, usermeta=CANVAS), total=len(kids), drawn=len(kids))


def scatter_matrix(df: pd.DataFrame, columns: list[str], color: str | None = None, selected=(), size: int = 150) -> ChartResult:
    """Every pair of up to :data:`MATRIX_MAX` metrics/params as a grid of scatters (a Pareto view
    of all pairs). Numbers on numeric axes, other values as categories; runs without a value for
    a pair are left out of that panel and the subtitle says how many runs have every value."""
    columns = [c for c in dict.fromkeys(columns) if c in df.columns][:MATRIX_MAX]
    all_cols = list(df.columns)
    data = pd.DataFrame({"run": run_labels(df).values if len(df) else [], "sel": df["run_id"].isin(set(selected)).values})
    kinds = {}
    for i, c in enumerate(columns):
        nums = chart_numbers(df[c])
        if nums is not None:
            data[f"c{i}"] = nums.replace([np.inf, -np.inf], np.nan).values
            kinds[c] = "Q"
        else:
            data[f"c{i}"] = df[c].astype(object).where(df[c].notna(), None).values
            kinds[c] = "N"
    color_enc = alt.condition("datum.sel", alt.value(SELECTED_COLOR), alt.value("#4f46e5"))
    if color and color in df and color not in columns:
        nums = chart_numbers(df[color])
        data["color"] = nums.replace([np.inf, -np.inf], np.nan).values if nums is not None else df[color].astype(object).values
        color_enc = alt.Color(f"color:{'Q' if nums is not None else 'N'}", title=column_label(color, all_cols))
    elif color in columns:
        i = columns.index(color)
        color_enc = alt.Color(f"c{i}:{kinds[color]}", title=column_label(color, all_cols))
    rows = []
    for yi, yc in enumerate(columns):
        panels = []
        for xi, xc in enumerate(columns):
            xl, yl = column_label(xc, all_cols), column_label(yc, all_cols)
            pair = data[data[f"c{xi}"].notna() & data[f"c{yi}"].notna()]
            enc = {"x": alt.X(f"c{xi}:{kinds[xc]}", title=xl if yi == len(columns) - 1 else None,
                              scale=alt.Scale(zero=False) if kinds[xc] == "Q" else alt.Undefined),
                   "y": alt.Y(f"c{yi}:{kinds[yc]}", title=yl if xi == 0 else None,
                              scale=alt.Scale(zero=False) if kinds[yc] == "Q" else alt.Undefined),
                   "tooltip": [alt.Tooltip("run:N", title="Run"), alt.Tooltip(f"c{xi}:{kinds[xc]}", title=xl),
                               alt.Tooltip(f"c{yi}:{kinds[yc]}", title=yl)],
                   "color": color_enc}
            if xi == yi:  # the diagonal: how the runs spread on that column
                x = (alt.X(f"c{xi}:Q", bin=alt.Bin(maxbins=15), title=xl if yi == len(columns) - 1 else None)
                     if kinds[xc] == "Q" else enc["x"])
                panel = alt.Chart(pair).mark_bar(color="#9ca3af").encode(x=x, y=alt.Y("count():Q", title=yl if xi == 0 else None))
            else:
                panel = alt.Chart(pair).mark_circle(size=22, opacity=0.6).encode(**enc)
            panels.append(panel.properties(width=size, height=size))
        rows.append(alt.hconcat(*panels, spacing=6))
    complete = int(data[[f"c{i}" for i in range(len(columns))]].notna().all(axis=1).sum()) if columns else 0
    notes = [f"{len(df) - complete:,} of {len(df):,} runs lack a value on some axis (left out of those panels)."] if complete < len(df) else []
    title = alt.TitleParams(text=f"Scatter matrix · {len(df):,} runs", subtitle=notes or [""], anchor="start", fontSize=14)
    chart = alt.vconcat(*rows, spacing=6) if rows else alt.Chart(pd.DataFrame({"x": []})).mark_point()
    return ChartResult(chart.properties(title=title, usermeta=CANVAS), total=len(df), drawn=complete, notes=notes)
