"""Fresh stores: SQLite copied from a migrated template, PostgreSQL and MariaDB databases.

MLflow migrates a new SQLite store through every alembic revision, which takes seconds (about
7 on a busy 2-core machine). :func:`fresh_sqlite` copies one empty, migrated database instead;
MLflow's store sees its tables at the head revision and only adds its ``Default`` experiment on
first open, exactly as on a store it had just migrated.
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


def sqlite_template() -> Path:
    """An empty SQLite database with MLflow's tables at the head revision, built once per process."""
    global _template
    if _template is None:
        import logging

        import sqlalchemy as sa
        from mlflow.store.db.utils import _initialize_tables, _verify_schema

        folder = Path(tempfile.mkdtemp(prefix="podium-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        quiet = logging.getLogger("alembic").level, logging.getLogger("mlflow").level
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        try:
            # What MLflow's SqlAlchemyStore runs on a database without its tables.
            _initialize_tables(engine)
            _verify_schema(engine)
        finally:
            engine.dispose()
            logging.getLogger("alembic").setLevel(quiet[0])
            logging.getLogger("mlflow").setLevel(quiet[1])
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


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server; dropped afterwards."""
    import sqlalchemy as sa

    name = f"podium_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    """A fresh MariaDB database on the local server; dropped afterwards."""
    import sqlalchemy as sa

    name = f"podium_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(MYSQL_ADMIN)
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
