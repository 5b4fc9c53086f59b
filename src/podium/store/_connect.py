"""Connecting to a store: which store and as whom, the HTTP session, and one error translator.

A store is named by a URI string. In team mode the URI is a :class:`StoreRef`: a ``str`` whose
value is the URI with the signed-in user's name in the user slot (``http://alice@host:5000``),
so every cache keyed by it is keyed by identity, and whose :attr:`StoreRef.credentials` hold the
password in memory only (never in the string, ``repr`` or a pickle). A plain URI string uses the
credentials it carries itself (``http://alice:pw@host``), else MLflow's ``MLFLOW_TRACKING_*``
variables, as MLflow's own client does.

MLflow's client creates or migrates tables when it opens a database, and creates folders in a
``./mlruns`` store. Nothing here opens a database through it for reading: reads go through
:mod:`podium.store.backends`, and :func:`writable_client` refuses a database whose schema is not
the installed MLflow's (it would be migrated).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from podium.config import file_store_uri, is_database_uri, is_file_store, redact_uri, resolve_tracking_uri, uri_scheme
from podium.errors import FilterError, NotFoundError, PermissionDeniedError, PodiumError, StoreError

# Modules whose exceptions are a store that cannot be reached or read (not a bug of ours).
_DRIVER_MODULES = ("sqlalchemy", "psycopg", "psycopg2", "pymysql", "MySQLdb", "sqlite3", "requests", "urllib3", "alembic")
# MLflow's error codes for a request the store refused as invalid (a bad filter, a missing id).
BAD_REQUEST_CODES = ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE")
# Seconds to wait for a tracking server to accept a connection; a refused or failed connection
# is a dead server, a slow answer is not (reads get READ_TIMEOUT).
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 300


@dataclass(frozen=True)
class Credentials:
    """Who talks to a tracking server: a user and password (HTTP basic) or a bearer token.

    Empty credentials mean anonymous: the process's ``MLFLOW_TRACKING_*`` variables are not used.
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)


class StoreRef(str):
    """A store URI (``str``) that carries credentials, for a signed-in user or a typed store.

    ``str(ref)`` names the store and the user (``http://alice@host``) but holds no secret.
    """

    credentials: Credentials

    def __new__(cls, uri: str, credentials: Credentials | None = None) -> "StoreRef":
        credentials = credentials or Credentials()
        value = _with_user(_without_userinfo(uri), credentials.username)
        ref = super().__new__(cls, value)
        ref.credentials = credentials
        return ref

    def __reduce__(self):  # never pickle the password
        return (StoreRef, (str(self), Credentials(self.credentials.username)))

    def __repr__(self) -> str:
        return f"StoreRef({redact_uri(str(self))!r})"


@dataclass(frozen=True)
class Target:
    """A resolved store: the URI MLflow understands (no user info) and the credentials to use
    (None: MLflow's environment variables)."""

    uri: str
    credentials: Credentials | None = None

    @property
    def kind(self) -> str:
        """``database``, ``http`` or ``file``."""
        if is_database_uri(self.uri):
            return "database"
        if uri_scheme(self.uri) in ("http", "https"):
            return "http"
        if is_file_store(self.uri):
            return "file"
        return "unsupported"

    @property
    def shown(self) -> str:
        """The URI as it may be shown (password redacted)."""
        return redact_uri(self.uri)


def _without_userinfo(uri: str) -> str:
    parts = urlsplit(uri)
    if "@" not in parts.netloc or uri_scheme(uri) not in ("http", "https"):
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _with_user(uri: str, username: str | None) -> str:
    if not username or uri_scheme(uri) not in ("http", "https"):
        return uri
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=f"{quote(username, safe='')}@{parts.netloc}"))


def target(tracking_uri: str | None) -> Target:
    """Resolve ``tracking_uri`` (a URI, a :class:`StoreRef`, a path or None) to a :class:`Target`.

    Raises:
        StoreError: the URI's scheme is not a store MLflow can read (message redacted).
    """
    if isinstance(tracking_uri, StoreRef):
        return Target(_prepare(_without_userinfo(str(tracking_uri))), tracking_uri.credentials)
    uri = resolve_tracking_uri(tracking_uri)
    if uri_scheme(uri) in ("http", "https"):
        parts = urlsplit(uri)
        userinfo, at, _host = parts.netloc.rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            creds = Credentials(unquote(user), unquote(password)) if colon else Credentials(token=unquote(user))
            return Target(_without_userinfo(uri), creds)
        return Target(uri, None)
    return Target(_prepare(uri), None)


def _prepare(uri: str) -> str:
    if is_file_store(uri):
        return file_store_uri(uri)
    if not (is_database_uri(uri) or uri_scheme(uri) in ("http", "https")):
        scheme = uri_scheme(uri)
        hint = " (SQLAlchemy spells it postgresql://)" if scheme == "postgres" else ""
        raise StoreError(
            f"Podium cannot open a store with the scheme {scheme!r}{hint}: use sqlite:///, postgresql://, "
            "mysql://, http(s):// or an mlruns folder.",
            redact_uri(uri),
        )
    return uri


def prepare_uri(tracking_uri: str | None) -> str:
    """The URI MLflow understands for ``tracking_uri`` (file stores as absolute ``file://``)."""
    return target(tracking_uri).uri


# --------------------------------------------------------------------------------------------
# Errors


def store_message(uri: str, exc: BaseException, doing: str = "") -> str:
    """One line for a user: which store, and what went wrong (every credential redacted).
    ``doing`` names the work that failed ("Seeding the demo store"); else the store could not be read."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    detail = redact_uri(detail.replace(uri, redact_uri(uri)))
    return f"{doing} at {redact_uri(uri)} failed: {detail}" if doing else f"Cannot read the MLflow store at {redact_uri(uri)}: {detail}"


def mlflow_error(uri: str, exc: Exception, doing: str = "") -> PodiumError:
    """The :class:`PodiumError` for an ``MlflowException`` (or an MLflow REST error body)."""
    code = getattr(exc, "error_code", "") or ""
    message = redact_uri(str(getattr(exc, "message", "") or exc).strip().splitlines()[0] if str(exc).strip() else code)
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return PermissionDeniedError(message)
    if code == "RESOURCE_DOES_NOT_EXIST":
        return NotFoundError(message)
    if code in BAD_REQUEST_CODES:
        return FilterError(message)
    return StoreError(store_message(uri, exc, doing), redact_uri(uri))


@contextlib.contextmanager
def translated(uri: str, doing: str = "") -> Iterator[None]:
    """Turn MLflow, driver, HTTP and OS errors into :class:`PodiumError` with the URI redacted
    (``doing``: what failed, for :func:`store_message`)."""
    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException):
            raise mlflow_error(uri, exc, doing) from None
        if type(exc).__module__.split(".")[0] in _DRIVER_MODULES or isinstance(exc, (OSError, ImportError)):
            raise StoreError(store_message(uri, exc, doing), redact_uri(uri)) from None
        raise


# --------------------------------------------------------------------------------------------
# HTTP


def http_session(t: Target):
    """A requests session authenticated as ``t`` says (else as MLflow's client would be), with
    MLflow's TLS settings (``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_TRACKING_SERVER_CERT_PATH``)."""
    import requests

    session = requests.Session()
    creds = t.credentials
    if creds is None:
        creds = Credentials(
            os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD"),
            os.environ.get("MLFLOW_TRACKING_TOKEN"),
        )
    if creds.token:
        session.headers["Authorization"] = f"Bearer {creds.token}"
    elif creds.username and creds.password is not None:
        session.auth = (creds.username, creds.password)
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        session.verify = False
    elif os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        session.verify = os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    return session


def check_http(t: Target) -> None:
    """Fail fast when a tracking server is down: a refused or failed connection. A slow answer
    is a busy server, not a dead one, so only the connection is timed."""
    import requests

    with http_session(t) as session:
        try:
            session.get(t.uri.rstrip("/") + "/health", timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except (requests.ConnectionError, requests.ConnectTimeout) as exc:
            raise StoreError(
                f"Cannot reach the MLflow tracking server at {t.shown} ({type(exc).__name__}). Is it running?", t.shown
            ) from None
        except requests.RequestException:
            pass  # answered slowly or oddly: the real request will tell


def check_file_store(t: Target) -> str:
    """The folder of a ``./mlruns`` store; StoreError when it is not one (never created)."""
    from urllib.request import url2pathname

    path = url2pathname(urlsplit(t.uri).path)
    if not os.path.isdir(path):
        raise StoreError(f"No MLflow file store (mlruns folder) at {t.shown}.", t.shown)
    if not any(name == "meta.yaml" or os.path.isfile(os.path.join(path, name, "meta.yaml")) for name in os.listdir(path)):
        raise StoreError(f"{t.shown} is not an MLflow file store (no experiment folders with meta.yaml).", t.shown)
    return path


# --------------------------------------------------------------------------------------------
# MLflow's client, for writes (and, on ./mlruns, reads through a read-only file store)

_file_store_lock = threading.RLock()  # re-entrant: a read may open the store inside another read


@contextlib.contextmanager
def allow_file_store() -> Iterator[None]:
    """MLflow 3 refuses a file store unless ``MLFLOW_ALLOW_FILE_STORE`` is set: set it for one
    block, under a lock (the environment is shared), and restore it exactly. Only a confirmed
    write to a ``./mlruns`` store needs it (reads open a file store that skips the check)."""
    with _file_store_lock:
        previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
            else:
                os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def schema_revision(uri: str) -> tuple[str | None, str]:
    """``(the database's alembic revision, the installed MLflow's head revision)``."""
    from podium.store.backends import _sqlextra

    return _sqlextra.read_schema_revision(uri), _sqlextra.mlflow_head_revision()


@contextlib.contextmanager
def writable_client(t: Target) -> Iterator["mlflow.MlflowClient"]:  # noqa: F821
    """An ``MlflowClient`` that may write, for a confirmed write only.

    Refuses a database store whose schema is not the installed MLflow's: MLflow's client would
    migrate it in place, and the team's own MLflow servers and clients would then refuse it.
    """
    from mlflow import MlflowClient

    if t.kind == "database":
        found, head = schema_revision(t.uri)
        if found != head:
            raise StoreError(
                f"The store at {t.shown} has MLflow schema {found or 'unknown'}, not {head} (MLflow 3.17's). "
                "Podium does not upgrade a team's database: upgrade it with `mlflow db upgrade` (after a backup) "
                "or write from the MLflow version that made it.",
                t.shown,
            )
    with translated(t.uri):
        if t.kind == "file":
            check_file_store(t)
            with allow_file_store():
                yield MlflowClient(tracking_uri=t.uri, registry_uri=t.uri)
        else:
            yield MlflowClient(tracking_uri=t.uri, registry_uri=t.uri)
