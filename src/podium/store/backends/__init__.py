"""One backend per store kind behind one small protocol, chosen once by :func:`backend_for`.

As MLflow's own store registry does (one builder per URI scheme), the store's public functions
dispatch here once and never test the URI's kind again:

- ``sql.SqlBackend``: MLflow's tables read directly, read-only at the driver (SQLite, PostgreSQL,
  MySQL); writes through MLflow's client only on a schema the installed MLflow already has.
- ``rest.RestBackend``: a tracking server's REST API, reads and writes, as the session's user.
- ``client.ClientBackend``: a ``./mlruns`` folder through MLflow's file stores, opened so that
  reading creates nothing.
"""

from __future__ import annotations

from podium.store._connect import Target
from podium.store.backends.base import Backend


def backend_for(t: Target) -> Backend:
    """The backend for a resolved store."""
    if t.kind == "database":
        from podium.store.backends.sql import SqlBackend

        return SqlBackend(t)
    if t.kind == "http":
        from podium.store.backends.rest import RestBackend

        return RestBackend(t)
    from podium.store.backends.client import ClientBackend

    return ClientBackend(t)


__all__ = ["Backend", "backend_for"]
