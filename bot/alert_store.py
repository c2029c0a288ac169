"""What the alert ladder keeps in the store: which leads are due an announcement, and claims.

A lead's `alerted_level` and `alerted_at` (on `followup_state`) say what was last announced
about it and when. A lead is taken into a message by a conditional update of both (`claim`),
in the transaction that records the check's state changes and enqueues the message: two checks
at once, in two processes, cannot both announce it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, or_, text, update
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.status import SourceAge, source_ages
from models.agreement import Agreement
from models.db import id_chunks
from models.tables import FollowupState, Lead

LEVELS = ("due_soon", "breached", "escalated")  # the states that are announced
BREACHES = ("breached", "escalated")  # the states that are reminded
LEAD_SOURCE_KINDS = ("hubspot", "leads_csv")  # the sources whose leads are followed up

STATE: Table = FollowupState.__table__  # type: ignore[attr-defined]
# The transaction lock that makes checks take turns (a 64-bit key of this name).
CHECK_LOCK = int.from_bytes(hashlib.sha256(b"slabot:check").digest()[:8], "big", signed=True)


async def take_turn(session: AsyncSession) -> None:
    """Wait until no other check is running, and hold the turn until this transaction ends.

    Two checks at once would both insert the deadlines of new hand-offs and both announce the
    same leads; in turn, the second sees what the first recorded. PostgreSQL: a transaction
    advisory lock. SQLite: its one write lock, taken by a write that changes nothing.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHECK_LOCK})
    else:
        await connection.execute(update(STATE).where(text("1 = 0")).values(state=STATE.c.state))


@dataclass(frozen=True, slots=True)
class Due:
    """A lead (on one rule) to announce now, and what was last announced about it."""

    lead_id: int
    state: str
    alerted_level: str | None


def _due(remind_before: datetime | None) -> Any:
    """Not announced at its current level yet, or (with `remind_before`) a breach last
    announced at or before `remind_before`: the one condition both the query and the claim use."""
    level, state = STATE.c.alerted_level, STATE.c.state
    condition = or_(level.is_(None), level != state)
    if remind_before is not None:
        reminder = and_(state.in_(BREACHES), STATE.c.alerted_at <= remind_before)
        condition = or_(condition, reminder)
    return and_(state.in_(LEVELS), condition)


async def due_announcements(
    session: AsyncSession,
    *,
    rule: str,
    at: datetime,
    remind_before: datetime | None,
    paused_sources: set[str],
) -> list[Due]:
    """Open leads of `rule` whose state (as `check` just recorded it) is due an announcement,
    nearest deadline first; leads of `paused_sources` are left for later."""
    closed_at = STATE.c.closed_at
    statement = (
        sa_select(STATE.c.lead_id, STATE.c.state, STATE.c.alerted_level)
        .where(
            STATE.c.rule == rule,
            STATE.c.handed_off_at <= at,
            STATE.c.warn_at <= at,
            or_(closed_at.is_(None), closed_at > at),
            _due(remind_before),
        )
        .order_by(STATE.c.deadline, STATE.c.lead_id)
    )
    if paused_sources:
        sources = sa_select(col(Lead.id)).where(col(Lead.source).in_(sorted(paused_sources)))
        statement = statement.where(STATE.c.lead_id.not_in(sources))
    connection = await session.connection()
    rows = (await connection.execute(statement)).all()
    return [Due(lead_id, state, level) for lead_id, state, level in rows]


async def claim(
    session: AsyncSession,
    *,
    rule: str,
    lead_ids: list[int],
    at: datetime,
    remind_before: datetime | None,
) -> set[int]:
    """Mark the leads announced at their current level at `at`; returns those that still were
    due (a check running at the same time may have taken the others)."""
    claimed: set[int] = set()
    connection = await session.connection()
    for chunk in id_chunks(lead_ids):
        statement = (
            update(STATE)
            .where(
                STATE.c.rule == rule,
                STATE.c.lead_id.in_(chunk),
                _due(remind_before),
            )
            .values(alerted_level=STATE.c.state, alerted_at=at)
            .returning(STATE.c.lead_id)
        )
        claimed.update((await connection.execute(statement)).scalars().all())
    return claimed


async def settle(session: AsyncSession, *, rule: str, lead_ids: list[int]) -> set[int]:
    """Forget what was announced about leads that left the alert states (touched, disqualified,
    snoozed); returns those that had been announced, whose messages are to show the outcome.
    A lead snoozed and breached again later is announced anew."""
    settled: set[int] = set()
    connection = await session.connection()
    for chunk in id_chunks(lead_ids):
        statement = (
            update(STATE)
            .where(
                STATE.c.rule == rule,
                STATE.c.lead_id.in_(chunk),
                STATE.c.alerted_level.is_not(None),
            )
            .values(alerted_level=None)
            .returning(STATE.c.lead_id)
        )
        settled.update((await connection.execute(statement)).scalars().all())
    return settled


async def stale_lead_sources(
    session: AsyncSession, agreement: Agreement, *, at: datetime
) -> list[SourceAge]:
    """Sources of leads (HubSpot, leads CSV) whose data is stale at `at`: their leads may have
    been touched without the store knowing, so their breaches would be false. A source that
    never synced has no leads to pause."""
    kinds = {source.name: source.kind for source in agreement.sources}
    return [
        age
        for age in await source_ages(session, agreement, at=at)
        if age.stale and age.last_success_at is not None and kinds[age.name] in LEAD_SOURCE_KINDS
    ]
