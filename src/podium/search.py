"""MLflow's run search, applied to a runs frame that is already in memory.

``filter_frame(df, "metrics.f1 > 0.8 and params.model = 'rf'")`` keeps the rows of a runs frame
(see :mod:`podium.store`) that ``mlflow.search_runs`` would return for the same filter string.
The string is parsed by MLflow's own parser (``SearchUtils.parse_search_filter``) and each clause
is checked with MLflow's own comparator rules, so a bad filter fails with MLflow's own message;
only the *evaluation* is ours, vectorised over whole columns (no per-row Python), which is what
makes filtering 50,000 runs take milliseconds.

The evaluation follows MLflow's SQL stores (``SqlAlchemyStore._search_runs``):

- Every clause is an inner join: a run that lacks the metric, param or tag never matches, not
  even ``!=``. ``IS NULL`` / ``IS NOT NULL`` (params and tags only) test presence.
- A NaN metric matches ``!=`` and nothing else. A frame cannot tell a *logged* NaN from a missing
  metric (both are NaN, as ``mlflow.search_runs`` gives them), so :func:`podium.store.load_runs`
  records which runs logged NaN in ``df.attrs[NAN_METRICS_ATTR]``; without that record a NaN is
  treated as missing.
- ±inf: SQL stores save them as ±``sys.float_info.max``; the frame holds what the store holds, so
  comparisons agree with the store the frame came from.
- ``attributes.run_name`` is the ``mlflow.runName`` tag on database stores (MLflow's SQL stores
  search only the tag: a run without it never matches, whatever the runs table's name says) and
  the run's name (``run_name`` column) on file stores, which match on ``run.info.run_name``.
  ``created`` is ``start_time``.
- ``attributes.user_id`` is MLflow's raw ``runs.user_id``, the frame's ``user_id`` column (an empty
  string is a value: ``user_id = ''`` matches it, ``!=`` too), not Podium's ``user`` column (the
  user id, else the ``mlflow.user`` tag); a frame without ``user_id`` falls back to ``user``.
- ``start_time``/``end_time`` compare exact integer milliseconds (no floating point, no nanosecond
  datetimes: times past 2262 work). An integer beyond 64 bits is an error on SQLite and
  PostgreSQL, as in MLflow; MySQL and file stores compare it exactly.
- ``LIKE`` is case-sensitive on every backend (MLflow sets ``PRAGMA case_sensitive_like`` on
  SQLite and compares ``BINARY`` on MySQL); ``%`` and ``_`` match any characters including
  newlines. ``ILIKE`` folds case like the backend: ASCII only on SQLite (its ``lower()``),
  Unicode on PostgreSQL, MySQL/MariaDB and the file store. PostgreSQL and MySQL treat a
  backslash in a LIKE pattern as an escape; SQLite and the file store do not.

The backend is taken from ``dialect=`` or ``df.attrs[BACKEND_ATTR]`` (set by ``load_runs``);
without either, SQLite's rules apply (MLflow 3's default store is ``sqlite:///mlflow.db``).
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import FilterError

# df.attrs keys written by podium.store.load_runs and read here.
BACKEND_ATTR = "podium.backend"
NAN_METRICS_ATTR = "podium.nan_metrics"
# Run ids in NAN_METRICS_ATTR are joined with this separator: a str is copied for free when pandas
# deep-copies attrs (it does on every column access), a set of 50,000 ids is not.
NAN_SEPARATOR = "\x1f"

BACKENDS = ("sqlite", "postgresql", "mysql", "file")

_NUMERIC_OPS = {
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    "<": operator.lt,
}

# The frame column holding each string attribute MLflow lets a filter name (run_name and user_id
# are decided per clause, see _string_attribute_column).
_STRING_ATTRIBUTE_COLUMNS = {
    "run_id": "run_id",
    "status": "status",
    "artifact_uri": "artifact_uri",
    "user_id": "user_id",
    "run_name": "run_name",
}
# MLflow's raw runs.user_id (when the store gives it); ``user`` is the user id, else the mlflow.user tag.
RAW_USER_ID_COLUMN = "user_id"
RUN_NAME_TAG_COLUMN = "tags.mlflow.runName"

# The integers SQLite can bind and PostgreSQL casts to BIGINT: MLflow's search raises beyond them
# on those backends (SQLite's OverflowError, PostgreSQL's "bigint out of range"); MySQL and the
# file store compare the wider number.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_BIGINT_ONLY = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def parse_filter(filter_string: str | None) -> list[dict[str, Any]]:
    """Parse ``filter_string`` with MLflow's parser and check every clause as MLflow's search does.

    Returns:
        MLflow's parsed clauses (``type``, ``key``, ``comparator`` upper-cased, ``value``), with
        key aliases (``created``, ``run name``) translated.

    Raises:
        FilterError: with MLflow's own message when MLflow would reject the filter.
    """
    if not filter_string or not filter_string.strip():
        return []  # before importing MLflow, which takes seconds the first time
    from mlflow.exceptions import MlflowException
    from mlflow.utils.search_utils import SearchUtils

    try:
        parsed = SearchUtils.parse_search_filter(filter_string)
        clauses = []
        for clause in parsed:
            comparator = clause["comparator"].upper()
            key_type = clause["type"]
            key = SearchUtils.translate_key_alias(clause["key"])
            value = clause["value"]
            # The same dispatch (and so the same comparator errors) as MLflow's SQL store.
            if SearchUtils.is_string_attribute(key_type, key, comparator):
                kind = "string_attribute"
            elif SearchUtils.is_numeric_attribute(key_type, key, comparator):
                kind = "numeric_attribute"
            elif SearchUtils.is_metric(key_type, comparator):
                kind = "metric"
                if value is not None:
                    value = float(value)
            elif SearchUtils.is_param(key_type, comparator):
                kind = "param"
            elif SearchUtils.is_tag(key_type, comparator):
                kind = "tag"
            elif SearchUtils.is_dataset(key_type, comparator):
                kind = "dataset"
            else:
                raise MlflowException(f"Invalid search expression type '{key_type}'")
            clauses.append({"type": key_type, "kind": kind, "key": key, "comparator": comparator, "value": value})
        return clauses
    except MlflowException as exc:
        raise FilterError(exc.message) from None
    except Exception as exc:  # the parser raises plain errors on some malformed input
        raise FilterError(f"Invalid filter {filter_string!r}: {exc}") from None


def validate_filter(filter_string: str | None) -> None:
    """Check ``filter_string`` as MLflow's run search would.

    Raises:
        FilterError: with MLflow's explanation when MLflow would reject it.
    """
    parse_filter(filter_string)


def needs_datasets(filter_string: str | None) -> bool:
    """True when the filter has ``datasets.*`` clauses (they need the runs' dataset inputs)."""
    return any(c["kind"] == "dataset" for c in parse_filter(filter_string))


def filter_frame(
    df: pd.DataFrame,
    filter_string: str | None,
    *,
    dialect: str | None = None,
    datasets: pd.DataFrame | None = None,
    drop_empty_columns: bool = True,
) -> pd.DataFrame:
    """Keep the rows of a runs frame that match an MLflow filter string, in their order.

    Args:
        df: A runs frame as :func:`podium.store.load_runs` returns it.
        filter_string: MLflow search syntax, e.g. ``metrics.f1 > 0.8 and params.model LIKE 'r%'``.
        dialect: Whose string rules to follow: ``sqlite``, ``postgresql``, ``mysql`` or ``file``;
            defaults to ``df.attrs[BACKEND_ATTR]``, else ``sqlite``.
        datasets: The runs' dataset inputs (columns ``run_id, name, digest, context``), needed
            only for ``datasets.*`` clauses.
        drop_empty_columns: Drop the ``metrics.*``/``params.*``/``tags.*`` columns that no
            matching run has, so the result is the frame ``mlflow.search_runs`` (and
            ``load_runs`` with this filter) gives. Pass False to keep the columns stable.

    Returns:
        The matching rows (same order, index reset).

    Raises:
        FilterError: the filter is invalid (MLflow's own message), or it filters on datasets and
            ``datasets`` was not given.
    """
    clauses = parse_filter(filter_string)
    if not clauses:
        return df.reset_index(drop=True)
    mask = filter_mask(df, clauses, dialect=dialect, datasets=datasets)
    out = df[mask].reset_index(drop=True)
    record = out.attrs.get(NAN_METRICS_ATTR)
    if record:
        # Keep the NaN record about the rows that are left only, as a fresh load would.
        kept = {}
        for column, joined in record.items():
            logged = out["run_id"][_logged_nan(out, column)]
            if len(logged):
                kept[column] = NAN_SEPARATOR.join(sorted(logged))
        out.attrs[NAN_METRICS_ATTR] = kept
    if drop_empty_columns:
        out = drop_absent_columns(out)
    return out


def drop_absent_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Drop ``metrics.*``/``params.*``/``tags.*`` columns no row has, as ``mlflow.search_runs`` does.

    A metrics column whose only values are *logged* NaNs is kept (MLflow returns it).
    """
    data = [c for c in df.columns if c.startswith(("metrics.", "params.", "tags."))]
    if not data:
        return df
    present = df[data].notna().any().to_numpy(dtype=bool)
    nan_record = df.attrs.get(NAN_METRICS_ATTR) or {}
    drop = [
        c for c, has in zip(data, present)
        if not has and not (c in nan_record and _logged_nan(df, c).any())
    ]
    return df.drop(columns=drop) if drop else df


def filter_mask(
    df: pd.DataFrame,
    clauses: list[dict[str, Any]],
    *,
    dialect: str | None = None,
    datasets: pd.DataFrame | None = None,
) -> np.ndarray:
    """A boolean array: which rows of ``df`` match every clause of :func:`parse_filter`'s output."""
    dialect = _dialect(dialect or df.attrs.get(BACKEND_ATTR))
    mask = np.ones(len(df), dtype=bool)
    for clause in clauses:
        mask &= _clause_mask(df, clause, dialect, datasets)
        if not mask.any():
            break
    return mask


def _dialect(name: str | None) -> str:
    if not name:
        return "sqlite"
    name = name.split("+", 1)[0].lower()
    if name in ("postgres", "postgresql"):
        return "postgresql"
    if name in ("mysql", "mariadb"):
        return "mysql"
    if name in ("file", "sqlite"):
        return name
    return "sqlite"


def _clause_mask(df: pd.DataFrame, clause: dict[str, Any], dialect: str, datasets: pd.DataFrame | None) -> np.ndarray:
    kind, key, comparator, value = clause["kind"], clause["key"], clause["comparator"], clause["value"]
    n = len(df)
    if kind == "metric":
        column = "metrics." + key
        if column not in df.columns:
            return np.zeros(n, dtype=bool)
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        nan = np.isnan(values)
        with np.errstate(invalid="ignore"):
            result = _NUMERIC_OPS[comparator](values, value)
        if comparator == "!=":
            # A logged NaN matches "!=", a missing metric matches nothing.
            return np.where(nan, _logged_nan(df, column), result)
        return result & ~nan
    if kind == "numeric_attribute":
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX and dialect in _BIGINT_ONLY:
            raise FilterError(
                f"attributes.{key}: {value} is too large for a {_BIGINT_ONLY[dialect]} store (MLflow "
                f"rejects integers beyond 64 bits there, from {_INT64_MIN} to {_INT64_MAX})."
            )
        if key not in df.columns:
            return np.zeros(n, dtype=bool)
        values, present = _epoch_ms(df[key])
        return _compare_exact(values, comparator, value) & present
    if kind in ("param", "tag"):
        column = ("params." if kind == "param" else "tags.") + key
        if comparator in ("IS NULL", "IS NOT NULL"):
            present = df[column].notna().to_numpy(dtype=bool) if column in df.columns else np.zeros(n, dtype=bool)
            return ~present if comparator == "IS NULL" else present
        if column not in df.columns:
            return np.zeros(n, dtype=bool)
        return _string_mask(df[column], comparator, value, dialect)
    if kind == "string_attribute":
        column = _string_attribute_column(df, key, dialect)
        if column not in df.columns:
            return np.zeros(n, dtype=bool)
        return _string_mask(df[column], comparator, value, dialect)
    if kind == "dataset":
        return _dataset_mask(df, key, comparator, value, dialect, datasets)
    raise FilterError(f"Invalid search expression type '{clause['type']}'")


def _logged_nan(df: pd.DataFrame, column: str) -> np.ndarray:
    joined = (df.attrs.get(NAN_METRICS_ATTR) or {}).get(column)
    if not joined:
        return np.zeros(len(df), dtype=bool)
    return df["run_id"].isin(joined.split(NAN_SEPARATOR)).to_numpy(dtype=bool)


def _string_attribute_column(df: pd.DataFrame, key: str, dialect: str) -> str:
    if key == "run_name" and dialect != "file":
        # MLflow's SQL stores search the mlflow.runName tag only ("The name column in the runs
        # table is empty for runs logged in MLflow <= 1.29.0"): no tag, no match.
        return RUN_NAME_TAG_COLUMN
    if key == "user_id" and RAW_USER_ID_COLUMN not in df.columns:
        return "user"  # a frame from before the raw user id was kept: the closest column
    return _STRING_ATTRIBUTE_COLUMNS.get(key, key)


def _epoch_ms(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds since the epoch as exact int64 values, and which rows have a time.

    From datetimes of any resolution (no conversion to nanoseconds, which ends in 2262) or from
    numbers (epoch milliseconds as the stores give them).
    """
    present = series.notna().to_numpy(dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(series):
        naive = series.dt.tz_convert(None) if series.dt.tz is not None else series
        values = naive.to_numpy(dtype="datetime64[ms]").astype("int64")
    else:
        numbers = pd.to_numeric(series, errors="coerce")
        present = present & numbers.notna().to_numpy(dtype=bool)
        floats = numbers.to_numpy(dtype=float, na_value=0.0)
        if numbers.dtype.kind in "iu":
            values = numbers.to_numpy(dtype="int64", na_value=0)
        else:
            values = np.where(present, np.floor(floats), 0).astype("int64")
    return np.where(present, values, 0), present


def _compare_exact(values: np.ndarray, comparator: str, value: int | float) -> np.ndarray:
    """``values <comparator> value`` for int64 ``values``, exactly as SQL compares an integer
    column with an integer or real (no rounding through float64)."""
    n = len(values)
    if isinstance(value, float):
        if math.isnan(value):
            return np.zeros(n, dtype=bool)
        if math.isinf(value):
            value = _INT64_MAX + 1 if value > 0 else _INT64_MIN - 1
        elif value.is_integer():
            value = int(value)
        elif comparator == "=":
            return np.zeros(n, dtype=bool)
        elif comparator == "!=":
            return np.ones(n, dtype=bool)
        elif comparator in (">", ">="):
            return _compare_exact(values, ">=", math.ceil(value))
        else:
            return _compare_exact(values, "<=", math.floor(value))
    if value > _INT64_MAX:  # above every int64: as if comparing -1 with 0
        return np.full(n, _NUMERIC_OPS[comparator](-1, 0), dtype=bool)
    if value < _INT64_MIN:
        return np.full(n, _NUMERIC_OPS[comparator](1, 0), dtype=bool)
    return _NUMERIC_OPS[comparator](values, np.int64(value))


def _string_mask(series: pd.Series, comparator: str, value: Any, dialect: str) -> np.ndarray:
    present = series.notna().to_numpy(dtype=bool)
    out = np.zeros(len(series), dtype=bool)
    if not present.any():
        return out
    values = series[present].astype(str)
    if comparator == "=":
        hit = values == value
    elif comparator == "!=":
        hit = values != value
    elif comparator == "IN":
        hit = values.isin([str(v) for v in value])
    elif comparator == "NOT IN":
        hit = ~values.isin([str(v) for v in value])
    elif dialect == "file":
        # The file store matches in Python: MLflow's own regex, without DOTALL, via re.match.
        flags = re.IGNORECASE if comparator == "ILIKE" else 0
        hit = values.str.match(_file_store_like_regex(str(value)), flags=flags)
    elif comparator == "LIKE":
        # Inline flags keep pandas on pyarrow's vectorised regex engine (a flags= argument
        # falls back to Python's re, ~6x slower).
        hit = values.str.fullmatch("(?s)" + _like_regex(value, dialect))
        if dialect == "mysql" and "_" in str(value) and hit.any():
            # MySQL also requires BINARY col LIKE pattern, where "_" is one byte, not one character.
            as_bytes = values[hit].str.encode("utf-8").str.decode("latin-1")
            pattern = str(value).encode("utf-8").decode("latin-1")
            hit[hit] = as_bytes.str.fullmatch("(?s)" + _like_regex(pattern, dialect)).to_numpy(dtype=bool)
    elif comparator == "ILIKE":
        pattern = str(value)
        if dialect == "sqlite":
            # SQLAlchemy renders ILIKE as lower(x) LIKE lower(y); SQLite's lower() folds ASCII
            # only. Unicode folding finds a superset; rows with non-ASCII text are re-checked.
            hit = values.str.fullmatch("(?is)" + _like_regex(pattern, dialect))
            if hit.any():
                suspect = hit & values.str.contains("[^\\x00-\\x7f]") if pattern.isascii() else hit.copy()
                if suspect.any():
                    regex = re.compile(_like_regex(pattern.translate(_ASCII_LOWER), dialect), re.DOTALL)
                    hit[suspect] = [
                        regex.fullmatch(v.translate(_ASCII_LOWER)) is not None for v in values[suspect]
                    ]
        else:
            hit = values.str.lower().str.fullmatch("(?s)" + _like_regex(pattern.lower(), dialect))
    else:
        raise FilterError(f"Invalid comparator '{comparator}'")
    out[present] = hit.to_numpy(dtype=bool, na_value=False)
    return out


def _file_store_like_regex(pattern: str) -> str:
    """The regex MLflow's file store builds for LIKE (``search_utils._convert_like_pattern_to_regex``)."""
    regex = re.escape(pattern).replace("%", ".*").replace("_", ".")
    if not pattern.startswith("%"):
        regex = "^" + regex
    if not pattern.endswith("%"):
        regex = regex + "$"
    return regex


def _like_regex(pattern: str, dialect: str) -> str:
    """Translate a SQL LIKE pattern into a regular expression for ``fullmatch``."""
    backslash_escapes = dialect in ("postgresql", "mysql")
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if backslash_escapes and ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _dataset_mask(
    df: pd.DataFrame, key: str, comparator: str, value: Any, dialect: str, datasets: pd.DataFrame | None
) -> np.ndarray:
    if datasets is None:
        raise FilterError(
            f"Filtering on datasets.{key} needs the runs' dataset inputs; "
            "load the runs with this filter (podium.store.load_runs) instead."
        )
    if datasets.empty or key not in datasets.columns:
        return np.zeros(len(df), dtype=bool)
    hits = _string_mask(datasets[key], comparator, value, dialect)
    matching = datasets.loc[hits, "run_id"].unique()
    return df["run_id"].isin(matching).to_numpy(dtype=bool)
