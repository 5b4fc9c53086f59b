"""house-prices: regression across model families, with per-stage and per-epoch histories.

Linear models over an alpha grid (one Lasso asks for a negative alpha and fails), k-nearest
neighbours (one asks for more neighbours than there are rows), forests, gradient boosting with
per-stage train/eval RMSE, and a small neural net trained epoch by epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from podium.demo.data import Outcome, commit, frame_datasets, house_data, regression_metrics, rmse, serial, train_mlp

if TYPE_CHECKING:
    from podium.demo.seeder import Seeder

EXPERIMENT = "house-prices"
REPO = "https://git.example.com/pricing/house-prices"


def _tags(owner: str, purpose: str, version: str) -> dict:
    return {"team": "pricing", "owner": owner, "stage": "exploration", "purpose": purpose,
            "mlflow.user": owner, "mlflow.source.type": "LOCAL", "mlflow.source.name": "train.py",
            "mlflow.source.git.commit": commit(REPO, version),
            "mlflow.source.git.repoURL": REPO, "mlflow.source.git.branch": "main"}


def _configs(s: Seeder) -> list[tuple[str, dict, Callable, str, bool]]:
    """(run name, params, estimator factory, owner, staged history?) of every estimator run."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import ElasticNet, Lasso, Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def scaled(est):
        return lambda: make_pipeline(StandardScaler(), est())

    configs: list[tuple[str, dict, Callable, str, bool]] = []
    for a in s.subset([0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]):
        configs.append((f"ridge-a{a:g}", {"model": "ridge", "alpha": a}, scaled(lambda a=a: Ridge(alpha=a)), "dmitri", False))
    for a in s.subset([0.1, 1.0, 10.0, 100.0]) + [-1.0]:
        configs.append((f"lasso-a{a:g}", {"model": "lasso", "alpha": a},
                        scaled(lambda a=a: Lasso(alpha=a, max_iter=5000)), "dmitri", False))
    for a, l1 in s.subset([(a, l1) for a in (0.1, 1.0) for l1 in (0.2, 0.5, 0.8)]):
        configs.append((f"enet-a{a:g}-l1r{l1:g}", {"model": "elastic_net", "alpha": a, "l1_ratio": l1},
                        scaled(lambda a=a, l1=l1: ElasticNet(alpha=a, l1_ratio=l1, max_iter=5000)), "dmitri", False))
    for k, w in s.subset([(k, w) for k in (3, 5, 10, 20) for w in ("uniform", "distance")]) + [(5000, "uniform")]:
        configs.append((f"knn-k{k}-{w}", {"model": "knn", "n_neighbors": k, "weights": w},
                        scaled(lambda k=k, w=w: KNeighborsRegressor(n_neighbors=k, weights=w)), "erin", False))
    for n, d, mf in s.subset([(n, d, mf) for n in (50, 100) for d in (8, None) for mf in (1.0, 0.5)]):
        configs.append((f"rf-n{n}-d{d or 'full'}-mf{mf:g}",
                        {"model": "random_forest", "n_estimators": n, "max_depth": d, "max_features": mf, "random_state": 7},
                        lambda n=n, d=d, mf=mf: RandomForestRegressor(n_estimators=n, max_depth=d, max_features=mf,
                                                                      random_state=7, n_jobs=2), "erin", False))
    for lr, d in s.subset([(lr, d) for lr in (0.05, 0.1) for d in (2, 3, 4)]):
        configs.append((f"gbm-lr{lr:g}-d{d}",
                        {"model": "gradient_boosting", "learning_rate": lr, "max_depth": d, "n_estimators": 150, "random_state": 7},
                        lambda lr=lr, d=d: GradientBoostingRegressor(n_estimators=150, learning_rate=lr, max_depth=d,
                                                                     random_state=7), "erin", True))
    return configs


def seed(s: Seeder) -> None:
    """Train and log the house-prices experiment; log models for the two best runs by RMSE."""
    name = EXPERIMENT
    exp, clock = s.begin(name, "regression", "Sale price (k$) from house features on a generated market. "
                         "Lower RMSE is better.", "pricing", 4)
    Xtr, Xev, ytr, yev = house_data()
    inputs = frame_datasets(Xtr, ytr, Xev, yev, "price_k", "houses")

    runs = []
    for run_name, params, factory, owner, staged in _configs(s):
        def fit(factory=factory, staged=staged) -> Outcome:
            model = serial(factory().fit(Xtr, ytr))
            history = {}
            if staged:
                history = {"train_rmse": [rmse(ytr, p) for p in model.staged_predict(Xtr)],
                           "eval_rmse": [rmse(yev, p) for p in model.staged_predict(Xev)]}
            return Outcome(regression_metrics(model, Xev, yev), history, model, Xev.head(20))

        purpose = "model-family-comparison" if params["model"] != "gradient_boosting" else "boosting-tuning"
        note = ("Boosted trees with per-stage train/eval RMSE; watch for the eval curve flattening."
                if run_name == "gbm-lr0.1-d3" else None)
        runs.append(s.train(exp, name, run_name, clock, params, _tags(owner, purpose, params["model"]),
                            inputs, fit, note=note))

    # A small neural net trained epoch by epoch: train loss and eval RMSE per epoch.
    for hidden, lr in s.subset([(h, lr) for h in ((32,), (64, 32)) for lr in (0.001, 0.01)]):
        run_name = f"mlp-{'x'.join(map(str, hidden))}-lr{lr:g}"
        params = {"model": "mlp", "hidden_layer_sizes": hidden, "learning_rate_init": lr,
                  "epochs": 40, "alpha": 0.0001, "random_state": 7}

        def fit(hidden=hidden, lr=lr) -> Outcome:
            return train_mlp(Xtr, Xev, ytr, yev, hidden, lr, epochs=40)

        runs.append(s.train(exp, name, run_name, clock, params, _tags("erin", "neural-baseline", "mlp"), inputs, fit))
    s.finish(runs, {r.name for r in s.best(runs, "rmse", 2, higher=False)})
    s.report(name)
