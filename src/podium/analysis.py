"""Comparing runs: Pareto fronts, group statistics, side-by-side diffs, sensible defaults.

Plain pandas in, plain pandas out. NaN and infinities are data: a run with a missing objective
cannot be placed on a Pareto front, so it is left off the front (and the chart says how many);
a run with a missing group key forms its own ``n/a`` group; nothing is dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.columns import numeric_view

NA_LABEL = "n/a"

_DIRECTIONS = {"max": "max", "maximize": "max", "up": "max", "min": "min", "minimize": "min", "down": "min"}

# Metric names that are better when lower; anything else is assumed better when higher.
_LOWER_IS_BETTER = re.compile(
    r"(loss|error|err\b|rmse|mse|msle|mae|mape|mad\b|latency|duration|time|_ms\b|_s\b|seconds|perplexity|"
    r"cost|memory|size|fpr|fnr|brier|logloss|wer|cer|regret|nll|"
    # distances named by their norm: l1, l2, val_l2, l2-dist (not l1_ratio or l2_regularization)
    r"(?:^|[_./ -])l[12](?:$|[./ -]|_dist|_norm))",
    re.IGNORECASE,
)

# Preferred headline metrics, most preferred first (common names in MLflow autologging).
_PREFERRED = [
    "f1", "f1_score", "accuracy", "accuracy_score", "roc_auc", "auc", "average_precision", "precision",
    "recall", "r2", "r2_score", "rmse", "mae", "mse", "loss", "val_loss",
]


def parameter_importance(df: pd.DataFrame, metric_column: str, param_columns: list[str], **options) -> pd.DataFrame:
    """Which params explain ``metric_column``: permutation importance of a random forest, with the
    correlation's sign. See :func:`podium.importance.parameter_importance` (first column ``param``,
    then ``importance``, most important first; ``attrs["note"]`` for too few runs)."""
    from podium.importance import parameter_importance as compute

    return compute(df, metric_column, param_columns, **options)


def normalize_direction(direction: str) -> str:
    """``"max"``/``"min"`` from the accepted spellings (max, maximize, up, min, minimize, down)."""
    key = str(direction).strip().lower()
    if key not in _DIRECTIONS:
        raise ValueError(f"Direction must be 'max' or 'min', not {direction!r}.")
    return _DIRECTIONS[key]


def metric_direction(column: str) -> str:
    """Guess whether a metric is better high (``"max"``) or low (``"min"``) from its name."""
    name = column.split(".", 1)[1] if column.startswith(("metrics.", "params.")) else column
    return "min" if _LOWER_IS_BETTER.search(name) else "max"


def pareto_front(df: pd.DataFrame, x: str, y: str, x_dir: str = "max", y_dir: str = "max") -> pd.DataFrame:
    """The runs of ``df`` that no other run beats on both objectives ``x`` and ``y``.

    A run is on the front when no other run is at least as good on both objectives and strictly
    better on one. Identical points are all kept. Runs with NaN in either objective cannot be
    compared and are never on the front; infinities compare as the numbers they are.

    Args:
        df: Runs frame (any frame with columns ``x`` and ``y``); string params are parsed as numbers.
        x: Column of the first objective.
        y: Column of the second objective.
        x_dir: ``"max"`` or ``"min"`` (also ``"up"``/``"down"``) for ``x``.
        y_dir: Same for ``y``.

    Returns:
        The rows of ``df`` on the front, ordered by ``x`` ascending (then ``y``), original index kept.
    """
    sx, sy = normalize_direction(x_dir), normalize_direction(y_dir)
    if df.empty:
        return df.iloc[0:0]
    a = numeric_view(df[x], strict=False).to_numpy()
    b = numeric_view(df[y], strict=False).to_numpy()
    # Turn both objectives into "higher is better".
    a = a if sx == "max" else -a
    b = b if sy == "max" else -b
    valid = ~(np.isnan(a) | np.isnan(b))
    positions = np.flatnonzero(valid)
    if positions.size == 0:
        return df.iloc[0:0]
    av, bv = a[positions], b[positions]
    order = np.lexsort((-bv, -av))  # a descending, then b descending
    keep: list[int] = []
    best_b = -math.inf
    first_group = True
    i = 0
    while i < order.size:
        j = i
        while j < order.size and av[order[j]] == av[order[i]]:
            j += 1
        group = order[i:j]
        group_best = bv[group].max()
        # Strictly better than every run with a higher first objective, or nothing beats it yet.
        if first_group or group_best > best_b:
            keep.extend(int(positions[k]) for k in group if bv[k] == group_best)
            best_b = max(best_b, group_best)
        first_group = False
        i = j
    front = df.iloc[sorted(keep)]
    fx, fy = numeric_view(front[x], strict=False), numeric_view(front[y], strict=False)
    return front.assign(_x=fx.values, _y=fy.values).sort_values(["_x", "_y"], kind="stable").drop(columns=["_x", "_y"])


def group_stats(df: pd.DataFrame, by: str, metrics: list[str]) -> pd.DataFrame:
    """Count, mean, min and max of ``metrics`` per value of ``by`` (e.g. runs repeated over seeds).

    Runs without a value for ``by`` form an ``n/a`` group. ``runs`` counts every run of the group;
    ``<metric> count`` counts the runs where the metric is present (not NaN). Infinities are kept,
    so a mean can be ``inf``.

    Returns:
        One row per group with columns ``by``, ``runs`` and for each metric ``count``, ``mean``,
        ``min``, ``max`` (named ``"<metric> mean"`` etc.), ordered by group value (numerically
        when every group value is a number), ``n/a`` last.
    """
    columns = [by, "runs"] + [f"{m} {s}" for m in metrics for s in ("count", "mean", "min", "max")]
    if df.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object if c == by else float) for c in columns})
    keys = df[by].astype(object).where(df[by].notna(), None)
    labels = keys.map(lambda v: NA_LABEL if v is None else str(v))
    work = pd.DataFrame({"_g": labels.values})
    for m in metrics:
        work[m] = numeric_view(df[m], strict=False).values
    grouped = work.groupby("_g", sort=False, dropna=False)
    out = pd.DataFrame({by: list(grouped.groups.keys())})
    out["runs"] = grouped.size().reindex(out[by]).to_numpy()
    for m in metrics:
        g = grouped[m]
        out[f"{m} count"] = g.count().reindex(out[by]).to_numpy()
        out[f"{m} mean"] = g.mean().reindex(out[by]).to_numpy()
        out[f"{m} min"] = g.min().reindex(out[by]).to_numpy()
        out[f"{m} max"] = g.max().reindex(out[by]).to_numpy()
    numeric_keys = pd.to_numeric(out[by].where(out[by] != NA_LABEL), errors="coerce")
    present = out[by] != NA_LABEL
    if present.any() and numeric_keys[present].notna().all():
        sort_key = numeric_keys.fillna(math.inf)
    else:
        sort_key = out[by].map(lambda s: (s == NA_LABEL, s.casefold()))
    out = out.assign(_k=sort_key.values).sort_values("_k", kind="stable").drop(columns="_k")
    return out.reset_index(drop=True)[columns]


def reference_labels(versions: Iterable, loaded: pd.DataFrame, shown_ids: Iterable[str] | None = None) -> dict[str, str]:
    """``{run id: label}`` of the registered versions (``model_name``, ``alias``, ``version``,
    ``run_id``, as ``store.champion_versions`` gives) whose run is in ``loaded``: the model the
    team ships, for the charts to mark. A run outside ``shown_ids`` (the filter) is labelled so.

    >>> from types import SimpleNamespace as V
    >>> reference_labels([V(model_name="m", alias="champion", version="2", run_id="r1")],
    ...                  pd.DataFrame({"run_id": ["r1"]}), shown_ids=[])
    {'r1': '@champion m v2 (outside the filter)'}
    """
    known = set(loaded["run_id"]) if "run_id" in loaded else set()
    shown = set(shown_ids) if shown_ids is not None else known
    out: dict[str, str] = {}
    for v in versions:
        if v.run_id in known:
            label = f"@{v.alias} {v.model_name} v{v.version}"
            out[v.run_id] = f"{out[v.run_id]}, {label}" if v.run_id in out else label
    return {r: label + ("" if r in shown else " (outside the filter)") for r, label in out.items()}


def run_labels(df: pd.DataFrame) -> pd.Series:
    """A readable, unique label per run (indexed by run id): the run name, or the id's first 8
    characters when there is no name; duplicate names get the short id appended."""
    if df.empty:
        return pd.Series([], dtype=object)
    ids = df["run_id"].astype(str)
    names = df["run_name"].astype(object) if "run_name" in df else pd.Series([None] * len(df), index=df.index)
    base = [n if isinstance(n, str) and n.strip() else rid[:8] for n, rid in zip(names, ids)]
    counts = pd.Series(base).value_counts()
    labels = [f"{b} ({rid[:8]})" if counts[b] > 1 else b for b, rid in zip(base, ids)]
    return pd.Series(labels, index=ids.values)


@dataclass(frozen=True)
class RunDiff:
    """Selected runs side by side: ``params`` (strings) and ``metrics`` (values and deltas)."""

    params: pd.DataFrame
    metrics: pd.DataFrame
    baseline: str | None
    hidden_params: int


def diff_runs(df: pd.DataFrame, run_ids: list[str], baseline: str | None = None, only_differing: bool = True) -> RunDiff:
    """Compare runs side by side.

    Args:
        df: Runs frame holding the runs.
        run_ids: The runs to compare, in the column order wanted; ids not in ``df`` are ignored.
        baseline: Run id the metric deltas are taken against; defaults to the first run.
        only_differing: Keep only params whose values differ between the runs (a param missing
            from one run and present in another differs). A single run shows all its params.

    Returns:
        A :class:`RunDiff`. ``params`` has one row per param key and one column per run label.
        ``metrics`` has one row per metric and one column per run label, then ``Δ <label>`` columns
        (value minus the baseline's value) for every other run.
    """
    rows = df[df["run_id"].isin(run_ids)]
    order = [r for r in dict.fromkeys(run_ids) if r in set(rows["run_id"])]
    rows = rows.set_index("run_id").loc[order]
    labels = run_labels(rows.reset_index())
    cols = [labels[r] for r in order]
    if baseline not in order:
        baseline = order[0] if order else None

    param_cols = [c for c in df.columns if c.startswith("params.")]
    params = pd.DataFrame(
        {labels[r]: [rows.at[r, c] if pd.notna(rows.at[r, c]) else None for c in param_cols] for r in order},
        index=[c.removeprefix("params.") for c in param_cols],
        columns=cols,
        dtype=object,
    )
    params = params[params.notna().any(axis=1)] if len(params.columns) else params.iloc[0:0]
    total = len(params)
    # One run has nothing to differ from: show all its params.
    if only_differing and len(order) > 1:
        params = params[params.apply(lambda row: len(set(row.tolist())) > 1, axis=1)]

    metric_cols = [c for c in df.columns if c.startswith("metrics.")]
    values = pd.DataFrame(
        {labels[r]: [float(numeric_view(rows[c], strict=False).at[r]) for c in metric_cols] for r in order},
        index=[c.removeprefix("metrics.") for c in metric_cols],
        columns=cols,
        dtype=float,
    )
    values = values[values.notna().any(axis=1)]
    if baseline is not None:
        base = values[labels[baseline]]
        for r in order:
            if r != baseline:
                values[f"Δ {labels[r]}"] = values[labels[r]] - base
    return RunDiff(params=params, metrics=values, baseline=baseline, hidden_params=total - len(params))


def primary_metric(df: pd.DataFrame) -> str | None:
    """The metric column to headline by default: a well-known name present in most runs.

    Ranked by coverage (share of runs with a value, to one decimal), then by a list of usual
    headline names (f1, accuracy, auc, r2, rmse, loss...), then alphabetically. MLflow system
    metrics (``system/...``) are never chosen.
    """
    cands = [c for c in df.columns if c.startswith("metrics.") and not c.startswith("metrics.system/")]
    best, best_key = None, None
    for c in cands:
        coverage = float(numeric_view(df[c], strict=False).notna().mean()) if len(df) else 0.0
        if len(df) and coverage == 0:
            continue
        name = c.removeprefix("metrics.").lower()
        rank = _PREFERRED.index(name) if name in _PREFERRED else len(_PREFERRED)
        key = (-round(coverage, 1), rank, name)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


# --------------------------------------------------------------------------------------------
# Defaults a newcomer sees on the Compare page


def chart_columns(df: pd.DataFrame) -> list[str]:
    """Columns a chart can use: metrics with a value, then params, then the run's duration."""
    metrics = [c for c in df.columns if c.startswith("metrics.") and df[c].notna().any()]
    params = [c for c in df.columns if c.startswith("params.") and df[c].notna().any()]
    extra = ["duration_s"] if "duration_s" in df and df["duration_s"].notna().any() else []
    return metrics + params + extra


_SEED_LIKE = re.compile(r"(seed|random_state|run_id|uuid|_id$)", re.IGNORECASE)


def _coverage(df: pd.DataFrame, column: str) -> float:
    return round(float(df[column].notna().mean()), 1) if len(df) else 0.0


def informative_params(df: pd.DataFrame, varying_params: list[str]) -> list[str]:
    """The varying params that take two or more values, or all of them when none does.

    A param with one value wherever it is set "varies" only by being missing: a sweep parent's
    ``n_candidates``, or ``random_state = 42`` on every run but the parent. It tells little next
    to params whose values differ, so chart defaults leave it out (the pickers still offer it)."""
    multi = [c for c in varying_params if df[c].dropna().astype(str).nunique() > 1]
    return multi or list(varying_params)


def default_axes(df: pd.DataFrame, varying_params: list[str], primary: str | None, max_params: int = 6) -> list[str]:
    """Parallel-coordinates axes by default: up to ``max_params`` of the params that vary, those
    set on most runs first (seed-like params last), then the primary metric.

    Params that vary only by being missing are left out when others remain (see
    :func:`informative_params`)."""
    if varying_params:
        informative = informative_params(df, varying_params)
        ranked = sorted(informative, key=lambda c: (bool(_SEED_LIKE.search(c.removeprefix("params."))), -_coverage(df, c)))
        axes = ranked[:max_params]
    else:
        axes = [c for c in chart_columns(df) if c.startswith("metrics.") and c != primary][:3]
    return axes + ([primary] if primary else [])


def default_scatter(df: pd.DataFrame, primary: str | None, varying_params: list[str]) -> tuple[str | None, str | None]:
    """Scatter axes by default: y the primary metric; x a cost-like metric (latency, loss...) set
    on most runs when there is one, else another metric, else a numeric param that varies, else
    the duration."""
    metrics = [c for c in chart_columns(df) if c.startswith("metrics.") and c != primary]
    metrics.sort(key=lambda c: -_coverage(df, c))  # stable: frame order among equals
    costs = [c for c in metrics if metric_direction(c) == "min"]
    if costs and metrics and _coverage(df, costs[0]) < _coverage(df, metrics[0]):
        costs = []  # a cost metric few runs have would hide most of them
    numeric_params = [c for c in varying_params if numeric_view(df[c], strict=False).notna().sum() == df[c].notna().sum() and df[c].notna().any()]
    # Unfinished runs have no duration: an axis without values would fall back to the metric itself.
    durations = ["duration_s"] if "duration_s" in df and df["duration_s"].notna().any() else []
    for choice in (costs, metrics, numeric_params, durations):
        if choice:
            return choice[0], primary
    return None, primary


def merge_selection(
    current: list[str],
    widget: list[str] | None,
    table: list[str] | None,
    table_seen: list[str] | None,
    chart: list[str] | None,
    chart_seen: list[str] | None,
) -> list[str]:
    """The selected runs after one interaction: the source that changed since last seen wins.

    Args:
        current: Selection before this rerun.
        widget: Value of the "selected runs" box (None when not rendered yet).
        table: Run ids of the rows selected in the table now; ``table_seen`` the last seen value.
        chart: Run ids picked in the scatter now; ``chart_seen`` the last seen value.
    """
    if widget is not None and list(widget) != list(current):
        return list(dict.fromkeys(widget))
    if table is not None and list(table) != list(table_seen or []):
        return list(dict.fromkeys(table))
    if chart is not None and list(chart) != list(chart_seen or []):
        return list(dict.fromkeys(chart))
    return list(current)


def suggest_log_axes(df: pd.DataFrame, columns: list[str], min_ratio: float = 100.0) -> list[str]:
    """Columns best drawn on a log scale: all values positive and spanning ``min_ratio`` or more
    (a learning rate from 1e-4 to 0.1)."""
    out = []
    for c in columns:
        if c not in df:
            continue
        v = numeric_view(df[c], strict=False).to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size >= 2 and (v > 0).all() and np.log10(v.max()) - np.log10(v.min()) >= math.log10(min_ratio):
            out.append(c)
    return out


def default_color_param(df: pd.DataFrame, varying_params: list[str], max_values: int = 10) -> str | None:
    """A categorical param to colour a scatter by: a varying param that is not a number, has at
    most ``max_values`` distinct values (a model family, an optimizer), set on the most runs."""
    candidates = []
    for c in informative_params(df, varying_params):
        present = df[c].dropna()
        if present.empty or numeric_view(present, strict=False).notna().all():
            continue
        if present.nunique() <= max_values:
            candidates.append(c)
    return min(candidates, key=lambda c: -_coverage(df, c)) if candidates else None


_STEPWISE = re.compile(r"(loss|train|val|epoch|step)", re.IGNORECASE)


def default_history_metric(metrics: list[str], primary: str | None) -> str | None:
    """The metric whose history to show first: one usually logged every step (a loss), else the
    primary metric. ``best_*`` summaries are skipped."""
    stepwise = [m for m in metrics if _STEPWISE.search(m.removeprefix("metrics.")) and not m.startswith("metrics.best_")]
    return stepwise[0] if stepwise else (primary if primary in metrics else (metrics[0] if metrics else None))


def metrics_logged_by(df: pd.DataFrame, run_ids: Iterable[str], metrics: list[str]) -> list[str]:
    """The ``metrics`` that at least one of ``run_ids`` logged (a value in its row), in their order:
    the metric-history choices for a selection. All of ``metrics`` when none has a value, so that a
    selection whose every metric is NaN still offers something to look at."""
    rows = df[df["run_id"].isin(set(run_ids))]
    logged = [m for m in metrics if m in rows.columns and rows[m].notna().any()]
    return logged or list(metrics)


# --------------------------------------------------------------------------------------------
# Metric summaries (min, max, last, steps, best step per run and metric; store.metric_summaries)

#: Which value of a metric's history the charts and table use.
VALUE_CHOICES = ("last", "min", "max", "best")
SUMMARY_STATS = ("min", "max", "last", "n", "best_step")


def summary_columns(summaries: pd.DataFrame, keys: list[str], stats: tuple[str, ...] = SUMMARY_STATS) -> pd.DataFrame:
    """``store.metric_summaries`` rows as table columns, one row per run (indexed by run id):
    ``metrics.<key> (min)``, ``(max)``, ``(last)``, ``(n)`` (values logged) and ``(best step)``
    (the step of the best value, lower or higher by :func:`metric_direction`)."""
    names = {"best_step": "best step"}
    out = pd.DataFrame(index=pd.Index(summaries["run_id"].unique() if len(summaries) else [], name="run_id"))
    for key in keys:
        rows = summaries[summaries["key"] == key].drop_duplicates("run_id").set_index("run_id")
        for stat in stats:
            out[f"metrics.{key} ({names.get(stat, stat)})"] = rows[stat].reindex(out.index) if stat in rows else np.nan
    return out


def with_metric_values(runs: pd.DataFrame, summaries: pd.DataFrame, value: str) -> pd.DataFrame:
    """``runs`` with each ``metrics.<key>`` column holding the chosen value of the metric's
    history: ``"last"`` (MLflow's own, unchanged), ``"min"``, ``"max"`` or ``"best"`` (min for
    loss-like metrics, else max). Runs or keys without a summary keep their value."""
    if value not in VALUE_CHOICES:
        raise ValueError(f"value must be one of {', '.join(VALUE_CHOICES)}, not {value!r}.")
    if value == "last" or summaries is None or summaries.empty:
        return runs
    out = runs.copy()
    for key, rows in summaries.groupby("key", sort=False):
        column = f"metrics.{key}"
        if column not in out:
            continue
        stat = value if value != "best" else ("min" if metric_direction(key) == "min" else "max")
        chosen = rows.drop_duplicates("run_id").set_index("run_id")[stat]
        mapped = out["run_id"].map(chosen)
        out[column] = mapped.where(mapped.notna(), out[column]).astype(float)
    return out
