"""What every chart module shares: the result type, colours, tick values and numbers as drawn.

:class:`ChartResult` carries an Altair chart plus what a reader should be told about it, and gives
the chart to a page as a Vega-Lite dict whose data are named frames (:meth:`ChartResult.spec`), so
a page can cache the dict and change only the layer that marks the selected runs
(:meth:`ChartResult.select`) when the selection changes: the large datasets stay byte for byte the
same, and a browser has nothing to redraw but that layer.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from podium.columns import numeric_view

if TYPE_CHECKING:
    from podium.parallel import AxisLayout


SELECTED_COLOR = "#e4007c"
MISSING_COLOR = "#9ca3af"
PARETO_COLOR = "#111827"
REFERENCE_COLOR = "#111827"  # the model the team ships (a version behind an alias such as @champion)
# A five-pointed star as an SVG path in Vega's unit square, for reference runs on a scatter.
STAR = ("M0,-1L0.2245,-0.309L0.951,-0.309L0.363,0.118L0.588,0.809L0,0.382L-0.588,0.809L-0.363,0.118"
        "L-0.951,-0.309L-0.2245,-0.309Z")
NA_TEXT = "n/a"
CANVAS = {"embedOptions": {"renderer": "canvas"}}
SELECTION_DATA = "selected"  # the dataset name of the layer marking selected runs, in ChartResult.spec

_unvalidated_lock = threading.Lock()
_unvalidated_depth = 0
_debug_mode_before = True


@contextlib.contextmanager
def unvalidated():
    """Altair without its "debug mode" while building a chart: each schema object (every channel,
    mark, layer) is otherwise validated against the Vega-Lite JSON schema as it is made, about 0.3 s
    of a 10,000-run Compare chart's building. The chart is the same; ``chart.to_dict()`` still
    validates the whole. The flag is Altair's module global: nested and concurrent uses restore it
    once, when the last one ends."""
    from altair.utils import schemapi

    global _unvalidated_depth, _debug_mode_before
    with _unvalidated_lock:
        if _unvalidated_depth == 0:
            _debug_mode_before = schemapi.DEBUG_MODE
            schemapi.DEBUG_MODE = False
        _unvalidated_depth += 1
    try:
        yield
    finally:
        with _unvalidated_lock:
            _unvalidated_depth -= 1
            if _unvalidated_depth == 0:
                schemapi.DEBUG_MODE = _debug_mode_before


def built_unvalidated(func):
    """Decorator: ``func`` builds its chart inside :func:`unvalidated`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with unvalidated():
            return func(*args, **kwargs)
    return wrapper


@dataclass
class Highlight:
    """The layer that marks the selected runs, kept apart from the rest of a chart so that a new
    selection changes only this layer's (small) data.

    ``frame`` is the layer's data as built (the object in the chart); ``rows`` holds the layer's
    rows for every run that can be selected, with a ``run_id`` column; ``columns`` are the ones the
    layer draws.
    """

    frame: pd.DataFrame
    rows: pd.DataFrame
    columns: list[str]
    _codes: np.ndarray = field(default=None, repr=False)  # each row's run, as a position in _ids
    _ids: pd.Index = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # A page asks for a selection on every rerun: find rows by integer codes, not by comparing
        # every row's run id string (tens of thousands of rows on a large parallel chart).
        codes, ids = pd.factorize(self.rows["run_id"])
        self._codes, self._ids = codes, pd.Index(ids)

    @classmethod
    def over(cls, rows: pd.DataFrame, columns: list[str], selected: Iterable[str]) -> Highlight:
        """The highlight of ``rows`` whose layer shows ``selected`` now."""
        out = cls(rows.iloc[:0][columns], rows, columns)
        out.frame = out.of(selected)
        return out

    def of(self, selected: Iterable[str]) -> pd.DataFrame:
        """The layer's rows for ``selected`` run ids."""
        wanted = self._ids.get_indexer(list(dict.fromkeys(selected)))
        chosen = np.isin(self._codes, wanted[wanted >= 0])
        return self.rows.loc[chosen, self.columns].reset_index(drop=True)


@dataclass
class ChartResult:
    """A chart and what a reader should be told about it."""

    chart: alt.TopLevelMixin
    total: int
    drawn: int
    notes: list[str] = field(default_factory=list)
    axes: list[AxisLayout] = field(default_factory=list)
    pareto: pd.DataFrame | None = None
    highlight: Highlight | None = None

    def to_dict(self) -> dict:
        """The Vega-Lite spec with its data inline (no row limit: sampling is decided here)."""
        with alt.data_transformers.enable("default", max_rows=None):
            return self.chart.to_dict()

    def spec(self) -> dict:
        """The Vega-Lite spec for a page, its data as frames: ``datasets`` maps a name to each
        layer's DataFrame (Streamlit sends them as Arrow), named by their order in the chart
        (``data-0``, ``data-1``…) and :data:`SELECTION_DATA` for the selection layer, so the names
        are the same from one call to the next. Not validated again: Altair's own classes built it.

        Equal to what ``st.altair_chart`` makes of the chart, without serialising each row to JSON
        first; the chart itself is not changed (its layers are copied before their data is named).
        """
        frames: dict[int, tuple[str, pd.DataFrame]] = {}

        def named(view):
            data = getattr(view, "data", alt.Undefined)
            if not isinstance(data, pd.DataFrame):
                return view
            own = SELECTION_DATA if self.highlight is not None and data is self.highlight.frame else f"data-{len(frames)}"
            name = frames.setdefault(id(data), (own, data))[0]
            view = view.copy(deep=False)
            view.data = alt.NamedData(name=name)
            return view

        top = self.chart.copy(deep=False)
        if isinstance(getattr(top, "layer", None), list):
            top.layer = [named(view) for view in top.layer]
        top = named(top)
        # Not at the top level: no theme (as Streamlit draws Altair charts) and no inline datasets.
        spec = top.to_dict(validate=False, context={"top_level": False})
        spec["$schema"] = alt.SCHEMA_URL
        spec["datasets"] = {name: data for name, data in frames.values()}
        return spec

    def select(self, spec: dict, selected: Iterable[str]) -> dict:
        """``spec`` (from :meth:`spec`) with the selection layer marking ``selected`` instead: a
        shallow copy in which only that layer's dataset is new."""
        if self.highlight is None or SELECTION_DATA not in spec.get("datasets", {}):
            return spec
        return {**spec, "datasets": {**spec["datasets"], SELECTION_DATA: self.highlight.of(selected)}}


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.4g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values within ``[lo, hi]`` (the usual 1-2-5 steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(0.0 if abs(v) < step * 1e-9 else round(v, 12))
        v += step
    return ticks


def chart_numbers(series: pd.Series) -> pd.Series | None:
    """:func:`~podium.columns.numeric_view` with the SQL stores' stand-ins for infinity (±``float
    max``, which is how they save ±inf) shown as the infinities the user logged."""
    return numeric_view(series, infinities=True)


def _natural(text: str) -> tuple:
    """Sort key: numbers by value first (``2`` before ``12``), then words case-insensitively."""
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text.casefold(), text)
    return (0, number if number == number else math.inf, "", text)


def _outside_references(df: pd.DataFrame, reference: dict[str, str] | None, reference_runs: pd.DataFrame | None) -> pd.DataFrame | None:
    """The rows of ``reference_runs`` that are reference runs missing from ``df`` (the filter left
    them out), or None when there are none."""
    if not reference or reference_runs is None or not len(reference_runs):
        return None
    ids = reference_runs["run_id"]
    rows = reference_runs[ids.isin(set(reference)) & ~ids.isin(set(df["run_id"]))]
    return rows if len(rows) else None
