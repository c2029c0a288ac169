"""The breach ladder on a test store: an agreement with quick reminders, leads, owners, checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.alerting import AlertCycle, alert_cycle
from bot.outbox import Delivery, deliver
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_history import dm_channel
from bot.sandbox.slack_messages import Message
from models.agreement import Agreement
from models.db import session_scope
from models.tables import FollowupState, Owner
from tests.utils.outbox import slack_client
from tests.utils.store import example, store_agreement

ALERTS = "C01ALERTS"
ANA, BEN = "U0ANA", "U0BEN"
SALES_LEAD = "U01SALESLEAD"  # the lead of sales, who follows up MQLs; also the escalation


def ladder_agreement(**rule: Any) -> Agreement:
    """The example agreement; its rule escalates after 6h and reminds every hour by default.

    A lead handed off on Monday 08:00 in Chicago is due soon at 11:00, breached at 12:00 and
    escalated at 14:00.
    """
    agreement = example()
    changes = {"escalate_after": "6h", "remind_every": "1h", **rule}
    followup = [agreement.followup[0].model_copy(update=changes)]
    return agreement.model_copy(update={"followup": followup})


async def setup(engine: AsyncEngine, agreement: Agreement) -> None:
    """The agreement stored, and Ana and Ben matched to their CRM emails."""
    await store_agreement(engine, agreement)
    async with session_scope(engine) as session:
        for handle, user in (("ana", ANA), ("ben", BEN)):
            email = f"{handle}@example.com"
            session.add(Owner(source="sheet", external_id=handle, email=email, slack_user_id=user))


async def cycle(
    engine: AsyncEngine,
    fake: FakeSlack,
    agreement: Agreement,
    at: datetime,
    *,
    dry_run: bool = False,
) -> tuple[AlertCycle, Delivery | None]:
    """One check at `at`, then delivery of what it recorded (none in a dry run)."""
    found = await alert_cycle(engine, agreement, at=at, dry_run=dry_run)
    if dry_run:
        return found, None
    return found, await deliver(engine, slack_client(fake), at=at)


def posted(fake: FakeSlack, kind: str | None = None) -> list[Message]:
    """The ladder's messages in the fake workspace (alerts channel and DMs), oldest first."""
    found = [
        message
        for messages in fake.messages.values()
        for message in messages
        if (message.metadata or {}).get("event_type") == "slabot_alert"
        and (kind is None or message.metadata["event_payload"]["kind"] == kind)  # type: ignore[index]
    ]
    return sorted(found, key=lambda m: float(m.ts))


def key_of(message: Message) -> str:
    assert message.metadata is not None
    return str(message.metadata["event_payload"]["key"])


def listed(message: Message) -> list[str]:
    """The lead names a message shows (`*A* · rule: …` lines), in order."""
    return [
        block["text"]["text"].split("*")[1]
        for block in message.blocks
        if str(block.get("block_id") or "").startswith("lead/")
    ]


def dm(user: str) -> str:
    return dm_channel(user)


async def alerted(engine: AsyncEngine) -> dict[int, tuple[str | None, datetime | None]]:
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(FollowupState.lead_id, FollowupState.alerted_level, FollowupState.alerted_at)
        )
        return {lead: (level, at) for lead, level, at in rows.all()}


async def lead_states(engine: AsyncEngine) -> dict[int, str]:
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(FollowupState.lead_id, FollowupState.state).order_by(col(FollowupState.lead_id))
        )
        return dict(rows.all())
