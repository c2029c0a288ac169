"""`/sla leads`: open leads by nearest deadline, cut with "…and N more" (counted in SQL)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.blocks.common import Reply, context, section
from bot.blocks.figures import badge
from bot.blocks.listing import listed, owner_text
from bot.humanize import span
from bot.lead_list import LeadList, OpenLead

TITLES = {
    "all": "Open leads",
    "mine": "Your open leads",
    "breached": "Leads past their deadline",
    "due": "Leads due soon",
}
EMPTY = {
    "all": "No lead is waiting for a first touch. :tada:",
    "mine": "None of your leads is waiting for a first touch. :tada:",
    "breached": "No lead is past its deadline. :tada:",
    "due": "No lead is due soon.",
}


def lead_line(lead: OpenLead, zone: ZoneInfo) -> str:
    return (
        f"`{lead.lead}` {badge(lead.state)} · {owner_text(lead.owner)} · "
        f"deadline {lead.deadline.astimezone(zone):%a %d %b %H:%M} · "
        f"waited {span(lead.waited)} business time · {lead.rule}"
    )


def leads_reply(found: LeadList, zone: ZoneInfo) -> Reply:
    """The leads, nearest deadline first; how many in all; the way to act on one."""
    title = TITLES[found.which]
    if not found.total:
        message = EMPTY[found.which]
        return Reply(message, [section(message)])
    lines = [lead_line(lead, zone) for lead in found.leads]
    text = f"{title}: {found.total}, nearest deadline first."
    return Reply(
        text,
        [
            section(f"*{title}: {found.total:,}*, nearest deadline first"),
            section(listed(lines, found.hidden)),
            context("Touched one? `/sla ack LEAD`. Need time? `/sla snooze LEAD 4h`."),
        ],
    )
