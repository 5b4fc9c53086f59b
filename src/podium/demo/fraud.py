"""fraud-detection: imbalanced classification, a registered model and its @champion.

Logistic-regression baselines and a random-forest grid (each with one config scikit-learn
rejects, so the experiment has real FAILED runs), then a nested gradient-boosting sweep with
per-stage train/eval loss. The best models of each family are logged; one per family is
registered, and the champion alias is set by Podium's own promotion policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.demo.data import Outcome, classification_metrics, commit, frame_datasets, fraud_data, log_loss, serial

if TYPE_CHECKING:
    from podium.demo.seeder import Run, Seeder

EXPERIMENT = "fraud-detection"
#: The registered model the demo creates from fraud-detection runs.
DEMO_MODEL = "fraud-detector"
#: The alias the demo puts on one version of :data:`DEMO_MODEL`.
CHAMPION_ALIAS = "champion"
#: The demo team's promotion policy: best f1 among runs whose review passed (run tag ``review``).
CHAMPION_CONSTRAINT = "tags.review = 'approved'"

REPO = "https://git.example.com/risk-ml/fraud-models"


def _tags(owner: str, stage: str, purpose: str, source: str, version: str, kind: str = "LOCAL") -> dict:
    return {"team": "risk-ml", "owner": owner, "stage": stage, "purpose": purpose,
            "mlflow.user": owner, "mlflow.source.type": kind, "mlflow.source.name": source,
            "mlflow.source.git.commit": commit(REPO, source, version),
            "mlflow.source.git.repoURL": REPO, "mlflow.source.git.branch": "main"}


def seed(s: Seeder) -> None:
    """Train and log the fraud-detection experiment, register its models, promote the champion."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    name = EXPERIMENT
    exp, clock = s.begin(name, "imbalanced classification", "Card-transaction fraud scoring on an imbalanced synthetic "
                         "set (~3% fraud). Pick models on eval F1 and ROC AUC.", "risk-ml", 10)  # newest: seen first
    Xtr, Xev, ytr, yev = fraud_data()
    inputs = frame_datasets(Xtr, ytr, Xev, yev, "is_fraud", "transactions")

    def scorer(model_factory):
        def fit() -> Outcome:
            model = serial(model_factory().fit(Xtr, ytr))
            return Outcome(classification_metrics(model, Xev, yev), model=model, example=Xev.head(20))
        return fit

    # Logistic regression baselines (one config asks lbfgs for an L1 penalty it cannot do).
    lr_runs = []
    lr_grid = [(c, cw) for cw in ("None", "balanced") for c in (0.001, 0.01, 0.1, 1.0, 10.0)]
    configs = [(c, cw, "l2") for c, cw in s.subset(lr_grid)] + [(1.0, "balanced", "l1")]
    for c, cw, penalty in configs:
        run_name = f"logreg-C{c:g}-{cw.lower()}" + ("-l1" if penalty == "l1" else "")
        params = {"model": "logistic_regression", "C": c, "class_weight": cw, "penalty": penalty,
                  "solver": "lbfgs", "max_iter": 500, "scaler": "standard"}

        def factory(c=c, cw=cw, penalty=penalty):
            kwargs = {"penalty": penalty} if penalty != "l2" else {}
            return make_pipeline(StandardScaler(), LogisticRegression(
                C=c, class_weight=None if cw == "None" else cw, solver="lbfgs", max_iter=500, **kwargs))

        note = ("Baseline: scaled logistic regression. Anything we ship has to beat this."
                if (c, cw, penalty) == (1.0, "balanced", "l2") else None)
        lr_runs.append(s.train(exp, name, run_name, clock, params,
                               _tags("alice", "exploration", "baseline", "train_fraud.py", "lr-v1"),
                               inputs, scorer(factory), note=note))
    lr_models = s.finish(lr_runs, {r.name for r in s.best(lr_runs, "f1", 2)})

    # Random forest grid (one config asks for max_features > 1.0, which scikit-learn rejects).
    rf_grid = [(n, d, cw, leaf) for n in (30, 100) for d in (6, 12, None)
               for cw in ("None", "balanced_subsample") for leaf in (1, 5)]
    rf_runs = []
    for n, d, cw, leaf, mf in [(*g, "sqrt") for g in s.subset(rf_grid)] + [(100, 12, "None", 1, 1.5)]:
        run_name = f"rf-n{n}-d{d or 'full'}-{'bal' if cw != 'None' else 'nobal'}-leaf{leaf}" + (
            f"-mf{mf}" if mf != "sqrt" else "")
        params = {"model": "random_forest", "n_estimators": n, "max_depth": d, "class_weight": cw,
                  "min_samples_leaf": leaf, "max_features": mf, "random_state": 42}

        def factory(n=n, d=d, cw=cw, leaf=leaf, mf=mf):
            return RandomForestClassifier(n_estimators=n, max_depth=d, min_samples_leaf=leaf, max_features=mf,
                                          class_weight=None if cw == "None" else cw, random_state=42, n_jobs=2)

        rf_runs.append(s.train(exp, name, run_name, clock, params,
                               _tags("bob", "exploration", "grid-search", "train_fraud.py", "rf-v2"),
                               inputs, scorer(factory)))
    rf_models = s.finish(rf_runs, {r.name for r in s.best(rf_runs, "f1", 2)})

    # Gradient boosting: a nested sweep (parent run + one child per config), with per-stage
    # train/eval loss histories. One child asks for subsample > 1.0 and fails.
    gb_grid = [(lr, d, sub) for lr in (0.03, 0.1, 0.3) for d in (2, 3) for sub in (1.0, 0.7)]
    gb_configs = s.subset(gb_grid) + [(0.1, 3, 1.5)]
    gb_tags = _tags("carol", "tuning", "hyperparameter-sweep", "sweeps/gbm_sweep.py", "gbm-v3", "JOB")
    parent, _ = s.start(exp, name, "gbm-sweep", clock,
                        {"model": "gradient_boosting", "search": "grid", "n_candidates": len(gb_configs),
                         "n_estimators": 80, "selection_metric": "f1"},
                        gb_tags, inputs,
                        note="Grid sweep over learning rate, depth and subsampling. Children hold "
                             "per-stage train/eval log loss; the parent holds the best child's scores.")
    gb_runs = []
    for lr, d, sub in gb_configs:
        run_name = f"gbm-lr{lr:g}-d{d}-sub{sub:g}"
        params = {"model": "gradient_boosting", "learning_rate": lr, "max_depth": d, "subsample": sub,
                  "n_estimators": 80, "random_state": 42}

        def fit(lr=lr, d=d, sub=sub) -> Outcome:
            model = GradientBoostingClassifier(n_estimators=80, learning_rate=lr, max_depth=d,
                                               subsample=sub, random_state=42).fit(Xtr, ytr)
            metrics = classification_metrics(model, Xev, yev)
            train_loss = [log_loss(ytr, p[:, 1]) for p in model.staged_predict_proba(Xtr)]
            eval_loss = [log_loss(yev, p[:, 1]) for p in model.staged_predict_proba(Xev)]
            return Outcome(metrics, {"train_loss": train_loss, "eval_loss": eval_loss}, model, Xev.head(20))

        gb_runs.append(s.train(exp, name, run_name, clock, params, gb_tags, inputs, fit, parent=parent))
    gb_models = s.finish(gb_runs, {r.name for r in s.best(gb_runs, "f1", 2)})
    s.end_parent(parent, gb_runs, clock, "f1")

    # The champion is the runner-up forest, promoted by policy: the best forest has a logged
    # model but no version and no review yet, so the Champion page has a real challenger.
    register(s, {**lr_models, **rf_models, **gb_models},
             [s.best(lr_runs, "f1", 1), s.best(rf_runs, "f1", 2)[-1:], s.best(gb_runs, "f1", 1)])
    s.report(name)


def register(s: Seeder, model_uris: dict[str, str], picks: list[list[Run]]) -> None:
    """Register one model per family (baseline, candidate, challenger), mark each run's review
    (``approved``/``approved``/``pending``), then promote the best approved run to champion.

    Args:
        s: The seeder; its ``versions`` and ``champion_version`` record what was registered.
        model_uris: ``{run name: models:/ URI}`` of the logged models.
        picks: For each role in order, a list holding the run to register (or empty).
    """
    from mlflow.exceptions import MlflowException

    try:
        s.client.create_registered_model(
            DEMO_MODEL, tags={"team": "risk-ml", "task": "binary-classification"},
            description="Scores card transactions for fraud. Trained in the fraud-detection experiment.")
    except MlflowException as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
    roles = [("baseline", "approved", "Logistic-regression baseline."),
             ("candidate", "approved", "Random forest; validated on the eval set and promoted."),
             ("challenger", "pending", "Gradient boosting from the gbm-sweep; awaiting review.")]
    for (role, validation, text), pick in zip(roles, picks):
        if not pick or pick[0].name not in model_uris:
            continue
        r = pick[0]
        source = model_uris[r.name]
        mv = s.client.create_model_version(
            DEMO_MODEL, source=source, run_id=r.run_id, description=f"{text} Run {r.name}.",
            tags={"role": role, "validation_status": validation, "family": r.name.split("-")[0]},
            model_id=source.removeprefix("models:/"))
        s.client.set_tag(r.run_id, "review", validation)
        s.versions.append(str(mv.version))
    s.champion_version = promote(s.uri)


def promote(uri: str) -> str:
    """Put @champion on a version the way a team would: Podium's own promotion under a policy
    (best f1 among reviewed runs), so the Champion page's history shows a real audit trail.

    Returns:
        The promoted version, or "" when no run qualified.
    """
    from podium import champion

    policy = champion.ChampionPolicy("f1", "max", constraints=CHAMPION_CONSTRAINT)
    ranking = champion.evaluate(uri, [EXPERIMENT], policy, DEMO_MODEL, CHAMPION_ALIAS)
    plan = champion.plan_promotion(uri, ranking, DEMO_MODEL, CHAMPION_ALIAS, user="alice", create_model=False)
    result = champion.apply_promotion(uri, plan)
    return str(result.version) if result.version is not None else ""
