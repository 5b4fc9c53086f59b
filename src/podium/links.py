"""Links to the MLflow UI: its address for a store, a run's page, a runs table's link column.

A link never carries a password: user info in an address is dropped.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import pandas as pd

from podium.config import uri_scheme


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
