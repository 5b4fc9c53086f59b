"""A RunFilter: an MLflow filter string plus quick widget filters, and its description in words.

One object yields both the rows and the sentence that describes them (as datasette's filters
do), so page captions and reports say exactly what was filtered. The filter string is MLflow's
own grammar, parsed by MLflow's parser (:mod:`podium.search`); the widget filters (status,
start-time range, user, tag values) are plain column tests on the loaded frame.

Column labels and numbers live in :mod:`podium.columns`, links to the MLflow UI in
:mod:`podium.links`, the Compare page's URL state in :mod:`podium.permalink`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from podium import search


def _as_utc(value: date | datetime | None, end: bool = False) -> pd.Timestamp | None:
    """A timestamp bound; a bare date covers its whole day (``end`` = up to the day's end)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        ts = pd.Timestamp(value)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    day = datetime.combine(value, time.min, tzinfo=timezone.utc)
    return pd.Timestamp(day + timedelta(days=1) if end else day)


@dataclass(frozen=True)
class RunFilter:
    """What the Compare page filters runs by.

    Attributes:
        filter_string: MLflow search syntax, e.g. ``metrics.accuracy > 0.9 and params.optimizer = 'adam'``.
        statuses: Keep runs with one of these statuses (``FINISHED``, ``FAILED``...); empty = all.
        start_from: Keep runs started at or after this (a date means from that day's start, UTC).
        start_to: Keep runs started before the end of this day (a datetime: at or before it).
        users: Keep runs of these users; empty = all.
        tags: ``((tag key, (values...)), ...)``: keep runs whose tag has one of the values.
    """

    filter_string: str = ""
    statuses: tuple[str, ...] = ()
    start_from: date | datetime | None = None
    start_to: date | datetime | None = None
    users: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)

    def validate(self) -> None:
        """Raise :class:`~podium.errors.FilterError` (MLflow's message) for a bad filter string."""
        search.validate_filter(self.filter_string)

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        """Which rows of ``df`` pass every widget filter (not the filter string)."""
        keep = np.ones(len(df), dtype=bool)
        if not len(df):
            return keep
        if self.statuses:
            keep &= df["status"].isin(self.statuses).to_numpy(dtype=bool)
        lo, hi = _as_utc(self.start_from), _as_utc(self.start_to, end=True)
        if lo is not None or hi is not None:
            started = pd.to_datetime(df["start_time"], utc=True)
            ok = started.notna()
            if lo is not None:
                ok &= started >= lo
            if hi is not None:
                ok &= (started < hi) if not isinstance(self.start_to, datetime) else (started <= hi)
            keep &= ok.to_numpy(dtype=bool)
        if self.users:
            keep &= df["user"].isin(self.users).to_numpy(dtype=bool)
        for key, values in self.tags:
            column = f"tags.{key}"
            if not values:
                continue
            if column not in df:
                keep &= False
            else:
                keep &= df[column].isin(values).to_numpy(dtype=bool)
        return keep

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``df`` that pass the filter string and every widget filter, in order.

        Columns are kept as they are (none dropped), so widgets keyed on columns stay stable.

        Raises:
            FilterError: the filter string is invalid (MLflow's own message).
        """
        out = search.filter_frame(df, self.filter_string, drop_empty_columns=False)
        return out[self.mask(out)].reset_index(drop=True)

    def clauses(self) -> list[str]:
        """The active filters in words, one short phrase each (``accuracy > 0.9``, ``FINISHED``)."""
        words: list[str] = []
        for clause in search.parse_filter(self.filter_string):
            value = clause["value"]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, (list, tuple)):
                value = "(" + ", ".join(str(v) for v in value) + ")"
            key = clause["key"]
            if value is None:
                words.append(f"{key} {clause['comparator'].lower()}")
            else:
                words.append(f"{key} {clause['comparator']} {value}")
        if self.statuses:
            words.append(" or ".join(self.statuses))
        if self.start_from is not None and self.start_to is not None:
            words.append(f"started {_day(self.start_from)} – {_day(self.start_to)}")
        elif self.start_from is not None:
            words.append(f"started from {_day(self.start_from)}")
        elif self.start_to is not None:
            words.append(f"started until {_day(self.start_to)}")
        if self.users:
            words.append("user " + " or ".join(self.users))
        for key, values in self.tags:
            if values:
                words.append(f"{key} = " + " or ".join(values))
        return words

    def describe(self, matched: int | None = None, total: int | None = None) -> str:
        """The filter in words, e.g. ``accuracy > 0.9, optimizer = adam, FINISHED, 143 of 300 runs``."""
        parts = self.clauses()
        if matched is not None:
            if total is not None and (parts or matched != total):
                parts.append(f"{matched:,} of {total:,} runs")
            else:
                parts.append(f"{matched:,} run" + ("" if matched == 1 else "s"))
        return ", ".join(parts) if parts else "all runs"

    @property
    def active(self) -> bool:
        """True when anything at all is filtered."""
        return bool(self.filter_string.strip() or self.statuses or self.start_from or self.start_to
                    or self.users or any(v for _, v in self.tags))


def _day(value: date | datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()
