"""Tracking URI resolution and redaction.

Resolution order: an explicit argument > ``MLFLOW_TRACKING_URI`` > ``sqlite:///mlflow.db``
(MLflow 3's own default). Wherever a URI is shown, logged or exported it goes through
:func:`redact_uri` first, so a password never leaves the process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"

# Database schemes SQLAlchemy understands, as MLflow accepts them (``postgresql+psycopg2``...).
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """Return the tracking URI to use: ``explicit`` > ``MLFLOW_TRACKING_URI`` > the default."""
    if explicit and explicit.strip():
        return explicit.strip()
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    return env or DEFAULT_TRACKING_URI


def redact_uri(uri: str) -> str:
    """Replace a password in ``uri`` with ``***``: ``http://alice:s3cret@host`` -> ``http://alice:***@host``.

    Also redacts ``password=`` query parameters, which some database drivers accept.
    """
    if not uri:
        return uri
    out = uri
    scheme = _SCHEME.match(uri)
    if scheme:
        rest = uri[scheme.end():]
        netloc_end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
                         default=len(rest))
        netloc, tail = rest[:netloc_end], rest[netloc_end:]
        # The password may itself hold '@' or ':', so split on the last '@' and the first ':'.
        userinfo, at, host = netloc.rpartition("@")
        if at and ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            out = f"{scheme.group(0)}{user}:***@{host}{tail}"
    return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&;]*", r"\1***", out)


def uri_scheme(uri: str) -> str:
    """The scheme's base name (``postgresql+psycopg2`` -> ``postgresql``); ``file`` for a bare path."""
    scheme = urlsplit(uri).scheme.lower()
    if not scheme or len(scheme) == 1:  # a bare path, or a Windows drive letter
        return "file"
    return scheme.split("+", 1)[0]


def is_database_uri(uri: str) -> bool:
    """True for a SQLAlchemy database URI MLflow can use as a tracking store."""
    return uri_scheme(uri) in DATABASE_SCHEMES


def is_file_store(uri: str) -> bool:
    """True for a legacy ``./mlruns`` folder given as a path or a ``file://`` URI."""
    return uri_scheme(uri) == "file"


def file_store_uri(uri: str) -> str:
    """Normalise a legacy file store path or ``file:`` URI to an absolute ``file://`` URI."""
    if uri.lower().startswith("file:"):
        return uri
    return Path(uri).expanduser().resolve().as_uri()
