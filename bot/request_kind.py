"""What a Slack request is, as a short bounded label for metrics and logs."""

from __future__ import annotations

from typing import Any

# The /sla words; anything else is counted as `other` so metric labels stay bounded.
SLA_WORDS = frozenset(
    {
        "help", "status", "leads", "plan", "agreement", "wins", "kudos", "log", "ack",
        "snooze", "away", "report",
    }
)  # fmt: skip


def request_kind(body: dict[str, Any]) -> str:
    """`command:status`, `action:lead_contacted`, `view:edit_targets`, `event:app_home_opened`…"""
    if "command" in body:
        words = str(body.get("text") or "").split()
        word = words[0].lower() if words else "help"
        return f"command:{word if word in SLA_WORDS else 'other'}"
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"action:{actions[0].get('action_id', 'unknown')}"
    if kind in ("view_submission", "view_closed"):
        return f"view:{(body.get('view') or {}).get('callback_id', 'unknown')}"
    if kind == "event_callback":
        return f"event:{(body.get('event') or {}).get('type', 'unknown')}"
    return str(kind or "unknown")
