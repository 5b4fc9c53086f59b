"""The champion's trail: audit tags, promotion history, lineage chart, rollback.

Every promotion (and rollback) writes ``podium.*`` tags on the version that gets the alias. A
version promoted twice keeps its earlier events in ``podium.events`` (a short JSON list), so the
history shows every move of the alias. :func:`lineage_frame` turns the history into the
champion's metric across promotions and :func:`lineage_chart` draws it; :func:`plan_rollback` /
:func:`apply_rollback` move the alias back to the previous champion, audited like a promotion.
"""

from __future__ import annotations

import getpass
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from podium import store
from podium.errors import NotFoundError, PodiumError

# The audit trail, as tags on the promoted model version.
TAG_BY = "podium.promoted_by"
TAG_AT = "podium.promoted_at"
TAG_ALIAS = "podium.alias"
TAG_POLICY = "podium.policy"
TAG_PREVIOUS = "podium.previous_version"
TAG_DELTAS = "podium.metric_deltas"
TAG_RUN = "podium.run_id"
TAG_REPORT = "podium.report"
TAG_EVIDENCE = "podium.evidence"  # the decision sentence (configurations, means, p, gain)
TAG_STATS = "podium.stats"  # JSON: metric, aggregate, n, mean, std, low, high, run_value
TAG_ACTION = "podium.action"  # "promote" or "rollback"
TAG_EVENTS = "podium.events"  # JSON list of this version's earlier promotions
# Some backends keep model version tag values in a 5,000-character column.
MAX_TAG_VALUE = 5000
_EVENT_KEYS = {"at": TAG_AT, "by": TAG_BY, "action": TAG_ACTION, "previous": TAG_PREVIOUS, "evidence": TAG_EVIDENCE,
               "stats": TAG_STATS, "policy": TAG_POLICY}


def current_user() -> str:
    """The login name of whoever runs Podium (the default 'who' of the audit trail)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


def clip(text: str, limit: int = MAX_TAG_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_tags(version: store.RegistryVersion | None, tags: dict[str, str]) -> dict[str, str]:
    """``tags`` plus ``podium.events``: the version's earlier promotion kept when it is promoted again."""
    out = {k: clip(v) for k, v in tags.items()}
    old = version.tags if version is not None else {}
    if TAG_AT in old:
        try:
            events = json.loads(old.get(TAG_EVENTS) or "[]")
        except ValueError:
            events = []
        events.append({k: old.get(tag, "") for k, tag in _EVENT_KEYS.items()})
        for e in events:
            e["evidence"] = clip(e.get("evidence") or "", 300)
        while events and len(json.dumps(events)) > MAX_TAG_VALUE:
            events.pop(0)
        out[TAG_EVENTS] = json.dumps(events)
    return out


@dataclass(frozen=True)
class PromotionRecord:
    """One past move of the alias (a promotion or a rollback), read back from audit tags."""

    version: int
    run_id: str | None
    promoted_at: str
    promoted_by: str
    alias: str
    previous_version: str
    policy: str
    deltas: dict
    report: str | None
    current: bool
    action: str = "promote"
    evidence: str = ""
    stats: dict = field(default_factory=dict)


def _json(text: str | None, default):
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def promotion_history(tracking_uri: str | None, model_name: str) -> list[PromotionRecord]:
    """Past promotions and rollbacks of ``model_name`` recorded by Podium, newest first."""
    out = []
    for v in store.model_versions(tracking_uri, model_name):
        t = v.tags
        if TAG_AT not in t:
            continue
        alias = t.get(TAG_ALIAS, "")
        deltas = _json(t.get(TAG_DELTAS), {})
        for e in _json(t.get(TAG_EVENTS), []):
            if isinstance(e, dict) and e.get("at"):
                out.append(PromotionRecord(v.version, v.run_id, str(e["at"]), str(e.get("by", "")), alias, str(e.get("previous", "")),
                                           str(e.get("policy", "")), deltas, None, False, str(e.get("action") or "promote"),
                                           str(e.get("evidence", "")), _json(e.get("stats"), {})))
        out.append(PromotionRecord(v.version, v.run_id, t[TAG_AT], t.get(TAG_BY, ""), alias, t.get(TAG_PREVIOUS, ""),
                                   t.get(TAG_POLICY, ""), deltas, t.get(TAG_REPORT), alias in v.aliases,
                                   t.get(TAG_ACTION) or "promote", t.get(TAG_EVIDENCE, ""), _json(t.get(TAG_STATS), {})))
    # The alias holder's record is the latest move even within the same millisecond.
    return sorted(out, key=lambda r: (r.promoted_at, r.current, r.version), reverse=True)


def _policy_text(policy: str) -> str:
    from podium.champion import ChampionPolicy

    try:
        return ChampionPolicy.from_json(policy).describe()
    except Exception:  # a hand-edited tag: show it as it is
        return policy


def history_frame(records: list[PromotionRecord]) -> pd.DataFrame:
    cols = ["when", "version", "action", "alias", "by", "previous", "evidence", "policy", "report", "run_id"]
    rows = [{"when": r.promoted_at, "version": r.version, "action": r.action, "alias": r.alias + (" (current)" if r.current else ""),
             "by": r.promoted_by, "previous": r.previous_version, "evidence": r.evidence, "policy": _policy_text(r.policy),
             "report": r.report, "run_id": r.run_id} for r in records]
    return pd.DataFrame(rows, columns=cols)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def lineage_frame(records: list[PromotionRecord], metric: str | None = None) -> pd.DataFrame:
    """The champion's metric at every promotion, oldest first: version, when, by, action, metric,
    value, interval (``low``/``high`` when the promotion compared repeats), n.

    ``value`` is the recorded configuration mean (``podium.stats``), else the promoted run's value
    from the recorded deltas. With ``metric``, only promotions that ranked by it are kept.
    """
    rows = []
    for r in records:
        stats = r.stats or {}
        name = stats.get("metric") or _json(r.policy, {}).get("metric") or ""
        if metric and name != metric:
            continue
        value = _number(stats.get("mean"))
        if math.isnan(value):
            value = _number((r.deltas.get(name) or {}).get("challenger"))
        rows.append({"when": pd.Timestamp(r.promoted_at) if r.promoted_at else pd.NaT, "version": r.version,
                     "label": f"v{r.version}", "by": r.promoted_by, "action": r.action, "metric": name, "value": value,
                     "low": _number(stats.get("low")), "high": _number(stats.get("high")), "n": int(stats.get("n") or 1),
                     "current": r.current, "evidence": r.evidence})
    cols = ["when", "version", "label", "by", "action", "metric", "value", "low", "high", "n", "current", "evidence"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.sort_values("when", kind="stable").reset_index(drop=True) if len(frame) else frame


def lineage_chart(frame: pd.DataFrame, metric: str):
    """Altair: the champion's ``metric`` at each promotion, in order (one step per promotion, so
    promotions minutes or months apart read alike), the interval as a vertical bar where known;
    tooltips say which version, when and by whom."""
    import altair as alt

    data = frame[frame["value"].map(lambda v: math.isfinite(v))].reset_index(drop=True)
    when = [t.strftime("%Y-%m-%d %H:%M") if isinstance(t, pd.Timestamp) and not pd.isna(t) else "?" for t in data["when"]]
    data = pd.DataFrame({
        "step": [f"{i + 1}. {label}" for i, label in enumerate(data["label"])],
        "label": data["label"], "when": when, "by": data["by"], "action": data["action"], "value": data["value"],
        "low": data["low"].where(data["low"].map(math.isfinite), data["value"]),
        "high": data["high"].where(data["high"].map(math.isfinite), data["value"]),
        "interval": [f"{lo:.4g} – {hi:.4g}" if math.isfinite(lo) and math.isfinite(hi) else "not known"
                     for lo, hi in zip(data["low"], data["high"])],
        "n": data["n"],
    })
    bottom, top = float(data[["low", "value"]].min().min()), float(data[["high", "value"]].max().max())
    pad = (top - bottom) * 0.15 or abs(top) * 0.01 or 1.0
    scale = alt.Scale(domain=[bottom - pad, top + pad], zero=False, nice=False)
    base = alt.Chart(data).encode(x=alt.X("step:N", sort=None, title="promotion", axis=alt.Axis(labelAngle=0)))
    tooltip = [alt.Tooltip("label:N", title="version"), alt.Tooltip("when:N", title="when (UTC)"), alt.Tooltip("by:N"),
               alt.Tooltip("action:N"), alt.Tooltip("value:Q", title=metric, format=".4g"),
               alt.Tooltip("interval:N", title="95% interval"), alt.Tooltip("n:Q", title="runs")]
    y = alt.Y("value:Q", title=metric, scale=scale)
    line = base.mark_line(color="#888", strokeDash=[4, 3]).encode(y=y)
    bars = base.mark_rule(strokeWidth=2, color="#888").encode(y=alt.Y("low:Q", scale=scale), y2="high:Q", tooltip=tooltip)
    points = base.mark_point(filled=True, size=110, opacity=1).encode(
        y=y, color=alt.Color("action:N", scale=alt.Scale(domain=["promote", "rollback"], range=["#1f77b4", "#d62728"]),
                             legend=alt.Legend(title=None, orient="top")), tooltip=tooltip)
    labels = base.mark_text(dx=10, align="left", fontSize=12).encode(y=y, text="by:N")
    return (line + bars + points + labels).properties(height=260)


# --------------------------------------------------------------------------------------------
# Rollback


@dataclass
class RollbackPlan:
    """Moving ``alias`` back from ``from_version`` to ``to_version``; a dry run until applied."""

    model_name: str
    alias: str
    from_version: int
    to_version: int
    run_id: str | None
    tags: dict[str, str]
    changes: list[str]
    decision: str


def plan_rollback(tracking_uri: str | None, model_name: str, alias: str, promoted_by: str | None = None,
                  reason: str = "", metric: str | None = None) -> RollbackPlan:
    """What rolling ``alias`` back to the previous champion would change. Reads only.

    The previous champion is the version the current one replaced (its ``podium.previous_version``).
    When that version carries no recorded statistics, its run's ``metric`` is recorded for the lineage.

    Raises:
        NotFoundError: no version has the alias, or the previous version no longer exists.
        PodiumError: the current champion was not promoted by Podium after another version.
    """
    versions = store.model_versions(tracking_uri, model_name)
    current = next((v for v in versions if alias in v.aliases), None)
    if current is None:
        raise NotFoundError(f"No version of {model_name!r} has the alias @{alias}: nothing to roll back.")
    previous = (current.tags.get(TAG_PREVIOUS) or "").strip()
    if not previous.isdigit():
        raise PodiumError(f"Version {current.version} has no recorded previous champion: nothing to roll back to.")
    target = next((v for v in versions if v.version == int(previous)), None)
    if target is None:
        raise NotFoundError(f"Version {previous} of {model_name!r} no longer exists: cannot roll back to it.")
    evidence = f"Rolled back @{alias} from v{current.version} to v{target.version}" + (f": {reason}" if reason else ".")
    tags = {TAG_BY: promoted_by or current_user(), TAG_AT: "(set when applied)", TAG_ALIAS: alias, TAG_ACTION: "rollback",
            TAG_PREVIOUS: str(current.version), TAG_EVIDENCE: evidence}
    if target.run_id:
        tags[TAG_RUN] = target.run_id
    if metric and target.run_id and TAG_STATS not in target.tags:
        runs = store.get_runs(tracking_uri, [target.run_id])
        value = _number(runs[f"metrics.{metric}"].iloc[0]) if len(runs) and f"metrics.{metric}" in runs else math.nan
        if math.isfinite(value):
            tags[TAG_STATS] = json.dumps({"metric": metric, "n": 1, "mean": value, "run_value": value})
    changes = [f"set alias @{alias} on version {target.version} (from version {current.version})",
               f"write audit tags {', '.join(sorted(tags))} on version {target.version}"]
    return RollbackPlan(model_name, alias, current.version, target.version, target.run_id, tags, changes,
                        f"Roll back: @{alias} goes from version {current.version} back to version {target.version}.")


def apply_rollback(tracking_uri: str | None, plan: RollbackPlan, promoted_by: str | None = None):
    """Move the alias back as planned, tags first (as a promotion). Changes nothing when the alias
    has moved since the plan was made. Returns a :class:`podium.champion.PromotionResult`."""
    from podium.champion import PromotionResult

    with store.promotion_lock(tracking_uri, plan.model_name):
        return _apply_rollback(tracking_uri, plan, promoted_by, PromotionResult)


def _apply_rollback(tracking_uri, plan: RollbackPlan, promoted_by: str | None, PromotionResult):  # noqa: N803
    versions = {v.version: v for v in store.model_versions(tracking_uri, plan.model_name)}
    current = next((v for v in versions.values() if plan.alias in v.aliases), None)
    if current is None or current.version != plan.from_version:
        now = current.version if current else "no version"
        return PromotionResult(current.version if current else None, False, False,
                               f"Nothing changed: @{plan.alias} is on {now}, not on version {plan.from_version} as planned.",
                               previous_version=plan.from_version)
    tags = dict(plan.tags)
    tags[TAG_AT] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    if promoted_by:
        tags[TAG_BY] = promoted_by
    store.set_version_tags(tracking_uri, plan.model_name, plan.to_version, audit_tags(versions.get(plan.to_version), tags))
    store.set_model_alias(tracking_uri, plan.model_name, plan.alias, plan.to_version)
    return PromotionResult(plan.to_version, True, False,
                           f"Version {plan.to_version} of {plan.model_name!r} is @{plan.alias} again (rolled back from version {plan.from_version}).",
                           previous_version=plan.from_version)
