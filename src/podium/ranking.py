"""One rule for ranking runs by a metric, shared by the Report and the Champion.

The order is MLflow's own (``search_runs(order_by=["metrics.x DESC"])``, which the MLflow UI
uses when a metric column is sorted):

- ±inf are numbers at the ends of the scale. When higher is better (``max``) +inf is the best
  value and -inf the worst; when lower is better (``min``) the reverse. MLflow's SQL stores keep
  ±inf as ±float max (``1.7976931348623157e308``): such a value *is* ±inf here, ranks with
  it and is shown as ``∞`` (:func:`podium.report.safe.fmt_value`).
- NaN and missing values have no rank: MLflow sorts them after every number in both
  directions; :func:`rank_runs` leaves them out (callers say how many).
- Ties: the newer run first (later ``start_time``), then the run id, so the order is the same
  on every store kind.

Whether an infinite value may *win* is policy, not order: the Champion may refuse such runs
(with a reason) after ranking them with this rule.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

FLOAT_MAX = sys.float_info.max
MODES = ("max", "min")


def as_number(value) -> float:
    """``value`` as a float for ranking: ±float max becomes ±inf; anything else not a number is NaN."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    if v >= FLOAT_MAX:
        return math.inf
    if v <= -FLOAT_MAX:
        return -math.inf
    return v


def metric_values(series: pd.Series) -> pd.Series:
    """A column as floats for ranking (same index): ±float max as ±inf, non-numbers as NaN."""
    values = pd.to_numeric(series, errors="coerce").astype(float)
    return values.mask(values >= FLOAT_MAX, math.inf).mask(values <= -FLOAT_MAX, -math.inf)


def _start_ns(runs: pd.DataFrame) -> np.ndarray:
    if "start_time" not in runs:
        return np.full(len(runs), np.iinfo(np.int64).min, dtype=np.int64)
    started = pd.to_datetime(runs["start_time"], utc=True, errors="coerce")
    ns = started.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(started.isna().to_numpy(), np.iinfo(np.int64).min, ns)


def rank_runs(runs: pd.DataFrame, column: str, mode: str) -> pd.DataFrame:
    """The runs that have a value for ``column``, best first (see the module's rule).

    Args:
        runs: A runs frame.
        column: The metric column (``metrics.<key>``); a missing column ranks no run.
        mode: ``"max"`` (higher is better) or ``"min"``.

    Returns:
        The ranked rows (index reset); runs whose value is NaN or missing are left out.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'min', not {mode!r}")
    if column not in runs.columns or not len(runs):
        return runs.iloc[0:0].reset_index(drop=True)
    values = metric_values(runs[column]).to_numpy(dtype=float)
    has = ~np.isnan(values)
    primary = -values[has] if mode == "max" else values[has]
    start = _start_ns(runs)[has]
    ids = runs["run_id"].astype(str).to_numpy()[has]
    # np.lexsort sorts by the last key first: value, then newer start, then run id.
    newest_first = -np.maximum(start, np.iinfo(np.int64).min + 1)
    order = np.lexsort((ids, newest_first, primary))
    return runs[has].iloc[order].reset_index(drop=True)


def order_key(value, mode: str, start=None, run_id: str = "") -> tuple:
    """A sort key for one run under the same rule (ascending = best first; NaN last)."""
    v = as_number(value)
    if math.isnan(v):
        return (1, 0.0, 0.0, run_id)
    started = pd.Timestamp(start) if start is not None and not pd.isna(start) else None
    start_key = -started.value if started is not None else math.inf
    return (0, -v if mode == "max" else v, start_key, run_id)
