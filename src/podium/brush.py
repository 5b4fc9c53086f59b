"""Brushing the parallel coordinates: ranges on axes that keep only the runs inside them.

A brush is ``{column: Range}``. A numeric range keeps values from ``lo`` to ``hi`` (both
included; ±inf are values like any other), a categorical one keeps the listed values; either
can also keep runs without a value (``na``). Brushes go into the permalink as repeated ``brush``
parameters: ``params.lr:0.001:0.1`` (``:na`` appended when missing values are kept) or
``params.opt:=["adam","sgd"]`` (a JSON list; ``null`` for missing).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Range:
    """What one axis keeps: numbers within ``[lo, hi]`` or the values in ``values``; ``na``
    keeps runs without a value."""

    lo: float = math.nan
    hi: float = math.nan
    values: tuple[str, ...] | None = None
    na: bool = False

    def to_param(self, column: str) -> str:
        if self.values is not None:
            return f"{column}:=" + json.dumps(list(self.values) + ([None] if self.na else []), ensure_ascii=False)
        return f"{column}:{_num(self.lo)}:{_num(self.hi)}" + (":na" if self.na else "")

    def describe(self, label: str) -> str:
        if self.values is not None:
            shown = ", ".join(self.values[:6]) + (f" (+{len(self.values) - 6})" if len(self.values) > 6 else "")
            text = f"{label} in {{{shown}}}" if self.values else ""
        elif math.isnan(self.lo) and math.isnan(self.hi):
            text = ""
        else:
            text = f"{_short(self.lo)} ≤ {label} ≤ {_short(self.hi)}"
        if self.na:
            return f"({text} or no {label})" if text else f"no {label}"
        return text or f"no run on {label}"


def _num(v: float) -> str:
    """A bound as text that reads back as the same float (the permalink must keep the same runs)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _short(v: float) -> str:
    return _num(v) if not math.isfinite(v) else f"{v:.6g}"


def _outward(v: float, up: bool, digits: int = 4) -> float:
    """``v`` rounded to ``digits`` significant digits away from the range's inside, so a short
    bound never leaves out a run the dragged box covered."""
    if not math.isfinite(v) or v == 0:
        return v
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(v))))
    rounded = (math.ceil(v * scale) if up else math.floor(v * scale)) / scale
    return float(f"{rounded:.{digits + 2}g}")


Brush = dict[str, Range]


def mask(df: pd.DataFrame, brush: Brush) -> pd.Series:
    """True for the runs of ``df`` inside every range of ``brush`` (columns ``df`` lacks are ignored)."""
    from podium.charts import chart_numbers

    keep = pd.Series(True, index=df.index)
    for column, r in brush.items():
        if column not in df:
            continue
        missing = df[column].isna()
        if r.values is not None:
            inside = df[column].astype(object).map(lambda v: not pd.isna(v) and str(v) in set(r.values))
        else:
            nums = chart_numbers(df[column])
            if nums is None:  # not numbers in these runs: a numeric range keeps nothing but n/a
                inside = pd.Series(False, index=df.index)
            else:
                inside = (nums >= r.lo) & (nums <= r.hi)
                missing = nums.isna()
        keep &= inside.astype(bool) | (missing & r.na)
    return keep


def apply(df: pd.DataFrame, brush: Brush) -> pd.DataFrame:
    """The runs of ``df`` inside ``brush``."""
    return df[mask(df, brush)] if brush else df


def describe(brush: Brush, label=lambda c: c) -> str:
    """The brush as filter text: ``0.01 ≤ lr ≤ 0.1 and optimizer in {adam}``."""
    return " and ".join(r.describe(label(c)) for c, r in brush.items())


def to_params(brush: Brush) -> list[str]:
    """Permalink values (``brush=...``) for ``brush``."""
    return [r.to_param(c) for c, r in brush.items()]


def from_params(values: list[str]) -> Brush:
    """The brush in permalink values; a value that does not parse is skipped."""
    out: Brush = {}
    for v in values or []:
        try:
            if ":=" in v:
                column, raw = v.rsplit(":=", 1)
                items = json.loads(raw)
                if not isinstance(items, list):
                    continue
                out[column] = Range(values=tuple(str(i) for i in items if i is not None), na=None in items)
                continue
            na = v.endswith(":na")
            column, lo, hi = (v[:-3] if na else v).rsplit(":", 2)
            out[column] = Range(float(lo), float(hi), na=na)
        except (ValueError, json.JSONDecodeError):
            continue
    return {c: r for c, r in out.items() if c}


def from_interval(layouts, interval: dict, band: float = 0.03) -> Brush:
    """Ranges for an interval dragged on the parallel coordinates.

    Args:
        layouts: The chart's :class:`podium.charts.AxisLayout` list (axis ``i`` is drawn at x = i).
        interval: ``{"x": [x0, x1], "y": [y0, y1]}`` in the chart's own units (as Vega-Lite
            reports an interval selection on fields ``x`` and ``y``).
        band: Half the height of the n/a and ±inf bands, in the chart's y units.

    Returns:
        A range for every axis the interval covers (the nearest axis when it covers none).
    """
    from podium.charts import NA_Y, NEG_INF_Y, POS_INF_Y

    xs, ys = interval.get("x"), interval.get("y")
    if not layouts or not ys or len(ys) != 2:
        return {}
    y0, y1 = sorted(float(v) for v in ys)
    if xs and len(xs) == 2:
        x0, x1 = sorted(float(v) for v in xs)
        hit = [i for i in range(len(layouts)) if x0 - 0.05 <= i <= x1 + 0.05]
        hit = hit or [int(np.clip(round((x0 + x1) / 2), 0, len(layouts) - 1))]
    else:
        hit = list(range(len(layouts)))
    covers = lambda y: y0 - band <= y <= y1 + band  # noqa: E731
    out: Brush = {}
    for i in hit:
        ax = layouts[i]
        na = covers(NA_Y) and (ax.na > 0 or bool(np.any(ax.positions == NA_Y)))
        if ax.kind == "categorical":
            values = tuple(text for pos, text in getattr(ax, "categories", []) if y0 <= pos <= y1)
            out[ax.column] = Range(values=values, na=na)
            continue
        lo_t, hi_t = getattr(ax, "lo", math.nan), getattr(ax, "hi", math.nan)
        lo, hi = math.nan, math.nan
        if not math.isnan(lo_t):
            span = hi_t - lo_t
            back = (lambda t: 10 ** t) if ax.log else (lambda t: t)  # noqa: E731
            if span > 0:
                a, b = max(y0, 0.0), min(y1, 1.0)
                if a <= b:  # the extremes exactly, so a brush to an axis end keeps the run there
                    lo = ax.vmin if a <= 0 else back(lo_t + a * span)
                    hi = ax.vmax if b >= 1 else back(lo_t + b * span)
            elif y0 <= 0.5 <= y1:
                lo, hi = ax.vmin, ax.vmax
        pinf, ninf = covers(POS_INF_Y) and ax.pos_inf > 0, covers(NEG_INF_Y) and ax.neg_inf > 0
        if pinf:
            hi = math.inf
            lo = lo if not math.isnan(lo) else math.inf
        if ninf:
            lo = -math.inf
            hi = hi if not math.isnan(hi) else -math.inf
        out[ax.column] = Range(_outward(lo, up=False), _outward(hi, up=True), na=na)
    return out
