"""The Runs home page's table: which columns a newcomer should see first.

Pure functions over a runs frame; the page only draws what these return.
"""

from __future__ import annotations

import pandas as pd

# Run attributes always shown first, in this order.
LEADING_COLUMNS = ["run_name", "status", "start_time", "duration_s", "user"]


def varying(df: pd.DataFrame, prefix: str) -> list[str]:
    """Columns under ``prefix`` (``params.``, ``tags.``) whose value differs between runs.

    A column counts as varying when it has two or more distinct values, a missing value
    counting as one of them (a param set on some runs and not others varies).
    """
    cols = [c for c in df.columns if c.startswith(prefix)]
    return [c for c in cols if df[c].astype(object).where(df[c].notna(), None).nunique(dropna=False) > 1]


def key_columns(df: pd.DataFrame, max_params: int = 12, max_metrics: int = 12) -> list[str]:
    """The columns to show by default: run attributes, the params that vary, then metrics.

    Params that are the same on every run say nothing in a comparison, so they are left out;
    with a single run every param is shown. Metric columns keep their names (``metrics.f1``).
    """
    params = varying(df, "params.") if len(df) > 1 else [c for c in df.columns if c.startswith("params.")]
    metrics = [c for c in df.columns if c.startswith("metrics.") and df[c].notna().any()]
    lead = list(LEADING_COLUMNS)
    if df["experiment_name"].nunique(dropna=True) > 1:
        lead.insert(1, "experiment_name")
    return [c for c in lead if c in df.columns] + params[:max_params] + metrics[:max_metrics]


def summary(df: pd.DataFrame) -> dict[str, int]:
    """Run counts by status, for the caption above the table."""
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    return {"total": len(df), **{str(k): int(v) for k, v in counts.items()}}
