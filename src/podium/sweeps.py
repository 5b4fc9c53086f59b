"""Sweeps: a parent run and its children (``tags.mlflow.parentRunId``), as a hyperparameter search.

Best-so-far over the children's start times, the children's spread, and the params worth a
slice plot. Plain pandas in, plain pandas out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.columns import numeric_view

PARENT = "tags.mlflow.parentRunId"


@dataclass(frozen=True)
class Sweep:
    """A parent run with children among the loaded runs."""

    parent_id: str
    label: str
    children: int
    experiment: str


def find_sweeps(df: pd.DataFrame) -> list[Sweep]:
    """Runs of ``df`` with at least two children in ``df``, most children first. A parent that
    is not loaded (another experiment, deleted) is still a sweep, labelled by its id."""
    if PARENT not in df:
        return []
    from podium.analysis import run_labels

    labels = run_labels(df)
    parents = df[PARENT].dropna().astype(str)
    counts = parents.value_counts()
    out = []
    for pid, n in counts.items():
        if n < 2:
            continue
        kids = df[df[PARENT].astype(object) == pid]
        exp = str(kids["experiment_name"].iloc[0]) if "experiment_name" in kids else ""
        out.append(Sweep(pid, str(labels.get(pid, pid[:8])), int(n), exp))
    return sorted(out, key=lambda s: (-s.children, s.label))


def children(df: pd.DataFrame, parent_id: str) -> pd.DataFrame:
    """The child runs of ``parent_id`` in ``df``, oldest first."""
    if PARENT not in df:
        return df.iloc[0:0]
    kids = df[df[PARENT].astype(object) == parent_id]
    return kids.sort_values(["start_time", "run_id"], kind="stable") if "start_time" in kids else kids


def _values(df: pd.DataFrame, metric: str) -> pd.Series:
    v = numeric_view(df[metric], strict=False) if metric in df else pd.Series(np.nan, index=df.index)
    return v.where(np.isfinite(v) & (v.abs() < sys.float_info.max))


def best_so_far(kids: pd.DataFrame, metric: str, direction: str) -> pd.DataFrame:
    """The best value of ``metric`` reached by each child's start time: ``run_id, trial,
    start_time, value, best, is_best`` (trial counts from 1; ``is_best`` where the best improved).
    Children without a finite value keep the best so far."""
    from podium.analysis import normalize_direction

    better = normalize_direction(direction)
    kids = kids.sort_values(["start_time", "run_id"], kind="stable") if "start_time" in kids else kids
    v = _values(kids, metric)
    best = v.cummax() if better == "max" else v.cummin()
    best = best.ffill()
    improved = best.ne(best.shift()) & best.notna()
    return pd.DataFrame({
        "run_id": kids["run_id"].astype(str).tolist(), "trial": np.arange(1, len(kids) + 1),
        "start_time": kids["start_time"].reset_index(drop=True) if "start_time" in kids else pd.NaT,
        "value": v.to_numpy(), "best": best.to_numpy(), "is_best": improved.to_numpy(dtype=bool),
    })


def spread(kids: pd.DataFrame, metric: str) -> dict[str, float]:
    """How far apart the children land on ``metric``: n, mean, sd, min, median, max (finite values)."""
    v = _values(kids, metric).dropna()
    if v.empty:
        return {"n": 0, "mean": np.nan, "sd": np.nan, "min": np.nan, "median": np.nan, "max": np.nan}
    return {"n": int(v.size), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "median": float(v.median()), "max": float(v.max())}


def swept_params(kids: pd.DataFrame) -> list[str]:
    """Params that take two or more values among the children: the search space, for slice plots."""
    cols = [c for c in kids.columns if c.startswith("params.")]
    return [c for c in cols if kids[c].dropna().astype(str).nunique() > 1]
