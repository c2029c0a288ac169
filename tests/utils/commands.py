"""A store for `/sla` tests: the example agreement, leads with deadlines kept, owners in Slack."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.check import refresh_all_deadlines
from models.agreement import Agreement
from models.db import session_scope
from models.ingest import DealRecord, LeadStageRecord, upsert_deals
from models.tables import FollowupState, Lead, Owner
from tests.utils.store import local, mql, store_agreement, store_leads

ADMIN = "U01MKTLEAD"  # an admin and the marketing lead
TEAM_LEAD = "U01CSLEAD"  # the customer success lead, not an admin
OWNER = "U0ANA00001"  # ana@example.com, who owns the leads below
OTHER_OWNER = "U0BEN00001"  # ben@example.com
MEMBER = "U0MEMBER01"  # anyone else
# The bot's instant in these tests: Wednesday 2027-03-03 09:00 in Chicago.
AT = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


async def seed(
    engine: AsyncEngine,
    extra: list[LeadStageRecord] | None = None,
    agreement: Agreement | None = None,
) -> None:
    """The example agreement; at `AT`, ana's leads A (escalated), B (breached) and C (pending),
    ben's D (due soon) and E (touched in time); deadlines kept as the scheduled check keeps them."""
    agreement = await store_agreement(engine, agreement)
    await store_leads(
        engine,
        [
            mql("A", "2027-03-01 10:00"),  # deadline Mon 14:00, escalation Tue 09:00
            mql("B", "2027-03-02 13:30"),  # deadline Wed 08:30, escalation Wed 12:30
            mql("C", "2027-03-03 08:30"),  # warn Wed 11:30, deadline Wed 12:30
            mql("D", "2027-03-02 15:00", owner="ben@example.com"),  # warn 09:00, due 10:00
            mql("E", "2027-03-01 09:00", "2027-03-01 10:00", owner="ben@example.com"),
            *(extra or []),
        ],
    )
    async with session_scope(engine) as session:
        session.add(
            Owner(source="crm", external_id="1", email="ana@example.com", slack_user_id=OWNER)
        )
        session.add(
            Owner(source="crm", external_id="2", email="ben@example.com", slack_user_id=OTHER_OWNER)
        )
        await refresh_all_deadlines(session, agreement, at=AT)


async def store_deal(engine: AsyncEngine, deal: str, amount: int, won: str, owner: str) -> None:
    async with session_scope(engine) as session:
        await upsert_deals(
            session=session,
            source="deals",
            rows=[DealRecord(deal, Decimal(amount), owner_email=owner, closed_won_at=local(won))],
            at=AT,
        )


async def count(engine: AsyncEngine, table: type) -> int:
    async with session_scope(engine) as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


async def lead_row(engine: AsyncEngine, lead: str) -> Lead:
    async with session_scope(engine) as session:
        return (await session.exec(select(Lead).where(col(Lead.external_id) == lead))).one()


async def state_row(engine: AsyncEngine, lead: str) -> FollowupState:
    row = await lead_row(engine, lead)
    async with session_scope(engine) as session:
        found = await session.exec(
            select(FollowupState).where(col(FollowupState.lead_id) == row.id)
        )
        return found.one()
