"""Tell a team about a promotion: POST a JSON summary to a webhook (Slack-compatible ``text``).

Called after the registry has changed; a failed POST is reported to the caller and never undoes
the promotion. The webhook URL is a secret in many services (Slack's carries a token in its path),
so messages name only its host.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from podium.errors import PodiumError

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class NotifyResult:
    ok: bool
    message: str


def check_url(url: str) -> str:
    """The webhook URL, stripped; raises PodiumError unless it is an http(s) URL with a host."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PodiumError("The notification URL must be an http:// or https:// address.")
    return url


def where(url: str) -> str:
    """The webhook's host (and port), never its path or query, which may hold a token."""
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "the webhook"


def promotion_payload(*, model: str, alias: str, from_version: int | None, to_version: int | None, policy: str,
                      evidence: str, user: str, action: str = "promote", run: str | None = None) -> dict:
    """The JSON body: the facts as fields, plus ``text`` (one Slack-ready line)."""
    moved = f"v{from_version} → v{to_version}" if from_version is not None else f"v{to_version} (first champion)"
    verb = "rolled back" if action == "rollback" else "promoted"
    text = f"{model} @{alias}: {moved}, {verb} by {user}." + (f" {evidence}" if evidence else "")
    return {"text": text, "event": action, "model": model, "alias": alias, "from_version": from_version,
            "to_version": to_version, "run_id": run, "policy": policy, "evidence": evidence, "user": user}


def post(url: str, payload: dict, timeout: float = TIMEOUT_S) -> NotifyResult:
    """POST ``payload`` as JSON; never raises for network or HTTP errors (they become the message)."""
    try:
        url = check_url(url)
    except PodiumError as exc:
        return NotifyResult(False, f"Notification not sent: {exc}")
    body = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "podium"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only, checked)
            status = response.status
    except urllib.error.HTTPError as exc:
        return NotifyResult(False, f"Notification to {where(url)} failed: HTTP {exc.code}. The promotion stands.")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return NotifyResult(False, f"Notification to {where(url)} failed: {reason}. The promotion stands.")
    return NotifyResult(True, f"Notified {where(url)} (HTTP {status}).")
