"""A steady check computes deadlines only for stage entries changed since its watermark, and
never misses one: a new entry, one stored at the watermark's instant, a re-sync with an older
`at`, or one a sync still in flight stamped before the check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.check import refresh_all_deadlines
from bot.clock import BusinessClock
from bot.followup import rule_times
from models.db import session_scope
from models.ingest import LeadStageRecord, upsert_leads
from models.tables import FollowupCursor, FollowupState, Lead, LeadStage
from tests.utils.store import example, local, mql, store_agreement

CHECKED = local("2027-03-10 12:00")


async def sync(engine: AsyncEngine, rows: list[LeadStageRecord], at: datetime) -> None:
    async with session_scope(engine) as session:
        await upsert_leads(session=session, source="sheet", rows=rows, at=at)


async def refresh(engine: AsyncEngine, at: datetime) -> int:
    """The deadline part of a check; returns how many hand-offs got a deadline computed."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        done = await refresh_all_deadlines(session, example(), at=at)
        await session.commit()
    return done


async def hand_offs(engine: AsyncEngine) -> dict[str, tuple[datetime, datetime]]:
    """Lead -> (hand-off, deadline) as kept in `followup_state`."""
    async with AsyncSession(engine) as session:
        rows = (
            await session.exec(
                select(Lead.external_id, FollowupState.handed_off_at, FollowupState.deadline).join(
                    Lead, col(Lead.id) == col(FollowupState.lead_id)
                )
            )
        ).all()
    return {lead: (handed_off_at, deadline) for lead, handed_off_at, deadline in rows}


def deadline(handoff: str) -> datetime:
    agreement = example()
    return rule_times(BusinessClock.of(agreement), agreement.followup[0], local(handoff)).deadline


async def test_a_steady_check_looks_only_at_changed_entries(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    synced = local("2027-03-08 09:00")
    await sync(engine, [mql(f"L{i}", "2027-03-08 10:00") for i in range(20)], at=synced)
    assert await refresh(engine, CHECKED) == 20
    async with AsyncSession(engine) as session:
        (cursor,) = (await session.exec(select(FollowupCursor))).all()
    assert (cursor.rule, cursor.stage, cursor.changed_since) == ("mql-first-touch", "mqls", synced)
    assert await refresh(engine, CHECKED + timedelta(minutes=5)) == 0
    await sync(engine, [mql("NEW", "2027-03-09 10:00")], at=local("2027-03-10 12:01"))
    assert await refresh(engine, CHECKED + timedelta(minutes=10)) == 1
    assert (await hand_offs(engine))["NEW"] == (
        local("2027-03-09 10:00"),
        deadline("2027-03-09 10:00"),
    )


async def test_an_entry_stored_at_the_watermark_instant_is_picked_up(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    synced = local("2027-03-08 09:00")
    await sync(engine, [mql("A", "2027-03-08 10:00")], at=synced)
    await refresh(engine, CHECKED)
    await sync(engine, [mql("B", "2027-03-08 11:00")], at=synced)  # the same instant
    assert await refresh(engine, CHECKED + timedelta(minutes=5)) == 1
    assert set(await hand_offs(engine)) == {"A", "B"}


async def test_a_re_sync_with_an_older_instant_is_picked_up(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00")], at=local("2027-03-08 09:00"))
    await refresh(engine, CHECKED)
    # A source re-read with an earlier `at`: A's hand-off moved earlier, C is new.
    older = local("2027-02-01 09:00")
    await sync(engine, [mql("A", "2027-03-05 10:00"), mql("C", "2027-03-01 10:00")], at=older)
    assert await refresh(engine, CHECKED + timedelta(minutes=5)) == 2
    kept = await hand_offs(engine)
    assert kept["A"] == (local("2027-03-05 10:00"), deadline("2027-03-05 10:00"))
    assert kept["C"] == (local("2027-03-01 10:00"), deadline("2027-03-01 10:00"))


async def test_an_entry_a_sync_in_flight_stamped_before_the_check(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00")], at=CHECKED - timedelta(minutes=1))
    await refresh(engine, CHECKED)
    # Committed after that check by a sync that began 30 minutes before it.
    async with session_scope(engine) as session:
        await session.exec(
            insert(Lead).values(source="sheet", external_id="LATE", updated_at=CHECKED)
        )
        (lead_id,) = (await session.exec(select(Lead.id).where(Lead.external_id == "LATE"))).all()
        await session.exec(
            insert(LeadStage).values(
                lead_id=lead_id,
                stage="mqls",
                entered_at=local("2027-03-09 10:00"),
                changed_at=CHECKED - timedelta(minutes=30),
            )
        )
    assert await refresh(engine, CHECKED + timedelta(minutes=5)) == 1
    assert "LATE" in await hand_offs(engine)


async def test_a_changed_rule_or_stage_looks_at_every_entry_again(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00")], at=datetime(2027, 1, 1, tzinfo=UTC))
    await sync(engine, [mql("B", "2027-03-08 10:00")], at=datetime(2027, 1, 2, tzinfo=UTC))
    assert await refresh(engine, CHECKED) == 2
    async with session_scope(engine) as session:  # every deadline stale, the cursor unchanged
        await session.exec(
            FollowupState.__table__.update().values(rule_key="old")  # type: ignore[attr-defined]
        )
    assert await refresh(engine, CHECKED + timedelta(minutes=5)) == 1  # B, at the watermark
    async with session_scope(engine) as session:
        cursor = await session.get(FollowupCursor, "mql-first-touch")
        assert cursor is not None
        cursor.stage = "leads"  # as if the rule had been on another stage
        session.add(cursor)
    assert await refresh(engine, CHECKED + timedelta(minutes=10)) == 1  # A, found by a full look
    async with session_scope(engine) as session:
        cursor = await session.get(FollowupCursor, "mql-first-touch")
        assert cursor is not None
        cursor.rule_key = "something else"  # as if the rule's business hours had changed
        session.add(cursor)
    assert await refresh(engine, CHECKED + timedelta(minutes=15)) == 0  # looked: all right
    assert set(await hand_offs(engine)) == {"A", "B"}


async def test_two_checks_refreshing_the_same_entries_at_once_both_succeed(
    database_url: str, engine: AsyncEngine
) -> None:
    from asyncio import gather

    from models.db import create_engine

    await store_agreement(engine)
    await sync(engine, [mql(f"L-{n}", "2027-03-08 09:00") for n in range(300)], CHECKED)
    other = create_engine(database_url)
    try:
        done = await gather(refresh(engine, CHECKED), refresh(other, CHECKED))
    finally:
        await other.dispose()
    assert sum(done) >= 300  # each looked at them; neither failed on the other's rows
    assert len(await hand_offs(engine)) == 300
