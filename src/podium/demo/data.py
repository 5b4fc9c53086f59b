"""The demo's data and scores: pure functions of fixed seeds (nothing is downloaded).

Every data set comes from a fixed seed or ships with scikit-learn, and every score is computed
the same way on every run, so a run's params and metrics depend on its own configuration only.
The one exception is wall-clock time (:data:`NONDETERMINISTIC_METRICS`).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

#: Metrics that measure wall-clock time and so differ from one seed to the next.
NONDETERMINISTIC_METRICS = frozenset({"predict_latency_ms"})


@dataclass
class Outcome:
    """What a training function gives back for a finished run."""

    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    model: Any = None  # a fitted estimator worth logging, or None
    example: Any = None  # input rows for the model signature


def commit(*parts: str) -> str:
    """A fake but plausible, deterministic git commit hash."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def subset(items: list, scale: float) -> list:
    """An evenly spread ``scale`` fraction of ``items`` (at least one), in order."""
    if scale >= 1 or not items:
        return list(items)
    keep = max(1, math.ceil(len(items) * scale))
    picks = sorted({round(i * len(items) / keep) for i in range(keep)})
    return [items[i] for i in picks if i < len(items)]


def param_value(value: Any) -> str:
    """A param value as MLflow stores it (strings), the same on every platform."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def serial(model):
    """Predict on one thread: forests sum their trees' votes across threads in whatever order
    the threads finish, which changes the last bits of a score from one seed to the next."""
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=1)
    return model


def frame_datasets(Xtr, ytr, Xev, yev, target: str, stem: str) -> list:
    """:func:`datasets` of a train and an eval frame with their target column (``{stem}-train``,
    ``{stem}-eval``)."""
    import mlflow.data

    return datasets(mlflow.data.from_pandas(Xtr.assign(**{target: ytr}), targets=target, name=f"{stem}-train"),
                    mlflow.data.from_pandas(Xev.assign(**{target: yev}), targets=target, name=f"{stem}-eval"))


def datasets(train, evaluation) -> list:
    """MLflow dataset inputs for a train and an eval set, tagged with their context."""
    from mlflow.entities import DatasetInput, InputTag

    return [DatasetInput(train._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")]),
            DatasetInput(evaluation._to_mlflow_entity(), [InputTag("mlflow.data.context", "eval")])]


# --------------------------------------------------------------------------------------------
# Data sets


def fraud_data():
    """Imbalanced transactions (~3% fraud), split 75/25 stratified."""
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=4000, n_features=20, n_informative=8, n_redundant=4,
                               weights=[0.97], flip_y=0.005, class_sep=1.0, random_state=7)
    # Anonymised components, as card-fraud data sets ship them.
    frame = pd.DataFrame(X, columns=[f"v{i:02d}" for i in range(1, 21)])
    return train_test_split(frame, pd.Series(y, name="is_fraud"), test_size=0.25, stratify=y, random_state=7)


def house_data():
    """A generated housing market: prices (k$) from size, age, location and condition, with noise."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(11)
    n = 2000
    sqft = rng.lognormal(7.4, 0.35, n).round()
    bedrooms = np.clip(np.round(sqft / 600 + rng.normal(0, 0.8, n)), 1, 7)
    bathrooms = np.clip(np.round(bedrooms * 0.6 + rng.normal(0, 0.5, n)), 1, 5)
    age = rng.uniform(0, 90, n).round()
    lot_sqft = rng.lognormal(8.6, 0.5, n).round()
    distance_km = rng.gamma(2.0, 6.0, n).round(1)
    school_score = (rng.beta(4, 3, n) * 10).round(1)
    garage = rng.binomial(1, 0.6, n).astype(float)
    condition = rng.integers(1, 6, n).astype(float)
    price = (40 + 0.11 * sqft * (0.7 + 0.06 * school_score) + 12 * bathrooms + 6 * bedrooms
             - 1.6 * age + 0.015 * (age - 45) ** 2  # new and historic homes both sell at a premium
             + 0.9 * np.sqrt(lot_sqft) - 35 * np.log1p(distance_km) + 18 * garage + 9 * condition)
    price = (np.maximum(price, 30) * rng.lognormal(0, 0.12, n)).round(1)
    frame = pd.DataFrame({"sqft": sqft, "bedrooms": bedrooms, "bathrooms": bathrooms, "age": age,
                          "lot_sqft": lot_sqft, "distance_km": distance_km, "school_score": school_score,
                          "garage": garage, "condition": condition})
    return train_test_split(frame, pd.Series(price, name="price_k"), test_size=0.25, random_state=11)


def wine_data():
    """scikit-learn's wine recognition data (178 samples, 3 classes) as float features and target."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True)
    return wine.data.astype("float64"), wine.target


# --------------------------------------------------------------------------------------------
# Scores


def latency_ms(predict, X) -> float:
    """Median wall time of scoring ``X`` (up to 1,000 rows) in milliseconds, over 3 tries."""
    import statistics

    batch = X[:1000]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        predict(batch)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def classification_metrics(model, X, y) -> dict[str, float]:
    """Binary classification scores at a 0.5 threshold, plus the ranking scores and latency."""
    from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, log_loss,
                                 precision_score, recall_score, roc_auc_score)

    proba = model.predict_proba(X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    return {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "roc_auc": roc_auc_score(y, proba),
        "pr_auc": average_precision_score(y, proba),
        "log_loss": log_loss(y, proba, labels=[0, 1]),
        "predict_latency_ms": latency_ms(model.predict_proba, X),
    }


def multiclass_metrics(model, Xtr, Xev, ytr, yev) -> dict[str, float]:
    """Eval accuracy, balanced accuracy and macro F1, and the train accuracy beside them."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    pred = model.predict(Xev)
    return {"accuracy": accuracy_score(yev, pred),
            "balanced_accuracy": balanced_accuracy_score(yev, pred),
            "f1_macro": f1_score(yev, pred, average="macro"),
            "train_accuracy": accuracy_score(ytr, model.predict(Xtr))}


def log_loss(y, proba) -> float:
    """Binary log loss, as scikit-learn computes it, without its per-call validation (80 stages x 13 runs)."""
    import numpy as np

    p = np.clip(np.asarray(proba, dtype=float), np.finfo(float).eps, 1 - np.finfo(float).eps)
    t = np.asarray(y, dtype=float)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))


def rmse(y, pred) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(pred)) ** 2)))


def regression_metrics(model, X, y) -> dict[str, float]:
    """RMSE, MAE and R² on ``X``, and the prediction latency."""
    from sklearn.metrics import mean_absolute_error, r2_score

    pred = model.predict(X)
    return {"rmse": rmse(y, pred), "mae": mean_absolute_error(y, pred), "r2": r2_score(y, pred),
            "predict_latency_ms": latency_ms(model.predict, X)}


def train_mlp(Xtr, Xev, ytr, yev, hidden, lr, epochs: int) -> Outcome:
    """An MLP regressor fitted one epoch at a time on scaled inputs and target."""
    import numpy as np
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    xs = StandardScaler().fit(Xtr)
    mu, sd = float(np.mean(ytr)), float(np.std(ytr))
    A, B = xs.transform(Xtr), xs.transform(Xev)
    target = (np.asarray(ytr) - mu) / sd
    net = MLPRegressor(hidden_layer_sizes=hidden, learning_rate_init=lr, alpha=0.0001, random_state=7)
    train_loss, eval_rmse = [], []
    for _ in range(epochs):
        net.partial_fit(A, target)
        train_loss.append(float(net.loss_))
        eval_rmse.append(rmse(yev, net.predict(B) * sd + mu))

    class _Scored:  # the latency of the whole prediction path, scaling included
        @staticmethod
        def predict(X):
            return net.predict(xs.transform(X)) * sd + mu

    metrics = regression_metrics(_Scored, Xev, yev)
    # Not logged as a model: the scaling lives outside the estimator.
    return Outcome(metrics, {"train_loss": train_loss, "eval_rmse": eval_rmse})
