"""Champion page: the writes (promote, roll back, each behind a ticked confirmation), the
notification after them, and the lineage (chart and trail) the rollback belongs to."""

from __future__ import annotations

import os

import streamlit as st

from app_pages import _state as state
from app_pages._champion_parts import cached_history, clear
from app_pages._state import signed_in_user, team_mode
from podium import champion as ch
from podium.errors import PodiumError
from podium.text import inert

RESULT_KEY = "champion_result"  # [(kind, message)] shown once after a promotion or rollback


def promote(uri: str, ranking: ch.Ranking, model_name: str, alias: str) -> None:
    p1, p2, p3 = st.columns(3)
    signed_in = signed_in_user()
    if signed_in:
        # Team mode: the audit trail records the MLflow user who signed in, not a typed name.
        p1.text_input("Promoted by", value=signed_in, disabled=True, key="champion_user_signed_in",
                      help="The MLflow user you signed in as.")
        user = signed_in
    else:
        user = p1.text_input("Promoted by", value=ch.current_user(), key="champion_user")
    report = p2.text_input("Report link or id (optional)", value=state.logged_report_run(), key="champion_report")
    hook = webhook(p3)
    try:
        plan = ch.plan_promotion(uri, ranking, model_name, alias, user=user.strip() or None, report=report.strip() or None)
    except PodiumError as exc:
        st.error(inert(str(exc)), icon=":material/error:")
        return
    st.markdown(f"**Decision:** {inert(plan.decision)}")
    if not plan.changes_anything:
        return
    st.caption("Dry run: nothing has changed yet. Promoting will:")
    st.code("\n".join(f"• {c}" for c in plan.changes), language=None, wrap_lines=True)
    sure = st.checkbox(f"Yes, change the registry of {inert(model_name)} as listed above", key="champion_confirm")
    if st.button("Promote", key="champion_promote", type="primary", disabled=not sure, icon=":material/trophy:"):
        _apply(uri, lambda: ch.apply_promotion(uri, plan, promoted_by=user.strip() or None), plan, hook, "champion_confirm")


def webhook(where) -> str:
    """The URL to notify after a promotion. A team server POSTs only to the one its operator set
    (``PODIUM_NOTIFY_URL``): a URL typed by a visitor would make the server call any address."""
    if team_mode():
        url = os.environ.get("PODIUM_NOTIFY_URL", "").strip()
        where.caption("Notifications: " + ("sent to the server's webhook." if url else "no webhook set on this server."))
        return url
    return where.text_input("Notify webhook (optional)", key="champion_notify_url", type="password",
                            placeholder="https://hooks.slack.com/…", help="After a promotion, a JSON summary is POSTed here.")


def _apply(uri, write, plan, hook: str, confirm_key: str) -> None:
    try:
        result = write()
    except PodiumError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    notes = [("success", result.message)]
    if hook.strip() and result.changed:
        note = ch.notify_promotion(hook.strip(), plan, result)
        notes.append(("success" if note.ok else "warning", note.message))
    clear()
    st.session_state[RESULT_KEY] = notes
    st.session_state.pop(confirm_key, None)
    st.rerun()


def show_result() -> None:
    for kind, message in st.session_state.pop(RESULT_KEY, None) or []:
        (st.success if kind == "success" else st.warning)(inert(message), icon=":material/check_circle:" if kind == "success" else ":material/warning:")


def lineage(uri: str, model_name: str, alias: str, metric: str) -> None:
    """The champion's metric across promotions (chart), the trail (table), and a rollback."""
    try:
        history = cached_history(uri, model_name)
    except PodiumError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if not history:
        st.caption(f"No promotion of {inert(model_name)} recorded by Podium yet.")
        return
    frame = ch.lineage_frame(history, metric)
    if len(frame) and frame["value"].notna().any():
        st.altair_chart(ch.lineage_chart(frame, metric), key="champion_lineage", width="stretch")
    others = len(history) - len(frame)
    if others:
        st.caption(f"{others} promotion(s) ranked by another metric are in the table only.")
    st.dataframe(ch.history_frame(history), key="champion_history", hide_index=True, width="stretch",
                 column_config={"version": st.column_config.NumberColumn(width="small"),
                                "previous": st.column_config.TextColumn(width="small"),
                                "evidence": st.column_config.TextColumn(width="large"),
                                "policy": st.column_config.TextColumn(width="large")})
    rollback(uri, model_name, alias, metric)


def _who() -> str | None:
    """Who promotes or rolls back: the signed-in user (team mode), else the name typed."""
    return signed_in_user() or (st.session_state.get("champion_user") or "").strip() or None


def rollback(uri: str, model_name: str, alias: str, metric: str) -> None:
    try:
        plan = ch.plan_rollback(uri, model_name, alias, promoted_by=_who(), metric=metric)
    except PodiumError as exc:
        st.caption(inert(str(exc)))
        return
    with st.container(border=True):
        st.markdown(f"**Roll back** @{inert(alias)} from version {plan.from_version} to version {plan.to_version}, "
                    "the champion it replaced. Recorded in the audit trail like a promotion.")
        sure = st.checkbox(f"Yes, move @{inert(alias)} back to version {plan.to_version}", key="champion_rollback_confirm")
        if st.button(f"Roll back to v{plan.to_version}", key="champion_rollback", disabled=not sure, icon=":material/undo:"):
            user = _who()
            hook = os.environ.get("PODIUM_NOTIFY_URL", "").strip() if team_mode() else st.session_state.get("champion_notify_url", "")
            _apply(uri, lambda: ch.apply_rollback(uri, plan, promoted_by=user), plan, hook, "champion_rollback_confirm")
