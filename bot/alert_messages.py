"""The ladder's messages, built from what a check announces: pure functions, no store, no Slack.

One message per person and check: a direct message listing their leads due soon, and one in
the alerts channel listing their breached and escalated leads (new, escalated, or reminded),
each lead with its buttons (`bot.blocks.alerts`). Keys name the kind, the person and the
check's instant, so the same check never records a message twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.blocks.alerts import Alert, alert_message, lead_ref
from bot.blocks.common import clip
from bot.lead_views import LeadView
from models.agreement import Agreement

DUE_SOON, BREACH, STALE = "due_soon", "breach", "stale"
ALERT_KINDS = (DUE_SOON, BREACH)  # the messages that list leads (and are edited)
EVENT_TYPE = "slabot_alert"
LISTED = 100  # leads handed to the builder at most; it shows what fits in 50 blocks
_RANK = {"escalated": 0, "breached": 1, "due_soon": 2}


@dataclass(frozen=True)
class Item:
    """One lead in a message, and why it is there."""

    view: LeadView
    why: str  # "new", "escalated" (newly), or "reminder"
    rerouted: str = ""  # why the owner does not get it ("owner away"), "" when they do
    calls: tuple[str, ...] = ()  # who an escalation mentions


@dataclass(frozen=True)
class Planned:
    """A message the check records for posting, or an edit of one already recorded."""

    key: str
    kind: str  # due_soon, breach, stale, or edit
    channel: str
    payload: dict[str, Any] = field(repr=False)
    leads: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return str(self.payload["text"])

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "channel": self.channel,
            "text": self.text,
            "leads": list(self.leads),
            "mentions": list(self.mentions),
        }


def slot(at: datetime) -> str:
    """The check's instant as keys name it: `2027-03-08T19:00:00Z` (microseconds when any)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _names(items: list[Item]) -> str:
    return clip(", ".join(item.view.external_id for item in items), 400)


def _note(kind: str, items: list[Item]) -> str:
    parts: list[str] = []
    escalated = [item for item in items if item.why == "escalated"]
    reminded = [item for item in items if item.why == "reminder"]
    if kind == DUE_SOON:
        parts.append("Due soon: a first touch now keeps these leads within the agreement.")
    if escalated:
        parts.append(f"Escalated: {_names(escalated)} untouched past the escalation point.")
    if reminded:
        parts.append(f"Reminder: {_names(reminded)} still untouched.")
    rerouted = sorted({item.rerouted for item in items if item.rerouted})
    if rerouted:
        because = " or ".join(rerouted)
        parts.append(
            f"Sent to the team lead ({because}): {_names([i for i in items if i.rerouted])}."
        )
    return clip(" ".join(parts), 1500)


def alert_plan(
    agreement: Agreement, kind: str, recipient: str, items: list[Item], *, at: datetime
) -> Planned:
    """The message of `kind` for `recipient` listing `items`, most urgent first."""
    items = sorted(
        items, key=lambda i: (_RANK.get(i.view.state, 3), i.view.deadline, i.view.lead_id)
    )
    listed = items[:LISTED]
    mentions = tuple(dict.fromkeys(m for item in items for m in item.calls if m != recipient))
    alert = Alert(
        owner=recipient,
        leads=[item.view for item in listed],
        zone=agreement.zone,
        more=len(items) - len(listed),
        note=_note(kind, items),
        mentions=mentions,
    )
    reply = alert_message(alert)
    metadata = {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "kind": kind,
            "owner": recipient,
            "leads": [lead_ref(item.view) for item in listed],
            "more": len(items) - len(listed),
        },
    }
    channel = agreement.channels.alerts if kind == BREACH else recipient
    return Planned(
        key=f"{kind}:{recipient}:{slot(at)}",
        kind=kind,
        channel=channel,
        payload={**reply.as_kwargs(), "metadata": metadata},
        leads=tuple(item.view.external_id for item in items),
        mentions=mentions,
    )


def stale_plan(
    agreement: Agreement, source: str, last_success_at: datetime, last_error: str | None
) -> Planned:
    """The one notice of a stale episode of `source` (keyed by its last successful sync)."""
    since = last_success_at.astimezone(agreement.zone)
    text = (
        f":warning: Data from {source} is stale since {since:%a %d %b %H:%M %Z} (its last "
        f"successful sync); breach alerts for its leads are paused until it syncs again."
    )
    if last_error:
        text += f" Last error: {clip(last_error, 300)}"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"kind": STALE, "source": source}}
    return Planned(
        key=f"{STALE}:{source}:{slot(last_success_at)}",
        kind=STALE,
        channel=agreement.channels.alerts,
        payload={"text": text, "blocks": [section], "metadata": metadata},
    )
