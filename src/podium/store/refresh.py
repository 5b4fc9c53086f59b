"""Incremental refresh: re-read only what can be known to have changed since a frame was loaded.

MLflow's tables have no "updated at" column, so edits to finished runs (a new tag, a deletion over
HTTP) are not seen; a full ``load_runs`` picks them up. Which runs to re-read is each backend's
``changed_runs``; merging them into the frame a load would build is here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.store.frame import BASE_COLUMNS, empty_runs_frame, finish_frame, start_ms, with_backend, with_nan_record

# What every backend's changed_runs shares.
# Statuses of runs that may still change.
LIVE_STATUSES = ("RUNNING", "SCHEDULED")
# With a filter, a run outside the frame that ended up to this long before the newest time in the
# frame is read again: writers' clocks differ, and a run stamped by a slow clock must not be missed.
CLOCK_SLACK_MS = 10 * 60 * 1000
# Characters of the run ids MLflow makes (uuid4 hex); only such ids go into a query or a filter.
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def plain_id(run_id: str) -> bool:
    """True for an id MLflow makes (letters, digits, ``-``, ``_``): only those go into queries."""
    return bool(run_id) and set(run_id) <= _ID_CHARS


@dataclass(frozen=True)
class RunsRefresh:
    """What :func:`refresh_runs` found: the new frame and which runs changed in it."""

    runs: pd.DataFrame
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    full_reload: bool = False  # everything was read (a ./mlruns store, or too much had changed)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed)

    def describe(self) -> str:
        """``"3 new runs, 1 updated"``; ``"No new or updated runs"`` when nothing changed."""
        parts = []
        if self.new:
            parts.append(f"{len(self.new):,} new run{'' if len(self.new) == 1 else 's'}")
        if self.updated:
            parts.append(f"{len(self.updated):,} updated")
        if self.removed:
            parts.append(f"{len(self.removed):,} no longer listed")
        return ", ".join(parts) if parts else "No new or updated runs"



def refresh_result(
    previous: pd.DataFrame | None, fresh: pd.DataFrame, replaced: set[str] | None = None, full_reload: bool = False
) -> RunsRefresh:
    """Which runs of ``fresh`` are new or differ from ``previous``, and which of ``replaced``
    (every run of ``previous`` when None) are gone."""
    # Plain sets and lists: pandas' isin on Arrow-backed strings walks them in Python anyway.
    before_list = [] if previous is None or "run_id" not in previous.columns else previous["run_id"].tolist()
    before = set(before_list)
    fresh_list = fresh["run_id"].tolist()
    fresh_ids = set(fresh_list)
    new = tuple(r for r in fresh_list if r not in before)
    candidates = before_list if replaced is None else [r for r in before_list if r in replaced]
    removed = tuple(r for r in candidates if r not in fresh_ids)
    common = pd.Index([r for r in fresh_list if r in before], dtype=object)
    updated: tuple[str, ...] = ()
    if len(common):
        a = previous.set_index("run_id").loc[common]
        b = fresh.set_index("run_id").loc[common]
        differ = np.zeros(len(common), dtype=bool)
        for column in dict.fromkeys(list(a.columns) + list(b.columns)):
            differ |= _cells_differ(a, b, column)
        differ |= _logged_nans(a, common) != _logged_nans(b, common)
        updated = tuple(common[differ])
    return RunsRefresh(fresh, new, updated, removed, full_reload)


def _cells_differ(a: pd.DataFrame, b: pd.DataFrame, column: str) -> np.ndarray:
    n = len(a)
    if column not in a.columns and column not in b.columns:
        return np.zeros(n, dtype=bool)
    av = a[column].to_numpy(dtype=object) if column in a.columns else np.full(n, None, dtype=object)
    bv = b[column].to_numpy(dtype=object) if column in b.columns else np.full(n, None, dtype=object)
    a_na, b_na = pd.isna(av), pd.isna(bv)
    both = ~a_na & ~b_na
    same = np.ones(n, dtype=bool)
    same[both] = [x == y for x, y in zip(av[both], bv[both])]
    return (a_na != b_na) | ~same


def _logged_nans(df: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Per run of ``ids``, the sorted metrics columns it logged NaN for (a str per run)."""
    from podium import search

    out = {rid: [] for rid in ids}
    for column, joined in sorted((df.attrs.get(search.NAN_METRICS_ATTR) or {}).items()):
        for rid in joined.split(search.NAN_SEPARATOR):
            if rid in out:
                out[rid].append(column)
    return np.array(["\n".join(out[rid]) for rid in ids], dtype=object)


def _raw_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """``df[column]`` as the values a load builds its frame from (ms times, None for missing)."""
    n = len(df)
    if column.startswith("metrics."):
        if column not in df.columns:
            return np.full(n, np.nan)
        return df[column].to_numpy(dtype=float, na_value=np.nan)
    if column not in df.columns or column == "duration_s":
        return np.full(n, None, dtype=object)
    if column in ("start_time", "end_time"):
        ms = start_ms(df, column)
        return np.array([None if m != m else int(m) for m in ms], dtype=object)
    return df[column].to_numpy(dtype=object, na_value=None)


def merge_runs(previous: pd.DataFrame, fresh: pd.DataFrame, replaced: set[str], uri: str) -> pd.DataFrame:
    """``previous`` without the ``replaced`` runs, plus ``fresh``: the frame a load would build."""
    from podium import search

    keep = previous[[r not in replaced for r in previous["run_id"].tolist()]]
    parts = [p for p in (keep, fresh) if len(p)]
    if not parts:
        return with_backend(empty_runs_frame(), uri)
    columns = list(dict.fromkeys(BASE_COLUMNS + [c for p in parts for c in p.columns]))
    frame = {c: np.concatenate([_raw_column(p, c) for p in parts]) for c in columns}
    nan_runs: dict[str, list[str]] = {}
    for part in parts:
        ids = set(part["run_id"])
        for column, joined in (part.attrs.get(search.NAN_METRICS_ATTR) or {}).items():
            nan_runs.setdefault(column, []).extend(r for r in joined.split(search.NAN_SEPARATOR) if r in ids)
    df = with_nan_record(finish_frame(pd.DataFrame(frame)), {k: v for k, v in nan_runs.items() if v})
    return with_backend(search.drop_absent_columns(df), uri)


