"""Columns of the runs frame: their labels, which ones vary, and one numeric view of a column.

MLflow's names stay the columns' names (``params.lr``, ``metrics.f1``, ``tags.team``); a label is
what a person reads. Params are strings in MLflow (``"0.1"``, ``"1e-3"``, ``"inf"``); every chart,
ranking and analysis that needs numbers takes them through :func:`numeric_view`, so "is this
column a number" and "what number is this value" have one answer everywhere.
"""

from __future__ import annotations

import math
import sys
from typing import Iterable, Literal, overload

import numpy as np
import pandas as pd

from podium.runs_table import varying

_PREFIXES = ("metrics.", "params.", "tags.")


def column_label(column: str, columns: Iterable[str] = ()) -> str:
    """A short label for a column (``metrics.f1`` -> ``f1``), keeping the prefix when the short
    name is ambiguous among ``columns`` (a param and a metric both called ``lr``)."""
    if "." not in column or not column.startswith(_PREFIXES):
        return column
    short = column.split(".", 1)[1]
    clash = [c for c in columns if c != column and c.startswith(_PREFIXES) and c.split(".", 1)[1] == short]
    return column if clash else short


def varying_columns(df: pd.DataFrame, prefixes: Iterable[str] = ("params.",)) -> list[str]:
    """Columns under ``prefixes`` whose values differ between the runs, a missing value counting
    as a value of its own. With fewer than two runs nothing varies."""
    if len(df) < 2:
        return []
    out: list[str] = []
    for prefix in prefixes:
        out.extend(varying(df, prefix))
    return out


@overload
def numeric_view(series: pd.Series, *, strict: Literal[True] = ..., infinities: bool = ...) -> pd.Series | None: ...
@overload
def numeric_view(series: pd.Series, *, strict: Literal[False], infinities: bool = ...) -> pd.Series: ...


def numeric_view(series: pd.Series, *, strict: bool = True, infinities: bool = False) -> pd.Series | None:
    """The column's values as floats, missing values as NaN.

    ``strict`` (the default): the column is a number column only when every present value
    parses as a number (``"nan"`` does not count: it would hide a typo-like value); otherwise,
    and for a column with no present value or of booleans, None. Not ``strict``: every value,
    a value that does not parse being NaN.

    ``infinities``: the SQL stores' stand-ins for infinity (±``float max``, how they save ±inf)
    become the infinities the user logged, for charts and tables.
    """
    if strict and pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        out = series.astype(float)
    elif not strict:
        out = pd.to_numeric(series.astype(object).where(series.notna(), None), errors="coerce").astype(float)
    else:
        present = series.notna()
        if not present.any():
            return None
        values = pd.to_numeric(series[present].astype(str).str.strip(), errors="coerce")
        if values.isna().any():
            return None
        out = pd.Series(np.nan, index=series.index, dtype=float)
        out[present] = values.astype(float)
    if infinities:
        big = sys.float_info.max
        out = out.mask(out >= big, np.inf).mask(out <= -big, -np.inf)
    return out


def to_float(value) -> float:
    """One value as a float: numbers, numeric strings and protobuf JSON's ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``; anything else (None, text) is NaN."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
