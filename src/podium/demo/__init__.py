"""Seed an MLflow store with a demo of real scikit-learn training runs.

``python -m podium demo --tracking-uri URI [--force] [--scale F]`` trains real models on data
that ships with scikit-learn or is generated from a fixed seed (nothing is downloaded), and logs
them the way a team would: params, final metrics, metric histories with steps, team and git-like
source tags, datasets, models with signatures, nested sweeps, a few genuinely FAILED runs and a
registered model with a ``champion`` alias.

Every run draws its data and its randomness from its own configuration, never from a shared
random stream, so a run gives the same params and metrics whichever other runs are seeded with
it (``scale`` < 1 seeds a subset of the grids). Only timings (:data:`NONDETERMINISTIC_METRICS`,
start and end times) differ between two seeds.

The demo needs scikit-learn and skops: the optional ``demo`` extra (``requirements-demo.txt``),
which ``make run`` and ``make test`` install. Importing this package does not import them.

Modules: :mod:`.cli` (the subcommand), :mod:`.seeder` (:func:`seed_demo` and the generic
writer), one module per scenario (:mod:`.fraud`, :mod:`.houses`, :mod:`.wine`) and
:mod:`.data` (data sets and scores, pure functions of fixed seeds).
"""

from __future__ import annotations

from podium.demo.cli import add_arguments, run
from podium.demo.data import NONDETERMINISTIC_METRICS
from podium.demo.fraud import CHAMPION_ALIAS, CHAMPION_CONSTRAINT, DEMO_MODEL
from podium.demo.fraud import EXPERIMENT as FRAUD_EXPERIMENT
from podium.demo.houses import EXPERIMENT as HOUSE_EXPERIMENT
from podium.demo.seeder import DEMO_EXPERIMENTS, DemoSummary, seed_demo
from podium.demo.seeder import artifact_root as _artifact_root
from podium.demo.wine import EXPERIMENT as WINE_EXPERIMENT

__all__ = [
    "CHAMPION_ALIAS", "CHAMPION_CONSTRAINT", "DEMO_EXPERIMENTS", "DEMO_MODEL", "FRAUD_EXPERIMENT",
    "HOUSE_EXPERIMENT", "NONDETERMINISTIC_METRICS", "WINE_EXPERIMENT", "DemoSummary", "add_arguments",
    "run", "seed_demo",
]
