"""A follow-up alert: an owner's leads grouped by state, each open one with its four buttons.

The message carries what is needed to rebuild it from the store after a click: each lead's
rule and id in its block id (`lead/<rule>/<lead id>[/<who reassigned it>]`), the owner and
the number of leads left out in the header's, and the people it calls in (an escalation) in its
note's (`note/<user>/…`). Who reassigned a lead is kept there because the store records only
to whom.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    MESSAGE_BLOCKS,
    Block,
    Reply,
    button,
    clip,
    context,
    header,
    plain,
    section,
)
from bot.humanize import span
from bot.lead_views import LeadView
from models.agreement import REASON_CODES

_ID = re.compile(r"[0-9]{1,18}")

CONTACTED = "lead_contacted"
SNOOZE = "lead_snooze"
NOT_A_FIT = "lead_not_a_fit"
REASSIGN = "lead_reassign"
LEAD_ACTIONS = (CONTACTED, SNOOZE, NOT_A_FIT, REASSIGN)

SNOOZES = {"1h": "1 hour", "4h": "4 hours", "next": "Next business day"}
REASONS = {
    "bad_data": "Bad data",
    "unreachable": "Unreachable",
    "not_a_fit": "Not a fit",
    "duplicate": "Duplicate",
    "other": "Other",
}
assert tuple(REASONS) == REASON_CODES, "a label for every reason code"

GROUPS = (
    ("escalated", ":rotating_light: *Escalated*"),
    ("breached", ":red_circle: *Breached*"),
    ("due_soon", ":large_orange_circle: *Due soon*"),
    ("waiting", ":hourglass_flowing_sand: *Waiting*"),
    ("handled", ":white_check_mark: *Handled*"),
)
_GROUP_OF = {
    "pending": "waiting",
    "snoozed": "waiting",
    "met": "handled",
    "late": "handled",
    "disqualified": "handled",
}


@dataclass(frozen=True)
class Alert:
    """What one alert message lists: whose leads, the leads, and what the store cannot say."""

    owner: str | None  # the Slack user the alert is for
    leads: list[LeadView]
    zone: ZoneInfo  # the agreement's: deadlines are read in its wall clock
    reassigned_by: Mapping[int, str] = field(default_factory=dict)  # lead id -> Slack user
    more: int = 0  # leads of the same alert left out of the message
    note: str = ""  # why the alert is posted (an escalation, a reminder, a rerouting)
    mentions: tuple[str, ...] = ()  # Slack users the alert calls in, besides its owner


@dataclass(frozen=True)
class AlertIds:
    """What a posted alert says about itself: its owner, leads, and leads left out."""

    owner: str | None
    leads: list[tuple[str, int]]
    reassigned_by: dict[int, str]
    more: int
    note: str = ""
    mentions: tuple[str, ...] = ()


def lead_ref(view: LeadView) -> str:
    """How the buttons name a lead: `<rule>/<lead id>`."""
    return f"{view.rule}/{view.lead_id}"


def parse_ref(value: str) -> tuple[str, int] | None:
    """(rule, lead id) from `lead_ref`'s text, or None when it is not one."""
    rule, _, lead = value.partition("/")
    number = _id(lead)
    return (rule, number) if rule and number is not None else None


def _id(text: str) -> int | None:
    """A row id from a value Slack sent back: ASCII digits within a BIGINT, or None (a signed
    request may still carry anything: `²` is a digit to `str.isdigit`, and 20 digits overflow)."""
    return int(text) if _ID.fullmatch(text) else None


def alert_message(alert: Alert) -> Reply:
    """The alert as a Block Kit message within 50 blocks, with its text fallback."""
    open_count = sum(view.is_open for view in alert.leads)
    total = len(alert.leads) + alert.more
    who = f"<@{alert.owner}>" if alert.owner else "the team"
    if open_count:
        title = f"{_leads(open_count)} of {who} need a first touch"
    else:
        title = f"All {_leads(len(alert.leads))} of {who} handled"
    # The header, the intro, the note, and a line saying what was left out.
    room = MESSAGE_BLOCKS - 3 - len(_note(alert))
    body: list[Block] = []
    left_out = alert.more
    for group, heading in GROUPS:
        views = [v for v in alert.leads if _GROUP_OF.get(v.state, v.state) == group]
        for index, view in enumerate(views):
            blocks = _lead_blocks(alert, view)
            cost = len(blocks) + (1 if index == 0 else 0)
            if cost > room:
                left_out += len(views) - index
                break
            if index == 0:
                body.append(section(f"{heading} ({len(views)})"))
            body.extend(blocks)
            room -= cost
    blocks = [
        {**header(_plain_title(open_count, total)), "block_id": _header_id(alert, left_out)},
        context(
            f"Follow-up alert for {who}, nearest deadline first. "
            "Contacted records the first touch; snooze mutes the alerts, not the deadline."
        ),
        *_note(alert),
        *body,
    ]
    if left_out:
        blocks.append(context(f"…and {left_out} more: `/sla leads mine` lists them all."))
    names = ", ".join(v.external_id for v in alert.leads if v.is_open)
    calls = "".join(f"<@{user}> " for user in alert.mentions)
    text = clip(f"{calls}{title}: {names}" if names else f"{calls}{title}", 300)
    return Reply(text, blocks)


def _note(alert: Alert) -> list[Block]:
    if not alert.note and not alert.mentions:
        return []
    calls = " ".join(f"<@{user}>" for user in alert.mentions)
    text = " ".join(part for part in (calls, alert.note) if part)
    return [{**context(text), "block_id": "/".join(("note", *alert.mentions))}]


def _leads(n: int) -> str:
    return f"{n} lead{'s' if n != 1 else ''}"


def _plain_title(open_count: int, total: int) -> str:
    if open_count:
        return f"{_leads(open_count)} waiting for a first touch"
    return f"Every lead handled ({total})"


def _header_id(alert: Alert, left_out: int) -> str:
    return f"alert/{alert.owner or '-'}/{left_out}"


def _lead_blocks(alert: Alert, view: LeadView) -> list[Block]:
    block_id = f"lead/{lead_ref(view)}"
    by = alert.reassigned_by.get(view.lead_id)
    if by and view.reassigned_to:
        block_id += f"/{by}"
    blocks = [section(lead_line(view, alert.zone, by), block_id=block_id)]
    if view.is_open:
        blocks.append(_actions(view))
    return blocks


def lead_line(view: LeadView, zone: ZoneInfo, reassigned_by: str | None = None) -> str:
    """The lead's line: what it is, where it stands, and who did what about it."""
    name = f"*{view.external_id}* · {view.rule}"
    deadline = f"{view.deadline.astimezone(zone):%a %d %b %H:%M}"
    if view.state in ("met", "late"):
        by = f" by <@{view.first_touch_by}>" if view.first_touch_by else ""
        late = " (late)" if view.state == "late" else ""
        line = f"{name}: contacted{by} after {span(view.waited)} business time{late}"
    elif view.state == "disqualified":
        by = f" by <@{view.disqualified_by}>" if view.disqualified_by else ""
        reason = REASONS.get(view.disqualify_reason or "", view.disqualify_reason or "no reason")
        line = f"{name}: not a fit ({reason.lower()}){by}"
    elif view.state == "snoozed" and view.snoozed_until is not None:
        by = f" by <@{view.snoozed_by}>" if view.snoozed_by else ""
        until = f"{view.snoozed_until.astimezone(zone):%a %d %b %H:%M}"
        line = f"{name}: snoozed until {until}{by} · deadline {deadline}"
    elif view.state in ("breached", "escalated"):
        line = f"{name}: untouched for {span(view.waited)} business time · deadline was {deadline}"
    else:
        line = f"{name}: waiting {span(view.waited)} business time · deadline {deadline}"
    if view.reassigned_to:
        by = f" by <@{reassigned_by}>" if reassigned_by else ""
        line += f" · reassigned to <@{view.reassigned_to}>{by}"
    elif view.owner and view.is_open:
        line += f" · owner {_person(view.owner)}"
    return line


def _person(owner: str) -> str:
    return f"<@{owner}>" if owner[:1] in ("U", "W") and "@" not in owner else owner


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value}


def _actions(view: LeadView) -> Block:
    ref = lead_ref(view)
    return {
        "type": "actions",
        "block_id": f"act/{ref}",
        "elements": [
            button("Contacted", CONTACTED, ref, style="primary"),
            {
                "type": "static_select",
                "action_id": SNOOZE,
                "placeholder": plain("Snooze"),
                "options": [_option(label, f"{ref}|{key}") for key, label in SNOOZES.items()],
            },
            {
                "type": "static_select",
                "action_id": NOT_A_FIT,
                "placeholder": plain("Not a fit"),
                "options": [_option(label, f"{ref}|{key}") for key, label in REASONS.items()],
            },
            {"type": "users_select", "action_id": REASSIGN, "placeholder": plain("Reassign")},
        ],
    }


def read_alert(blocks: list[dict[str, Any]]) -> AlertIds | None:
    """What a posted alert's block ids say; None when the blocks are not an alert's."""
    owner: str | None = None
    more = 0
    leads: list[tuple[str, int]] = []
    reassigned_by: dict[int, str] = {}
    note = ""
    mentions: tuple[str, ...] = ()
    found = False
    for block in blocks:
        parts = str(block.get("block_id") or "").split("/")
        if parts[0] == "note" and block.get("elements"):
            mentions = tuple(parts[1:])
            calls = " ".join(f"<@{user}>" for user in mentions)
            note = str(block["elements"][0].get("text") or "").removeprefix(calls).strip()
        elif parts[0] == "alert" and len(parts) == 3:
            found = True
            owner = None if parts[1] == "-" else parts[1]
            more = _id(parts[2]) or 0
        elif parts[0] == "lead" and len(parts) in (3, 4) and (lead := _id(parts[2])) is not None:
            leads.append((parts[1], lead))
            if len(parts) == 4:
                reassigned_by[lead] = parts[3]
    return AlertIds(owner, leads, reassigned_by, more, note, mentions) if found else None
