"""Shared views of the Compare page, kept in MLflow so every user of the store sees them.

A view is an experiment tag ``podium.view.<name>`` whose value is the Compare permalink's query
string (``exp=…&filter=…&axes=…``). Saving writes one tag on the first experiment of the view;
listing reads the tags of the experiments shown. Writes happen only when a user confirms.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from podium import store
from podium.errors import PodiumError

PREFIX = "podium.view."
#: Longest tag value MLflow accepts (experiment tags: 5,000 characters).
MAX_QUERY = 5000
_NAME = re.compile(r"^[\w .:/-]{1,100}$")


@dataclass(frozen=True)
class View:
    """A saved view: its ``name``, the permalink ``query`` string and the experiment holding it."""

    name: str
    query: str
    experiment: str = ""

    def params(self) -> dict[str, list[str]]:
        """The query string as ``{name: [values]}`` (what ``CompareQuery.from_params`` reads)."""
        return parse_qs(self.query, keep_blank_values=False)


def query_string(params: dict) -> str:
    """Query parameters (``{name: value or [values]}``) as the permalink's query string."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "", [], ())}, doseq=True)


def check_name(name: str) -> str:
    """The view name, stripped; a :class:`PodiumError` when MLflow could not keep it as a tag key."""
    name = str(name).strip()
    # MLflow's own rule for tag keys: these characters only, and a path that is already normal.
    if not _NAME.match(name) or posixpath.normpath(PREFIX + name) != PREFIX + name:
        raise PodiumError("A view name is 1 to 100 letters, digits, spaces and _ - . : / only (no empty or trailing / part).")
    return name


def _experiment_id(uri: str, experiment) -> str:
    """An experiment's id from an Experiment object, an id or a name."""
    own = getattr(experiment, "id", None) or getattr(experiment, "experiment_id", None)
    if own is not None:
        return str(own)
    for e in store.list_experiments(uri):
        if str(experiment) in (e.name, str(e.id)):
            return str(e.id)
    raise PodiumError(f"No experiment {experiment!r} in this store.")


def save_view(uri: str, experiment, name: str, query: str) -> View:
    """Save ``query`` (a permalink query string) as the view ``name`` on ``experiment`` (an
    Experiment, its id or its name). Saving under an existing name replaces that view."""
    name = check_name(name)
    if len(query) > MAX_QUERY:
        raise PodiumError(f"This view is too long to keep in MLflow ({len(query):,} characters, at most {MAX_QUERY:,}): "
                          "select fewer runs or axes.")
    exp_id = _experiment_id(uri, experiment)
    store.set_experiment_tag(uri, exp_id, PREFIX + name, query)
    return View(name, query, exp_id)


def list_views(uri: str, experiment) -> list[View]:
    """The views saved on ``experiment`` (Experiment, id or name), by name."""
    exp_id = _experiment_id(uri, experiment)
    tags = store.experiment_tags(uri, exp_id)
    views = [View(k.removeprefix(PREFIX), v, exp_id) for k, v in tags.items() if k.startswith(PREFIX)]
    return sorted(views, key=lambda v: v.name.casefold())


def delete_view(uri: str, experiment, name: str) -> None:
    """Delete the view ``name`` from ``experiment``."""
    exp_id = _experiment_id(uri, experiment)
    store.delete_experiment_tag(uri, exp_id, PREFIX + check_name(name))
