"""Wins: each won deal, milestone and follow-up streak is found once, and old ones stay quiet."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.celebrations import FoundWin, find_wins, record_wins
from bot.check import run_check
from models.db import session_scope
from models.ingest import DealRecord, upsert_deals
from tests.utils.store import example, local, mql, store_agreement, store_leads

AT = local("2027-03-03 09:00")  # a Wednesday in Chicago


async def _deals(engine: AsyncEngine, *deals: tuple[str, int, str | None]) -> None:
    rows = [
        DealRecord(
            deal_id=deal_id,
            amount=Decimal(amount),
            owner_email="ana@example.com",
            closed_won_at=local(won) if won else None,
        )
        for deal_id, amount, won in deals
    ]
    async with session_scope(engine) as session:
        await upsert_deals(session=session, source="deals", rows=rows, at=AT)


async def _wins(engine: AsyncEngine, at: datetime = AT, *, record: bool = True) -> list[FoundWin]:
    agreement = example()
    async with session_scope(engine) as session:
        found = await find_wins(session, agreement, at=at)
        if record:
            await record_wins(session, found)
    return found


async def test_won_deals_are_found_once_and_old_ones_quietly(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await _deals(
        engine,
        ("D-1", 30000, "2027-02-20 10:00"),  # eleven days before: recorded, not announced
        ("D-2", 60000, "2027-03-01 11:00"),
        ("D-3", 30000, "2027-03-02 16:30"),
        ("D-4", 90000, None),  # open
        ("D-5", 50000, "2027-03-03 12:00"),  # after the instant
    )
    found = [w for w in await _wins(engine) if w.kind == "deal"]
    assert [(w.key, w.announce) for w in found] == [
        ("deal:deals:D-1", False),
        ("deal:deals:D-2", True),
        ("deal:deals:D-3", True),
    ]
    assert [w.share_of_goal for w in found] == [0.025, 0.075, 0.1]
    assert found[1].amount == Decimal(60000) and found[1].user == "ana@example.com"
    assert await _wins(engine) == []  # nothing new the second time


async def test_the_highest_new_milestone_is_announced_and_lower_ones_recorded(
    engine: AsyncEngine,
) -> None:
    await store_agreement(engine)
    await _deals(engine, ("D-1", 400000, "2027-03-01 11:00"))  # 33% of 1.2M
    first = [(w.key, w.announce) for w in await _wins(engine) if w.kind == "milestone"]
    assert first == [("milestone:2027-01-01:revenue:25", True)]
    await _deals(engine, ("D-2", 550000, "2027-03-02 11:00"))  # 79%
    later = [(w.title, w.announce) for w in await _wins(engine) if w.kind == "milestone"]
    assert later == [
        ("50% of the revenue goal reached", False),
        ("75% of the revenue goal reached", True),
    ]


async def test_a_milestone_first_seen_a_week_after_it_was_reached_is_recorded_quietly(
    engine: AsyncEngine,
) -> None:
    """A fresh install (or a long outage) mid-period: old milestones are not news."""
    await store_agreement(engine)
    await _deals(engine, ("D-1", 400000, "2027-02-10 11:00"))  # 33%, three weeks before
    await _deals(engine, ("D-2", 250000, "2027-02-26 11:00"))  # 54%, within the week
    found = [(w.key, w.announce) for w in await _wins(engine) if w.kind == "milestone"]
    assert found == [
        ("milestone:2027-01-01:revenue:25", False),
        ("milestone:2027-01-01:revenue:50", True),
    ]


async def test_three_kept_weeks_in_a_row_make_a_streak_once(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    await store_leads(
        engine,
        [
            mql("L-1", "2027-02-09 09:00", "2027-02-09 10:00"),
            mql("L-2", "2027-02-16 09:00", "2027-02-16 11:00"),
            mql("L-3", "2027-02-23 09:00", "2027-02-23 09:30"),
        ],
    )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await run_check(session, agreement, at=AT)
        await session.commit()
    streaks = [w for w in await _wins(engine) if w.kind == "streak"]
    assert [w.key for w in streaks] == ["streak:2027-01-01:mql-first-touch:2027-W08"]
    assert streaks[0].title == "mql-first-touch: 3 weeks in a row at or above 95%"
    assert [w for w in await _wins(engine) if w.kind == "streak"] == []


async def test_a_late_week_breaks_the_streak(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    await store_leads(
        engine,
        [
            mql("L-1", "2027-02-09 09:00", "2027-02-09 10:00"),
            mql("L-2", "2027-02-16 09:00", "2027-02-17 11:00"),  # a day late
            mql("L-3", "2027-02-23 09:00", "2027-02-23 09:30"),
        ],
    )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await run_check(session, agreement, at=AT)
        await session.commit()
    assert [w for w in await _wins(engine) if w.kind == "streak"] == []


async def test_nothing_before_the_period(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await _deals(engine, ("D-1", 400000, "2026-12-01 11:00"))
    assert await _wins(engine, datetime(2026, 12, 20, tzinfo=UTC)) == []
