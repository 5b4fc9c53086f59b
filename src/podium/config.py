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


# A URI inside any text: a scheme, then everything up to white space or a quote.
_URI_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
# What may follow the '@' that ends the user info: a host (and port), then a path, query or end.
_HOST_AFTER = re.compile(r"[A-Za-z0-9.\-_\[\]:%]*(?:[/?#]|$)")
_SECRET_PARAMS = re.compile(r"(?i)((?:password|passwd|pwd|token|access_token|api_key|apikey|secret)=)[^&;#\s]*")


def redact_uri(uri: str) -> str:
    """Hide every credential in ``uri`` (or in a text holding URIs): the one redaction function.

    - ``scheme://user:password@host`` -> ``scheme://user:***@host``, whatever the password holds
      (``@``, ``:``, ``/``, ``#``, ``?``, URL-encoded or not, as SQLAlchemy accepts them);
    - ``http(s)://TOKEN@host`` -> ``http(s)://***@host`` (a token in the user slot);
    - ``password=``, ``token=``, ``api_key=``-like query parameters -> ``…=***``.
    """
    if not uri:
        return uri
    return _SECRET_PARAMS.sub(r"\1***", _URI_IN_TEXT.sub(lambda m: _redact_one(m.group(0)), uri))


def _redact_one(uri: str) -> str:
    scheme = _SCHEME.match(uri)
    if not scheme:
        return uri
    rest = uri[scheme.end():]
    # The user info ends at the last '@' that a host and then a path, query or the end follow.
    # Only databases (SQLAlchemy) accept an unencoded '/', '?' or '#' in a password; in a web
    # address they end the host, so an '@' after them is in the path.
    web = uri_scheme(uri) in ("http", "https")
    end = -1
    for i, ch in enumerate(rest):
        if web and ch in "/?#":
            break
        if ch == "@" and _HOST_AFTER.match(rest, i + 1):
            end = i
    if end < 0:
        return uri
    userinfo, tail = rest[:end], rest[end:]
    user, colon, _password = userinfo.partition(":")
    if colon:
        return f"{scheme.group(0)}{user}:***{tail}"
    if uri_scheme(uri) in ("http", "https"):
        return f"{scheme.group(0)}***{tail}"
    return uri


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
