"""``python -m podium champion``: rank, decide, and (with ``--apply``) promote or roll back.

Exit codes: 0 done (or, with ``--check``, the current champion stands under the policy); 3 with
``--check`` when a challenger would replace the champion; 2 on errors (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from podium import champion as ch
from podium import evidence as ev
from podium import store
from podium.analysis import metric_direction
from podium.errors import NotFoundError, PodiumError

EXIT_STANDS, EXIT_REPLACE = 0, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", required=True, help="the MLflow store")
    parser.add_argument("--experiment", action="append", required=True, help="experiment name (repeatable)")
    parser.add_argument("--metric", required=True, help="primary metric, e.g. f1")
    parser.add_argument("--mode", choices=ch.MODES, default=None,
                        help="maximise or minimise the metric (default: min for loss/error/rmse-like names, else max)")
    parser.add_argument("--where", default="", metavar="FILTER", help="constraints in MLflow filter syntax")
    parser.add_argument("--second-metric", default=None, help="tie-breaker metric (then the newer run wins)")
    parser.add_argument("--second-mode", choices=ch.MODES, default=None, help="direction of --second-metric")
    parser.add_argument("--model-name", required=True, help="registered model to promote in")
    parser.add_argument("--alias", default=ch.DEFAULT_ALIAS, help="alias to set (default champion)")
    parser.add_argument("--repeats-by", default=None, metavar="PARAM",
                        help="param that marks repeats of one configuration (e.g. random_state): rank configurations by their mean")
    parser.add_argument("--confidence", type=float, default=None, metavar="LEVEL",
                        help="replace the champion only if better under a one-sided Welch t-test at this level (e.g. 0.95)")
    parser.add_argument("--min-gain", default=None, metavar="GAIN",
                        help="smallest improvement that replaces the champion: 0.01 (metric units) or 2%% (relative)")
    parser.add_argument("--aggregate", choices=ch.AGGREGATES, default="last",
                        help="which value of the metric ranks a run: last (as MLflow shows it), min or max of its history")
    parser.add_argument("--champion-stage", default=None, metavar="STAGE",
                        help="legacy registries: without the alias, the newest version in this stage (e.g. Production) is the champion")
    parser.add_argument("--report", default=None, help="report link or id to record in the audit trail")
    parser.add_argument("--create-model", action="store_true", help="create --model-name when it does not exist")
    parser.add_argument("--check", action="store_true",
                        help="CI gate: print the decision in one line; exit 0 if the champion stands, 3 if a challenger would replace it")
    parser.add_argument("--apply", action="store_true", help="make the change (default: dry run)")
    parser.add_argument("--rollback", action="store_true",
                        help="move the alias back to the previous champion (dry run unless --apply)")
    parser.add_argument("--promoted-by", default=None, help="who promotes, for the audit trail (default: login name)")
    parser.add_argument("--notify-url", default=None, metavar="URL",
                        help="after a promotion or rollback, POST a JSON summary here (Slack-compatible 'text')")


def policy_from_args(args: argparse.Namespace) -> ch.ChampionPolicy:
    mode = args.mode or metric_direction(args.metric)
    second_mode = args.second_mode or (metric_direction(args.second_metric) if args.second_metric else "max")
    return ch.ChampionPolicy(args.metric, mode, args.where, args.second_metric, second_mode, args.repeats_by,
                             args.confidence, args.min_gain, args.aggregate, args.champion_stage)


def _fmt(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return ev.fmt(float(value))
    except (TypeError, ValueError):
        return "missing"


def format_ranking(ranking: ch.Ranking, top: int = 20) -> str:
    """The ranking as plain text lines, run names (and configurations) included."""
    p = ranking.policy
    lines = [f"Policy: {p.describe()}", f"Eligible {'configurations' if p.repeats_by else 'runs'}: {len(ranking.candidates)}; "
                                        f"excluded runs: {len(ranking.excluded)}"]
    for c in ranking.candidates[:top]:
        second = f"  {p.second_metric}={_fmt(c.second_value)}" if p.second_metric else ""
        if p.repeats_by:
            s = c.summary
            spread = f" ± {_fmt(s.std)}  95% CI [{_fmt(s.low)}, {_fmt(s.high)}]" if s.n >= 2 else ""
            lines.append(f"  #{c.rank:<3} {c.config}  n={s.n}  {p.metric}={_fmt(c.value)}{spread}{second}  "
                         f"best run {c.run_name or c.run_id} ({_fmt(c.run_value)}) {c.run_id}")
        else:
            lines.append(f"  #{c.rank:<3} {c.run_name or c.run_id}  {p.metric}={_fmt(c.value)}{second}  [{c.experiment_name}] {c.run_id}")
    if len(ranking.candidates) > top:
        lines.append(f"  … and {len(ranking.candidates) - top} more")
    if ranking.excluded:
        lines.append("Excluded:")
        for e in ranking.excluded[:top]:
            lines.append(f"  {e.run_name or e.run_id}: {e.reason}")
        if len(ranking.excluded) > top:
            lines.append(f"  … and {len(ranking.excluded) - top} more")
    comp = ranking.comparison
    if ranking.champion is None:
        lines.append("Current champion: none")
    elif comp is not None:
        lines.append(f"Current champion: {ch.version_label(comp.champion, ranking.champion_via)} "
                     f"(run {comp.champion_run_name or comp.champion.run_id})")
        for r in comp.rows:
            lines.append(f"  {r.metric:<24} challenger {_fmt(r.challenger):>10}  champion {_fmt(r.champion):>10}  delta {_fmt(r.delta):>10}")
        lines.append(f"  challenger beats champion: {'yes' if comp.challenger_beats else 'no'} ({comp.why})")
    return "\n".join(lines)


def _notify(args, plan, result) -> None:
    if not args.notify_url or not result.changed:
        return
    note = ch.notify_promotion(args.notify_url, plan, result, args.promoted_by)
    print(note.message, file=sys.stdout if note.ok else sys.stderr)


def _rollback(args) -> int:
    plan = ch.plan_rollback(args.tracking_uri, args.model_name, args.alias, args.promoted_by, metric=args.metric)
    print(f"Decision: {plan.decision}")
    return _apply_or_show(args, plan, ch.apply_rollback)


def _apply_or_show(args, plan, apply) -> int:
    """Without --apply, the changes a plan would make; with it, make them and notify."""
    if not args.apply:
        print("Dry run, nothing changed. With --apply this would:")
        for change in plan.changes:
            print(f"  - {change}")
        return 0
    result = apply(args.tracking_uri, plan, args.promoted_by)
    print(result.message)
    _notify(args, plan, result)
    return 0


def run(args: argparse.Namespace) -> int:
    # A tracking server that authenticates us decides who promotes: the user in the URI or
    # MLFLOW_TRACKING_USERNAME, never a name passed beside it.
    authenticated = store.authenticated_user(args.tracking_uri)
    if authenticated:
        args.promoted_by = authenticated
    if args.check and (args.apply or args.rollback):
        raise PodiumError("--check only reads: drop --apply and --rollback.")
    if args.notify_url:
        from podium import notify

        notify.check_url(args.notify_url)
    if args.rollback:
        return _rollback(args)
    policy = policy_from_args(args)
    ch.constraint_clauses(policy.constraints)
    if not args.create_model and not args.check and not store.registered_model_exists(args.tracking_uri, args.model_name):
        raise NotFoundError(f"No registered model named {args.model_name!r} (pass --create-model to create it).")
    ranking = ch.evaluate(args.tracking_uri, args.experiment, policy, args.model_name, args.alias)
    plan = ch.plan_promotion(args.tracking_uri, ranking, args.model_name, args.alias, user=args.promoted_by,
                             report=args.report, create_model=True if args.check else args.create_model)
    if args.check:
        print(plan.check_line())
        return EXIT_REPLACE if plan.changes_anything else EXIT_STANDS
    print(format_ranking(ranking))
    print(f"Decision: {plan.decision}")
    if not plan.changes_anything:
        return 0
    return _apply_or_show(args, plan, ch.apply_promotion)
