"""Metric histories ready to draw: x by step or time, smoothing, runs repeated over seeds.

Plain pandas in, plain pandas out; :func:`podium.charts.metric_history` draws the result.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

#: What a history's x axis can be: the logged step, seconds since the run's first value, the clock.
X_MODES = ("step", "relative", "wall")
X_TITLES = {"step": "Step", "relative": "Time since the run's first value (s)", "wall": "Wall time"}
#: Params that only pick a random stream: runs differing in nothing else repeat one configuration.
SEED_PARAMS = ("seed", "random_state", "random_seed")
BANDS = ("minmax", "sd")


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are
    not pulled towards zero. ``weight`` 0 leaves the values as they are; NaN values are skipped."""
    v = np.asarray(values, dtype=float)
    if weight <= 0 or v.size == 0:
        return v.copy()
    out = np.full_like(v, np.nan)
    last, n = 0.0, 0
    for i, x in enumerate(v):
        if not np.isfinite(x):
            continue
        n += 1
        last = last * weight + (1 - weight) * x
        out[i] = last / (1 - weight ** n)
    return out


def _ms(stamps: pd.Series) -> pd.Series:
    """Timestamps as integer milliseconds since the epoch (MLflow's own unit), from integers or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(stamps):
        epoch = pd.Timestamp(0, tz="UTC") if getattr(stamps.dt, "tz", None) is not None else pd.Timestamp(0)
        return ((stamps - epoch) // pd.Timedelta(1, "ms")).astype("int64")
    return pd.to_numeric(stamps, errors="coerce").fillna(0).astype("int64")


def prepare(history: pd.DataFrame, x: str = "step", smoothing: float = 0.0) -> pd.DataFrame:
    """``history`` (``run_id, key, step, timestamp, value``) with ``x`` (the chosen axis) and
    ``y`` (smoothed per run when asked) added, non-finite values left out (SQL stores keep ±inf
    as ±float max), sorted by run then x."""
    if x not in X_MODES:
        raise ValueError(f"x must be one of {', '.join(X_MODES)}, not {x!r}.")
    value = history["value"].astype(float)
    data = history[np.isfinite(value) & (value.abs() < sys.float_info.max)].copy()
    data = data.sort_values(["run_id", "step", "timestamp"], kind="stable")
    data["timestamp"] = ts = _ms(data["timestamp"])
    if x == "step":
        data["x"] = data["step"].astype(float)
    elif x == "relative":
        data["x"] = (ts - ts.groupby(data["run_id"]).transform("min")) / 1000.0
    else:
        data["x"] = pd.to_datetime(ts, unit="ms", utc=True)
    data["y"] = data["value"].astype(float)
    if smoothing > 0:
        data["y"] = data.groupby("run_id", sort=False)["value"].transform(lambda s: pd.Series(smooth(s.to_numpy(float), smoothing), index=s.index))
    return data.sort_values(["run_id", "x"], kind="stable").reset_index(drop=True)


def seed_groups(df: pd.DataFrame, run_ids: list[str], seed_params: tuple[str, ...] = SEED_PARAMS) -> dict[str, str]:
    """Runs among ``run_ids`` that repeat one configuration over seeds: ``{run id: group label}``.

    Two runs are repeats when they are in the same experiment, set a seed-like param
    (``seed``, ``random_state``, ``random_seed``) to different values and agree on every other
    param (a param missing on both agrees). Only groups of two or more runs are returned; the
    label names the group by what it shares (``max_depth=3, n=5 seeds``)."""
    seed_cols = [f"params.{p}" for p in seed_params if f"params.{p}" in df]
    if not seed_cols:
        return {}
    rows = df[df["run_id"].isin(set(run_ids))]
    rows = rows[rows[seed_cols].notna().any(axis=1)]
    if rows.empty:
        return {}
    others = [c for c in df.columns if c.startswith("params.") and c not in seed_cols]

    def key(row) -> tuple:
        return (row.get("experiment_id"),) + tuple(None if pd.isna(row[c]) else str(row[c]) for c in others)

    keys = rows.apply(key, axis=1)
    out: dict[str, str] = {}
    for k, members in rows.groupby(keys, sort=False):
        if len(members) < 2:
            continue
        varying = [c for c in others if members[c].notna().any()]
        shown = [f"{c.removeprefix('params.')}={members[c].iloc[0]}" for c in varying
                 if not pd.isna(members[c].iloc[0])][:3]
        exp = members["experiment_name"].iloc[0] if "experiment_name" in members else ""
        label = ", ".join(shown) or str(exp) or "same params"
        label = f"{label} ({len(members)} seeds)"
        for r in members["run_id"]:
            out[str(r)] = label
    return out


def band(prepared: pd.DataFrame, groups: dict[str, str], kind: str = "minmax") -> pd.DataFrame:
    """Mean line and band per group of repeated runs, step by step.

    Args:
        prepared: :func:`prepare`'s output.
        groups: ``{run id: group label}`` from :func:`seed_groups`.
        kind: ``"minmax"`` (band from the lowest to the highest run) or ``"sd"`` (mean ± one
            standard deviation over runs).

    Returns:
        ``group, step, x, mean, lo, hi, n`` (n = runs with a value at that step); x is the mean x
        of the runs at that step (a time when x is a time).
    """
    if kind not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {kind!r}.")
    data = prepared[prepared["run_id"].isin(set(groups))].copy()
    cols = ["group", "step", "x", "mean", "lo", "hi", "n"]
    if data.empty:
        return pd.DataFrame(columns=cols)
    data["group"] = data["run_id"].map(groups)
    wall = pd.api.types.is_datetime64_any_dtype(data["x"])
    if wall:
        data["x"] = data["timestamp"].astype(float)
    # One value per run and step (the last logged), then statistics over runs.
    data = data.groupby(["group", "run_id", "step"], sort=False).last().reset_index()
    g = data.groupby(["group", "step"], sort=True)
    out = pd.DataFrame({"mean": g["y"].mean(), "x": g["x"].mean(), "n": g["y"].count()})
    if kind == "minmax":
        out["lo"], out["hi"] = g["y"].min(), g["y"].max()
    else:
        sd = g["y"].std(ddof=1).fillna(0.0)
        out["lo"], out["hi"] = out["mean"] - sd, out["mean"] + sd
    out = out.reset_index()
    if wall:
        out["x"] = pd.to_datetime(out["x"].round().astype("int64"), unit="ms", utc=True)
    return out[cols]
