"""The test harness: real stores of every kind Podium reads, the processes that serve them, and
the rules that mark tests by what they need.

- :mod:`harness.databases`: a fresh SQLite store copied from one migrated template per session,
  fresh PostgreSQL and MariaDB databases (created and dropped), empty or copied from one migrated
  database per session (``migrated=True``).
- :mod:`harness.processes`: free ports, health-checked subprocesses, a real ``mlflow server``
  (without MLflow 3's job runner, which Podium never calls).
- :mod:`harness.data`: the awkward and search-case data sets, written by MLflow's own client.
- :mod:`harness.demo_seeds`: demo stores trained in a background process while other tests run,
  once per run however many xdist workers need them.
- :mod:`harness.parallel`: how ``make test``'s two xdist workers share the modules.
- :mod:`harness.markers`: ``db``, ``server``, ``browser`` and ``slow`` from what a test uses.

``tests/stores.py`` re-exports the factories and data sets under their old names.
"""
