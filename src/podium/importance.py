"""Which params explain a metric: permutation importance of a random forest over the runs.

A random forest is fitted to predict the metric from the params (numbers as numbers, other
values as categories, a missing value as a value of its own), then each param's values are
shuffled in turn: the more the forest's fit (R²) drops, the more the metric depends on that
param. Importance is measured on the runs themselves, so it says what explains *these* runs,
not what would generalise; with few runs it is noise, and the result says so.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from podium.columns import numeric_view

#: Fewer runs with a value for the metric than this and no forest is fitted.
MIN_RUNS = 8
#: More runs than this are sampled (seeded) so the page stays fast.
MAX_RUNS = 2000
COLUMNS = ["param", "importance", "std", "correlation", "best_value", "kind", "distinct"]


def _finite(series: pd.Series) -> pd.Series:
    v = numeric_view(series, strict=False)
    return v.where(np.isfinite(v) & (v.abs() < sys.float_info.max))


def _encode(series: pd.Series) -> tuple[np.ndarray, str, pd.Series | None]:
    """One param as a forest feature: ``(values, kind, numbers or None)``.

    Numbers stay numbers with a missing value placed below every present one; anything else is
    a category code (sorted values, missing as ``-1``)."""
    present = series.notna()
    nums = numeric_view(series, strict=False)
    if present.any() and nums[present].notna().all():
        v = nums.to_numpy(dtype=float)
        v = np.clip(v, -1e300, 1e300)
        finite = v[np.isfinite(v)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        v = np.where(np.isnan(v), lo - (hi - lo + 1.0), v)
        return v, "numeric", nums
    text = [None if pd.isna(x) else str(x) for x in series.astype(object)]
    cats = sorted({t for t in text if t is not None})
    codes = {c: i for i, c in enumerate(cats)}
    return np.array([codes[t] if t is not None else -1 for t in text], dtype=float), "categorical", None


def _empty(note: str, runs: int) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series([], dtype=object if c in ("param", "best_value", "kind") else float) for c in COLUMNS})
    out.attrs.update(note=note, runs=runs)
    return out


def parameter_importance(
    df: pd.DataFrame,
    metric_column: str,
    param_columns: list[str],
    direction: str | None = None,
    n_estimators: int = 80,
    n_repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """How much each param explains ``metric_column`` over the runs of ``df``.

    Args:
        df: Runs frame.
        metric_column: The metric to explain (``metrics.f1``); runs without a finite value are left out.
        param_columns: Candidate params (``params.lr``...); numbers are used as numbers, anything
            else as categories; a missing value is a value of its own.
        direction: ``"max"``/``"min"`` for ``best_value``; guessed from the metric's name by default.
        n_estimators, n_repeats, seed: Forest size, shuffles per param, random seed (results are
            reproducible for a given seed).

    Returns:
        One row per param, most important first: ``param``, ``importance`` (mean drop of the
        forest's R² when the param is shuffled, ≥ 0), ``std`` (over the shuffles),
        ``correlation`` (Spearman rank correlation of a numeric param with the metric: its sign
        says whether higher values go with a higher metric; NaN for categories), ``best_value``
        (the param value whose runs have the best mean metric), ``kind`` and ``distinct`` (values).
        ``attrs["note"]`` says what a reader must know (too few runs, sampling, constant params);
        ``attrs["runs"]`` how many runs were used. Too few runs give an empty frame and a note.
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    from podium.analysis import metric_direction, normalize_direction

    better = normalize_direction(direction) if direction else metric_direction(metric_column)
    params = [p for p in dict.fromkeys(param_columns) if p in df.columns and p != metric_column]
    if metric_column not in df.columns:
        return _empty(f"No {metric_column} in these runs.", 0)
    y_all = _finite(df[metric_column])
    rows = df[y_all.notna()]
    n = len(rows)
    if not params:
        return _empty("Choose at least one param.", n)
    if n < MIN_RUNS:
        return _empty(f"Too few runs for importance: {n} with a finite value of the metric, at least {MIN_RUNS} needed.", n)
    notes = []
    if n > MAX_RUNS:
        rows = rows.sample(MAX_RUNS, random_state=seed)
        notes.append(f"Estimated on a random sample of {MAX_RUNS:,} of {n:,} runs.")
    y = _finite(rows[metric_column]).to_numpy(dtype=float)
    if np.ptp(y) == 0:
        return _empty("The metric has the same value in every run: nothing to explain.", len(rows))

    encoded, kinds, distinct, numbers = {}, {}, {}, {}
    for p in params:
        values, kind, nums = _encode(rows[p])
        encoded[p], kinds[p], numbers[p] = values, kind, nums
        distinct[p] = len({None if pd.isna(x) else str(x) for x in rows[p].astype(object)})
    varying = [p for p in params if distinct[p] > 1]
    constant = [p for p in params if distinct[p] <= 1]
    if constant:
        notes.append(f"{len(constant)} param{'s' * (len(constant) > 1)} with one value in these runs scored 0.")
    imp = dict.fromkeys(params, 0.0)
    std = dict.fromkeys(params, 0.0)
    if varying:
        X = np.column_stack([encoded[p] for p in varying])
        # Leaves of 2+ runs: as good a ranking, a much smaller forest to predict with (speed).
        forest = RandomForestRegressor(n_estimators=n_estimators, random_state=seed, n_jobs=1, min_samples_leaf=2)
        forest.fit(X, y)
        result = permutation_importance(forest, X, y, n_repeats=n_repeats, random_state=seed, n_jobs=1)
        for i, p in enumerate(varying):
            imp[p] = max(float(result.importances_mean[i]), 0.0)
            std[p] = float(result.importances_std[i])
    if n < 3 * MIN_RUNS:
        notes.append(f"Only {n} runs: read the ranking as a hint.")

    out = []
    ys = pd.Series(y, index=rows.index)
    for p in params:
        corr = np.nan
        if kinds[p] == "numeric" and distinct[p] > 1:
            x = numbers[p]
            ok = x.notna()
            if ok.sum() >= 3 and x[ok].nunique() > 1:
                corr = float(x[ok].rank().corr(ys[ok].rank()))
        keys = ["n/a" if pd.isna(x) else str(x) for x in rows[p].astype(object)]
        groups = ys.groupby(pd.Series(keys, index=rows.index)).mean()
        best = (groups.idxmax() if better == "max" else groups.idxmin()) if len(groups) and distinct[p] > 1 else None
        out.append({"param": p, "importance": imp[p], "std": std[p], "correlation": corr, "best_value": best,
                    "kind": kinds[p], "distinct": distinct[p]})
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame = frame.sort_values(["importance", "param"], ascending=[False, True], kind="stable").reset_index(drop=True)
    frame.attrs.update(note=" ".join(notes), runs=int(len(rows)))
    return frame
