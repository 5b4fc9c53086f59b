"""wine-small-data: how much scores move with the random seed on a tiny data set.

Three model families with fixed hyperparameters, each a parent run with one child per seed
(split and model both seeded); the parent holds the mean, spread and range over its children.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from podium.demo.data import Outcome, commit, datasets, multiclass_metrics, wine_data

if TYPE_CHECKING:
    from podium.demo.seeder import Run, Seeder

EXPERIMENT = "wine-small-data"
REPO = "https://git.example.com/research/small-data"
#: Seeds per family in the full demo; a smaller scale keeps at least two.
SEEDS = 25


def _families() -> list[tuple]:
    """(run-name family, params.model as the other experiments spell it, hyperparameters, model)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return [
        ("logreg", "logistic_regression", {"C": 1.0},
         lambda s: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))),
        ("random-forest", "random_forest", {"n_estimators": 40},
         lambda s: RandomForestClassifier(n_estimators=40, random_state=s, n_jobs=1)),
        ("svc", "svc", {"C": 1.0, "kernel": "rbf"}, lambda s: make_pipeline(StandardScaler(), SVC(C=1.0, kernel="rbf"))),
    ]


def seed(s: Seeder) -> None:
    """Train and log the wine-small-data experiment: one nested seed study per family."""
    import mlflow.data
    from sklearn.model_selection import train_test_split

    name = EXPERIMENT
    exp, clock = s.begin(name, "repeated seeds on 178 samples", "How much do scores move with the random seed on a tiny "
                         "data set? Same config, seeds 0..24: read the spread, not the best run.", "research", 0)
    X, y = wine_data()
    seeds = list(range(max(2, math.ceil(SEEDS * s.scale))))
    for family, model_name, hyper, factory in _families():
        tags = {"team": "research", "owner": "farah", "stage": "study", "purpose": "seed-variance",
                "mlflow.user": "farah", "mlflow.source.type": "LOCAL", "mlflow.source.name": "seed_study.py",
                "mlflow.source.git.commit": commit(REPO, family), "mlflow.source.git.repoURL": REPO,
                "mlflow.source.git.branch": "main"}
        base = {"model": model_name, **hyper, "test_size": 0.3}
        parent, _ = s.start(exp, name, f"seed-study-{family}", clock, {**base, "n_seeds": len(seeds)}, tags, [],
                            note=f"{family} with fixed hyperparameters over {len(seeds)} seeds; "
                                 "children hold one seed each, the parent the mean and spread.")
        runs = []
        for seed_ in seeds:
            Xtr, Xev, ytr, yev = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed_)
            inputs = datasets(
                mlflow.data.from_numpy(Xtr.to_numpy(), targets=ytr.to_numpy(), name="wine-train"),
                mlflow.data.from_numpy(Xev.to_numpy(), targets=yev.to_numpy(), name="wine-eval"),
            )

            def fit(seed_=seed_, Xtr=Xtr, Xev=Xev, ytr=ytr, yev=yev, factory=factory) -> Outcome:
                return Outcome(multiclass_metrics(factory(seed_).fit(Xtr, ytr), Xtr, Xev, ytr, yev))

            runs.append(s.train(exp, name, f"{family}-seed{seed_:02d}", clock, {**base, "seed": seed_},
                                tags, inputs, fit, parent=parent))
        s.finish(runs)
        _summarise(s, parent, runs)
    s.report(name)


def _summarise(s: Seeder, parent: str, runs: list[Run]) -> None:
    """End a seed study's parent with the mean, sample std, min and max of its children's scores."""
    import numpy as np
    from mlflow.entities import Metric

    end = max(r.end_ms for r in runs)
    done = [r.outcome.metrics for r in runs if r.outcome]
    summary = []
    for key in ("accuracy", "f1_macro"):
        values = np.array([m[key] for m in done])
        summary += [Metric(f"{key}_mean", float(values.mean()), end, 0),
                    Metric(f"{key}_std", float(values.std(ddof=1)), end, 0),
                    Metric(f"{key}_min", float(values.min()), end, 0),
                    Metric(f"{key}_max", float(values.max()), end, 0)]
    s.client.log_batch(parent, metrics=summary)
    s.client.set_terminated(parent, "FINISHED", end_time=end)
