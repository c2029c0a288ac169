"""Who may change what through `/sla`: every changing command x admin, team lead, owner, member.

A refusal is ephemeral, says who may, and leaves the store as it was.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions import reassign
from models.agreement_loader import parse_agreement
from models.db import session_scope
from models.tables import MetricValue
from tests.utils.agreements import edited_example
from tests.utils.commands import (
    ADMIN,
    MEMBER,
    OWNER,
    TEAM_LEAD,
    count,
    lead_row,
    seed,
    state_row,
)
from tests.utils.slack_bot import SlackBot

ROLES = {"admin": ADMIN, "team lead": TEAM_LEAD, "lead owner": OWNER, "member": MEMBER}
LEAD_REFUSAL = (
    f"Only the lead's owner or a team lead (<@{OWNER}>, <@U01MKTLEAD>, <@U01SALESLEAD> or "
    "<@U01CSLEAD>) may change this lead."
)
# churned_customers belongs to customer_success, whose lead is TEAM_LEAD.
LOG_REFUSAL = (
    "Only the customer_success lead or an admin (<@U01CSLEAD>, <@U01MKTLEAD> or "
    "<@U01SALESLEAD>) may log churned_customers."
)
MATRIX = {
    # command: (roles allowed, refusal)
    "log churned_customers 2": ({"admin", "team lead"}, LOG_REFUSAL),
    "ack A": ({"admin", "team lead", "lead owner"}, LEAD_REFUSAL),
    "snooze A 2h": ({"admin", "team lead", "lead owner"}, LEAD_REFUSAL),
}


async def written(engine: AsyncEngine, command: str) -> bool:
    """Whether the command's change is in the store."""
    if command.startswith("log"):
        return await count(engine, MetricValue) == 1
    if command.startswith("ack"):
        return (await lead_row(engine, "A")).first_touch_at is not None
    return (await state_row(engine, "A")).snoozed_until is not None


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("command", list(MATRIX))
async def test_who_may_change_what(
    slack_bot: SlackBot, engine: AsyncEngine, command: str, role: str
) -> None:
    await seed(engine)
    allowed, refusal = MATRIX[command]
    sent = await slack_bot.command(command, user=ROLES[role])
    [reply] = await slack_bot.replies(sent)
    assert reply["response_type"] == "ephemeral"
    if role in allowed:
        assert reply["text"] != refusal
        assert await written(engine, command)
    else:
        assert reply["text"] == refusal
        assert not await written(engine, command)


async def test_a_lead_reassigned_to_someone_is_theirs_to_act_on(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    async with session_scope(engine) as session:
        await reassign(session, lead="A", to=MEMBER, by=ADMIN, at=slack_bot.at)
    sent = await slack_bot.command("ack A", user=MEMBER)
    [reply] = await slack_bot.replies(sent)
    assert reply["text"] == f"A: first touch recorded by <@{MEMBER}>."


async def test_the_people_a_rule_escalates_to_may_act(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    agreement = parse_agreement(
        edited_example(("escalate_to: [U01SALESLEAD]", "escalate_to: [U0NIGHTDESK]"))
    )
    await seed(engine, agreement=agreement)
    sent = await slack_bot.command("snooze A 1h", user="U0NIGHTDESK")
    [reply] = await slack_bot.replies(sent)
    assert reply["text"].startswith("A: alerts snoozed until")
