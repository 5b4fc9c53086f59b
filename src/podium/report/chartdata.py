"""Chart specs made fit for a report file: only the data drawn, rounded, compact, and safe.

A chart of 10,000 runs from :mod:`podium.charts` carries every column the Compare page might
use, full float precision and the field names repeated on every row: megabytes in a report.
:func:`compact` keeps what the chart draws and nothing else:

1. every string (titles, labels, run names, param values) goes through
   :func:`podium.report.safe.visible`, so no control or bidi-override character reaches a
   renderer (vl-convert aborts the whole process on some of them) or a reader;
2. each dataset keeps only the fields the layers reading it use (encodings, tooltips,
   selections, expressions);
3. numbers keep the 4 significant digits tooltips show (``.4~g``), more where a column's values
   are close together for their size, so no mark moves by more than half a pixel;
4. run ids, used only to tell points apart for the click selection, become short keys, and a
   number column equal to another (a scatter coloured by its own y) is written once;
5. each dataset becomes inline CSV text with an explicit ``parse`` (Vega-Lite reads it as it
   reads JSON rows), so no field name is repeated per row.

:func:`rows` reads a compacted dataset back as dicts (for tests and tools).
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pandas as pd

from podium.report.safe import visible

SIG_DIGITS = 4  # what the charts' tooltips print (".4~g")
MAX_SIG_DIGITS = 15
_DATUM = re.compile(r"datum(?:\.([A-Za-z_]\w*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_COMPOSITE = ("concat", "hconcat", "vconcat", "facet", "repeat", "spec")
_SHORT_ID_FIELD = "run_id"
_INHERITED = "\x00inherited"  # key of _usage's result: datasets a view reads without naming them


def compact(spec: dict) -> dict:
    """A copy of Vega-Lite ``spec`` as described in the module docstring (the input is untouched).

    A dataset may be given as JSON rows (as Altair writes them) or as a DataFrame.
    """
    datasets = spec.get("datasets")
    rest = _visible({k: v for k, v in spec.items() if k != "datasets"})
    if not isinstance(datasets, dict) or not datasets or any(k in spec for k in _COMPOSITE):
        if datasets is not None:
            rest["datasets"] = _visible(datasets)
        return rest
    used, free = _usage(rest)
    expressions: set[str] = set()
    _datum_fields(rest, expressions)
    shorten = free is not None and _SHORT_ID_FIELD in free and not any(_SHORT_ID_FIELD in f for f in used.values())
    id_keys: dict[str, str] = {}
    out, formats = {}, {}
    for name, data in datasets.items():
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
            frame = pd.DataFrame.from_records(data)
        else:
            out[name] = _visible(data)
            continue
        keep = (used[name] | free) if free is not None and name in used else None
        mergeable = set() if keep is None or name in used.get(_INHERITED, ()) else used[name] - free - expressions
        encoded = _encode(frame, keep, id_keys if shorten else None, mergeable)
        if encoded is None:  # a column mixing kinds: rounded JSON rows instead of CSV
            records = frame.astype(object).where(frame.notna(), None).to_dict("records")
            rows_ = [{k: v for k, v in row.items() if keep is None or k in keep} for row in records]
            if shorten:
                _shorten_ids(rows_, id_keys)
            out[name] = _rounded(_visible(rows_))
        else:
            out[name], formats[name], aliases = encoded
            if aliases:
                _rename_fields(rest, name, aliases)
    rest["datasets"] = out
    _set_formats(rest, formats)
    return rest


def rows(spec: dict, name: str) -> list[dict]:
    """The rows of dataset ``name`` of a (compacted or not) spec, with numbers and booleans parsed."""
    data = spec["datasets"][name]
    if not isinstance(data, str):
        return data
    parse = _format_of(spec, name).get("parse") or {}
    out = []
    for row in csv.DictReader(io.StringIO(data)):
        item = {}
        for key, text in row.items():
            kind = parse.get(key)
            if kind == "number":
                item[key] = float(text) if text != "" else None
            elif kind == "boolean":
                item[key] = {"true": True, "false": False}.get(text)
            else:
                item[key] = text
        out.append(item)
    return out


# --- strings ----------------------------------------------------------------------------------


def _visible(node):
    if isinstance(node, str):
        return visible(node)
    if isinstance(node, dict):
        return {k: _visible(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_visible(v) for v in node]
    return node


# --- which fields each dataset needs ------------------------------------------------------------


def _fields_in(node, out: set[str]) -> None:
    """Field names ``node`` reads: ``field``/``fields`` values and ``datum.x`` in expressions."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data":
                continue
            if key == "field" and isinstance(value, str):
                out.add(value.split(".")[0].split("[")[0])
            elif key == "fields" and isinstance(value, list):
                out.update(v for v in value if isinstance(v, str))
            else:
                _fields_in(value, out)
    elif isinstance(node, list):
        for value in node:
            _fields_in(value, out)
    elif isinstance(node, str) and "datum" in node:
        for a, b in _DATUM.findall(node):
            out.add(a or b)


def _usage(spec: dict) -> tuple[dict[str, set[str]], set[str] | None]:
    """``({dataset name: fields its layers read}, fields read outside any layer)``.

    The second item is None when a layer's data cannot be told (then nothing is pruned).
    """
    used: dict[str, set[str]] = {}
    ok = True

    def visit(view: dict, inherited: str | None) -> None:
        nonlocal ok
        data = view.get("data")
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(data, dict) and name is None:
            ok = False  # inline values or a URL: leave everything as it is
        if name is None and inherited is not None and "layer" not in view:
            used.setdefault(_INHERITED, set()).add(inherited)
        name = name or inherited
        if "layer" in view:
            rest = {k: v for k, v in view.items() if k not in ("layer", "data")}
            if name is not None:
                _fields_in(rest, used.setdefault(name, set()))
            for child in view["layer"]:
                visit(child, name)
            return
        if name is None:
            ok = False
            return
        _fields_in({k: v for k, v in view.items() if k != "data"}, used.setdefault(name, set()))

    free: set[str] = set()
    if "layer" in spec:
        for child in spec["layer"]:
            visit(child, spec["data"].get("name") if isinstance(spec.get("data"), dict) else None)
        _fields_in({k: v for k, v in spec.items() if k not in ("layer", "data", "datasets")}, free)
    else:
        visit({k: v for k, v in spec.items() if k != "datasets"}, None)
    return used, (free if ok else None)


def _shorten_ids(rows_: list[dict], keys: dict[str, str]) -> None:
    """Run ids that only tell points apart for a selection become short keys (same run, same key)."""
    for row in rows_:
        value = row.get(_SHORT_ID_FIELD)
        if isinstance(value, str):
            row[_SHORT_ID_FIELD] = keys.setdefault(value, _base36(len(keys)))


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return "k" + out  # never parsed as a number


# --- numbers ----------------------------------------------------------------------------------


def _is_float(v) -> bool:
    return isinstance(v, float)


def _rounded(data: list[dict]) -> list[dict]:
    columns = {k for row in data for k in row}
    digits = {}
    for column in columns:
        finite = [row.get(column) for row in data]
        finite = np.array([v for v in finite if _is_float(v) and math.isfinite(v)], dtype=float)
        if len(finite):
            digits[column] = _digits(finite)
    out = []
    for row in data:
        item = {}
        for key, v in row.items():
            if _is_float(v):
                v = float(f"{v:.{digits[key]}g}") if math.isfinite(v) else None
            item[key] = v
        out.append(item)
    return out


# --- CSV ---------------------------------------------------------------------------------------

_NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")


def _encode(frame: pd.DataFrame, keep: set[str] | None, id_keys: dict[str, str] | None,
            mergeable: set[str] = frozenset()) -> tuple[str, dict, dict[str, str]] | None:
    """``(csv text, format, {dropped column: the same column kept})`` for Vega-Lite; None when a
    column mixes kinds or holds an empty string (CSV would read it back as missing), so the rows
    stay JSON. A ``mergeable`` number column equal to an earlier one (a scatter coloured by its y)
    is written once."""
    if keep is not None:
        frame = frame[[c for c in frame.columns if c in keep]]
    if not len(frame.columns) or any(not isinstance(c, str) or not c or c.strip() != c or any(ch in c for ch in ',"\r\n')
                                     for c in frame.columns):
        return None
    cells, parse = {}, {}
    for column in frame.columns:
        values = frame[column]
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "boolean":
            parse[column] = "boolean"
            cells[column] = values.map({True: "true", False: "false"}).fillna("")
        elif kind == "integer" and values.notna().all():
            parse[column] = "number"
            cells[column] = values.astype("int64").astype(str)
        elif kind in _NUMBER_KINDS:
            parse[column] = "number"
            cells[column] = _number_cells(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float))
        elif kind in ("string", "empty"):
            present = values.notna()
            if (values[present] == "").any():
                return None
            if column == _SHORT_ID_FIELD and id_keys is not None:
                values = values.map(lambda v: id_keys.setdefault(v, _base36(len(id_keys))) if isinstance(v, str) else v)
            cells[column] = values.map(visible, na_action="ignore").fillna("")
        else:
            return None
    aliases: dict[str, str] = {}
    for column in [c for c in cells if c in mergeable and parse.get(c) == "number"]:
        twin = next((c for c in cells if c != column and c not in aliases and parse.get(c) == "number"
                     and list(cells).index(c) < list(cells).index(column)
                     and np.array_equal(np.asarray(cells[c], dtype=object), np.asarray(cells[column], dtype=object))), None)
        if twin is not None:
            aliases[column] = twin
    for column in aliases:
        del cells[column]
        del parse[column]
    text = pd.DataFrame(cells).to_csv(index=False, lineterminator="\n")
    return text, {"type": "csv", "parse": parse}, aliases


def _number_cells(values: np.ndarray) -> np.ndarray:
    """Numbers as CSV text, rounded as :func:`_rounded` does; NaN and ±inf as empty (missing)."""
    finite = np.isfinite(values)
    out = np.full(len(values), "", dtype=object)
    if not finite.any():
        return out
    kept = values[finite]
    out[finite] = np.char.mod(f"%.{_digits(kept)}g", kept)
    return out


def _digits(finite: np.ndarray) -> int:
    """Significant digits for a column: what tooltips show (4), and enough that rounding moves no
    mark by more than 1/2000 of the column's range (half a pixel on a 1000-pixel axis)."""
    biggest, span = float(np.abs(finite).max()), float(finite.max() - finite.min())
    if span == 0 or biggest == 0:
        return MAX_SIG_DIGITS if span == 0 else SIG_DIGITS  # one value: keep it whole
    needed = math.floor(math.log10(biggest)) + 1 - math.floor(math.log10(span / 2000))
    return min(MAX_SIG_DIGITS, max(SIG_DIGITS, needed))


def _datum_fields(node, out: set[str]) -> None:
    """Fields named in expressions (``datum.x``) anywhere in ``node``."""
    if isinstance(node, dict):
        for value in node.values():
            _datum_fields(value, out)
    elif isinstance(node, list):
        for value in node:
            _datum_fields(value, out)
    elif isinstance(node, str) and "datum" in node:
        out.update(a or b for a, b in _DATUM.findall(node))


def _rename_fields(node, name: str, aliases: dict[str, str]) -> None:
    """In every view reading dataset ``name``, read each dropped column from its twin instead."""
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") == name:
            _rename_in(node, aliases)
        for key, value in node.items():
            if key not in ("datasets", "data"):
                _rename_fields(value, name, aliases)
    elif isinstance(node, list):
        for value in node:
            _rename_fields(value, name, aliases)


def _rename_in(node, aliases: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and value in aliases:
                node[key] = aliases[value]
            elif key not in ("data", "layer"):
                _rename_in(value, aliases)
    elif isinstance(node, list):
        for value in node:
            _rename_in(value, aliases)


def _set_formats(node, formats: dict[str, dict]) -> None:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") in formats:
            data["format"] = formats[data["name"]]
        for key, value in node.items():
            if key != "datasets":
                _set_formats(value, formats)
    elif isinstance(node, list):
        for value in node:
            _set_formats(value, formats)


def _format_of(node, name: str) -> dict:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") == name and "format" in data:
            return data["format"]
        for key, value in node.items():
            if key != "datasets":
                found = _format_of(value, name)
                if found:
                    return found
    elif isinstance(node, list):
        for value in node:
            found = _format_of(value, name)
            if found:
                return found
    return {}
