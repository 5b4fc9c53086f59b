"""Real MLflow stores for tests: the old import names of the harness (``tests/harness/``).

``import stores`` keeps working for every test module, helper and benchmark that uses it; new
code may import from ``harness.databases``, ``harness.processes`` and ``harness.data`` directly.
"""

from __future__ import annotations

from harness.data import (  # noqa: F401
    AWKWARD_EXPERIMENT,
    HOSTILE_NAME,
    SEARCH_EXPERIMENT,
    SECOND_EXPERIMENT,
    file_store_allowed,
    global_mlflow_state,
    populate_awkward,
    populate_file_store,
    populate_search_cases,
)
from harness.databases import (  # noqa: F401
    MYSQL_ADMIN,
    PG_ADMIN,
    fresh_sqlite,
    mysql_database,
    postgres_database,
    sqlite_template,
)
from harness.processes import free_port, healthy_subprocess, mlflow_server  # noqa: F401
