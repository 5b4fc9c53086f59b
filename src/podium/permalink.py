"""The Compare page's shareable state as URL query parameters: a copied address (or a saved view,
:mod:`podium.views`) opens the same view. The parameter names are an interface; keep them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

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
