"""A RunFilter: an MLflow filter string plus quick widget filters, and its description in words.

One object yields both the rows and the sentence that describes them (as datasette's filters
do), so page captions and reports say exactly what was filtered. The filter string is MLflow's
own grammar, parsed by MLflow's parser (:mod:`podium.search`); the widget filters (status,
start-time range, user, tag values) are plain column tests on the loaded frame.

Also here: which columns vary between runs, a numeric view of params, links to the MLflow UI and
the Compare page's permalink state (URL query parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from podium import search
from podium.config import uri_scheme
from podium.runs_table import varying


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


# --------------------------------------------------------------------------------------------
# Columns


def varying_columns(df: pd.DataFrame, prefixes: Iterable[str] = ("params.",)) -> list[str]:
    """Columns under ``prefixes`` whose values differ between the runs, a missing value counting
    as a value of its own. With fewer than two runs nothing varies."""
    if len(df) < 2:
        return []
    out: list[str] = []
    for prefix in prefixes:
        out.extend(varying(df, prefix))
    return out


def numeric_view(series: pd.Series) -> pd.Series | None:
    """The values as floats when every present value is a number, else None.

    Params are strings (``"0.1"``, ``"1e-3"``, ``"inf"``); a param column is numeric when each
    value that is present parses as a number. Missing values stay NaN. A column with no present
    values is not numeric (there is nothing to plot on a scale).
    """
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    present = series.notna()
    if not present.any():
        return None
    text = series[present].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    # "nan" parses but would hide a typo-like value; only real numbers and ±inf count.
    if values.isna().any():
        return None
    out = pd.Series(np.nan, index=series.index, dtype=float)
    out[present] = values.astype(float)
    return out


def column_label(column: str, columns: Iterable[str] = ()) -> str:
    """A short label for a column (``metrics.f1`` -> ``f1``), keeping the prefix when the short
    name is ambiguous among ``columns`` (a param and a metric both called ``lr``)."""
    if "." not in column or not column.startswith(("metrics.", "params.", "tags.")):
        return column
    short = column.split(".", 1)[1]
    clash = [c for c in columns if c != column and c.startswith(("metrics.", "params.", "tags."))
             and c.split(".", 1)[1] == short]
    return column if clash else short


# --------------------------------------------------------------------------------------------
# Links to the MLflow UI

# LinkColumn's display_text regex: shows the run name carried in the link's query (decoded).
LINK_DISPLAY_REGEX = r"[?&]run=([^&]*)$"


def mlflow_ui_base(tracking_uri: str, setting: str | None = None) -> str | None:
    """The MLflow UI's address: ``setting`` when given, else the tracking server's address for an
    ``http(s)`` store; None when not known (a database or file store and no setting).

    User info (``user:password@``) is removed, so a link never carries a password.
    """
    for candidate in (setting, tracking_uri if uri_scheme(tracking_uri or "") in ("http", "https") else None):
        if not candidate or not candidate.strip():
            continue
        parts = urlsplit(candidate.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return None


def run_url(base: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI: ``{base}/#/experiments/{experiment_id}/runs/{run_id}``."""
    return f"{base.rstrip('/')}/#/experiments/{quote(str(experiment_id), safe='')}/runs/{quote(str(run_id), safe='')}"


def run_links(df: pd.DataFrame, base: str) -> pd.Series:
    """Per run, its MLflow UI URL with the run name appended as ``?run=`` (URL-encoded), so a
    table's link column can show the name as plain text via :data:`LINK_DISPLAY_REGEX`."""
    names = df["run_name"].astype(object).where(df["run_name"].notna(), None)
    out = [
        run_url(base, e, r) + "?run=" + quote(n if isinstance(n, str) and n else r[:8], safe="")
        for e, r, n in zip(df["experiment_id"].astype(str), df["run_id"].astype(str), names)
    ]
    return pd.Series(out, index=df.index, dtype=object)


# --------------------------------------------------------------------------------------------
# Permalinks: the Compare page's state in URL query parameters


@dataclass(frozen=True)
class CompareQuery:
    """The Compare page's shareable state. Query parameter names are an interface; keep them.

    ``exp`` experiment names (repeated or comma-separated), ``filter`` an MLflow filter string,
    ``axes`` parallel-coordinates axes, ``color`` the colour metric, ``x``/``y`` scatter axes,
    ``runs`` selected run ids.
    """

    experiments: tuple[str, ...] = ()
    filter_string: str = ""
    axes: tuple[str, ...] = ()
    color: str = ""
    x: str = ""
    y: str = ""
    runs: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, list[str] | str], known_experiments: Iterable[str] = ()) -> "CompareQuery":
        """Read the state from query parameters (``{name: [values]}`` as ``st.query_params.to_dict``
        or ``get_all`` give them). An experiment name that itself holds a comma is kept whole
        when it is a known experiment."""
        known = set(known_experiments)

        def values(name: str) -> list[str]:
            raw = params.get(name, [])
            return [raw] if isinstance(raw, str) else list(raw)

        def split(name: str, keep_whole: set[str] = frozenset()) -> tuple[str, ...]:
            out: list[str] = []
            for v in values(name):
                if v in keep_whole:
                    out.append(v)
                else:
                    out.extend(p.strip() for p in v.split(",") if p.strip())
            return tuple(dict.fromkeys(out))

        def one(name: str) -> str:
            vs = values(name)
            return vs[-1] if vs else ""

        return cls(
            experiments=split("exp", known),
            filter_string=one("filter"),
            axes=split("axes"),
            color=one("color"),
            x=one("x"),
            y=one("y"),
            runs=split("runs"),
        )

    def to_params(self) -> dict[str, list[str] | str]:
        """Query parameters for this state; lists become repeated parameters, empty ones are left out."""
        out: dict[str, list[str] | str] = {}
        if self.experiments:
            out["exp"] = list(self.experiments)
        if self.filter_string:
            out["filter"] = self.filter_string
        if self.axes:
            out["axes"] = list(self.axes)
        for name in ("color", "x", "y"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.runs:
            out["runs"] = list(self.runs)
        return out
