"""Fresh stores: SQLite copied from a migrated template, PostgreSQL and MariaDB databases.

MLflow migrates a new store through every alembic revision, which takes seconds (about 7 for
SQLite, 10 for PostgreSQL and 16 for MariaDB on a busy 2-core machine). :func:`fresh_sqlite`
copies one empty, migrated database instead, and ``postgres_database(migrated=True)`` /
``mysql_database(migrated=True)`` copy one migrated database of the server's (made once per
process); MLflow's store sees its tables at the head revision and only adds its ``Default``
experiment on first open, exactly as on a store it had just migrated. Without ``migrated`` the
database is empty (the tests of what Podium does with a database that is not an MLflow store).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"

_template: Path | None = None
_server_templates: dict[str, str] = {}   # "postgresql"/"mysql" -> the migrated template's name


def _migrate(uri: str) -> None:
    """What MLflow's SqlAlchemyStore runs on a database without its tables."""
    import logging

    import sqlalchemy as sa
    from mlflow.store.db.utils import _initialize_tables, _verify_schema

    engine = sa.create_engine(uri)
    quiet = logging.getLogger("alembic").level, logging.getLogger("mlflow").level
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        _initialize_tables(engine)
        _verify_schema(engine)
    finally:
        engine.dispose()
        logging.getLogger("alembic").setLevel(quiet[0])
        logging.getLogger("mlflow").setLevel(quiet[1])


def sqlite_template() -> Path:
    """An empty SQLite database with MLflow's tables at the head revision, built once per process."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="podium-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        _migrate(f"sqlite:///{path}")
        _template = path
    return _template


def fresh_sqlite(path: Path) -> str:
    """A new, empty MLflow SQLite store at ``path`` (a copy of the migrated template); its URI."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise FileExistsError(path)
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite:///{path}"


def _admin(url: str, statement: str) -> None:
    """Run one statement (CREATE or DROP DATABASE) as the server's admin, outside a transaction."""
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(statement))
    finally:
        admin.dispose()


def _drop_postgres(name: str) -> None:
    _admin(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_template() -> str:
    """An empty PostgreSQL database with MLflow's tables at the head revision, made once per
    process and dropped when it exits; new databases are copied from it (``CREATE DATABASE ...
    TEMPLATE``: the server copies its files, which needs no connection open to it)."""
    if "postgresql" not in _server_templates:
        name = f"podium_template_{uuid.uuid4().hex[:10]}"
        _admin(PG_ADMIN, f'CREATE DATABASE "{name}"')
        atexit.register(_drop_postgres, name)
        _migrate(f"postgresql://postgres@127.0.0.1:5432/{name}")
        _server_templates["postgresql"] = name
    return _server_templates["postgresql"]


@contextlib.contextmanager
def postgres_database(migrated: bool = False) -> Iterator[str]:
    """A fresh PostgreSQL database on the local server, empty or (``migrated``) with MLflow's
    tables at the head revision; dropped afterwards."""
    name = f"podium_test_{uuid.uuid4().hex[:10]}"
    template = f' TEMPLATE "{_postgres_template()}"' if migrated else ""
    _admin(PG_ADMIN, f'CREATE DATABASE "{name}"{template}')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        _drop_postgres(name)


def _create_mysql(name: str) -> None:
    _admin(MYSQL_ADMIN, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")


def _drop_mysql(name: str) -> None:
    _admin(MYSQL_ADMIN, f"DROP DATABASE IF EXISTS `{name}`")


def _mysql_template() -> str:
    """An empty MariaDB database with MLflow's tables at the head revision, made once per process
    and dropped when it exits (:func:`_copy_mysql` copies it)."""
    if "mysql" not in _server_templates:
        name = f"podium_template_{uuid.uuid4().hex[:10]}"
        _create_mysql(name)
        atexit.register(_drop_mysql, name)
        _migrate(f"mysql+pymysql://root@127.0.0.1:3306/{name}")
        _server_templates["mysql"] = name
    return _server_templates["mysql"]


def _copy_mysql(template: str, name: str) -> None:
    """Copy every table of ``template`` into the empty database ``name``: MariaDB's own DDL for
    each (``SHOW CREATE TABLE``: columns, keys, foreign keys, charset, as MLflow's migrations left
    them), its rows (alembic's version), then its triggers. MariaDB has no database templates."""
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=name, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s",
                        (template,))
            tables = cur.fetchall()
            cur.execute("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = %s", (template,))
            triggers = [row[0] for row in cur.fetchall()]
            cur.execute("SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = %s", (template,))
            if any(kind != "BASE TABLE" for _, kind in tables) or cur.fetchone()[0]:
                raise RuntimeError(f"the migrated template has more than tables and triggers: {tables}")
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table, _ in tables:
                cur.execute(f"SHOW CREATE TABLE `{template}`.`{table}`")
                cur.execute(cur.fetchone()[1])
            for table, _ in tables:
                cur.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{template}`.`{table}`")
            cur.execute("SET FOREIGN_KEY_CHECKS = 1")
            for trigger in triggers:  # MLflow's (the secrets table's immutability), after the rows
                cur.execute(f"SHOW CREATE TRIGGER `{template}`.`{trigger}`")
                cur.execute(cur.fetchone()[2])
    finally:
        conn.close()


@contextlib.contextmanager
def mysql_database(migrated: bool = False) -> Iterator[str]:
    """A fresh MariaDB database on the local server, empty or (``migrated``) with MLflow's tables
    at the head revision; dropped afterwards."""
    name = f"podium_test_{uuid.uuid4().hex[:10]}"
    template = _mysql_template() if migrated else None
    _create_mysql(name)
    try:
        if template:
            _copy_mysql(template, name)
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        _drop_mysql(name)
