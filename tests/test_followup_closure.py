"""The lead's first touch and closure copied onto `followup_state` stay right after every writer.

`status` and `check` count due, met and open leads from `followup_state` alone; each test here
changes a lead's first touch or disqualification another way (a button, a re-sync) and compares
the SQL figures with the pure engine evaluated on the `lead` table itself.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.actions import acknowledge, disqualify
from bot.check import period_start, run_check
from bot.clock import BusinessClock
from bot.followup import OPEN_STATES, LeadFacts, compliance, evaluate, rule_times
from bot.followup_store import rule_figures
from bot.status import build_status
from models.db import session_scope
from models.ingest import LeadStageRecord, upsert_leads
from models.tables import Lead, LeadStage
from tests.utils.store import example, local, mql, store_agreement

SYNCED = datetime(2027, 1, 1, tzinfo=UTC)


async def sync(engine: AsyncEngine, rows: list[LeadStageRecord], at: datetime = SYNCED) -> None:
    async with session_scope(engine) as session:
        await upsert_leads(session=session, source="sheet", rows=rows, at=at)


async def check(engine: AsyncEngine, at: datetime) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await run_check(session, example(), at=at)
        await session.commit()


async def figures(engine: AsyncEngine, at: datetime) -> tuple[int, int, dict[str, int], int]:
    """(due, met, open by state, breaching within a day) from SQL."""
    agreement = example()
    async with AsyncSession(engine) as session:
        found = await rule_figures(
            session,
            rule=agreement.followup[0].name,
            start=period_start(agreement),
            at=at,
            horizon=at + timedelta(days=1),
        )
    return found.due, found.met, found.open, found.breaching


async def expected(engine: AsyncEngine, at: datetime) -> tuple[int, int, dict[str, int], int]:
    """The same figures from the pure engine over the `lead` table."""
    agreement = example()
    rule = agreement.followup[0]
    clock = BusinessClock.of(agreement)
    async with AsyncSession(engine) as session:
        rows = (
            await session.exec(
                select(Lead, LeadStage.entered_at)
                .join(LeadStage, col(LeadStage.lead_id) == col(Lead.id))
                .where(LeadStage.stage == rule.stage)
            )
        ).all()
    statuses = []
    for lead, entered_at in rows:
        facts = LeadFacts(
            lead.id or 0,
            lead.external_id,
            None,
            entered_at,
            lead.first_touch_at,
            None,
            lead.disqualified_at,
            lead.disqualify_reason,
        )
        status = evaluate(clock, rule, facts, at)
        if status is not None:
            statuses.append(status)
    start = period_start(agreement)
    window = compliance(rule, [s for s in statuses if s.facts.handed_off_at >= start])
    open_ = {name: sum(s.state == name for s in statuses) for name in OPEN_STATES}
    horizon = at + timedelta(days=1)
    breaching = sum(
        s.state in OPEN_STATES
        and at < rule_times(clock, rule, s.facts.handed_off_at).deadline
        and rule_times(clock, rule, s.facts.handed_off_at).deadline <= horizon
        for s in statuses
    )
    return window.due, window.met, open_, breaching


async def test_a_button_touch_shows_in_the_status_counts(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00"), mql("B", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 13:30"))  # the rows exist, both due soon
    async with session_scope(engine) as session:
        await acknowledge(session, lead="A", by="U0REP", at=local("2027-03-08 13:45"))
    at = local("2027-03-08 16:00")
    assert await figures(engine, at) == await expected(engine, at)
    async with AsyncSession(engine) as session:
        report = await build_status(session, example(), at=at)
    (rule,) = report.followup
    assert (rule.compliance.due, rule.compliance.met) == (2, 1)
    assert rule.open["breached"] == 1 and sum(rule.open.values()) == 1
    # Before the touch, as an `--at` in the past: A was still open then.
    before = local("2027-03-08 13:40")
    assert await figures(engine, before) == await expected(engine, before)
    assert sum((await figures(engine, before))[2].values()) == 2


async def test_a_disqualification_by_button_leaves_the_counts(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00"), mql("B", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 11:00"))
    async with session_scope(engine) as session:
        await disqualify(
            session, lead="A", reason="duplicate", by="U0REP", at=local("2027-03-08 12:00")
        )
    at = local("2027-03-08 16:00")
    due, met, open_, _ = await figures(engine, at)
    assert (due, met, sum(open_.values())) == (1, 0, 1)  # A left before its deadline
    assert await figures(engine, at) == await expected(engine, at)


async def test_a_re_sync_setting_and_clearing_the_first_touch(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await sync(engine, [mql("A", "2027-03-08 10:00", "2027-03-08 11:00")])
    await check(engine, local("2027-03-08 12:00"))
    at = local("2027-03-09 12:00")
    assert (await figures(engine, at))[:2] == (1, 1)
    await sync(engine, [mql("A", "2027-03-08 10:00")])  # the source cleared the touch
    assert await figures(engine, at) == await expected(engine, at)
    assert (await figures(engine, at))[2]["escalated"] == 1
    await sync(engine, [mql("A", "2027-03-08 10:00", "2027-03-08 16:00")])  # touched late
    assert await figures(engine, at) == await expected(engine, at)
    assert (await figures(engine, at))[:2] == (1, 0)
    await sync(
        engine,
        [mql("A", "2027-03-08 10:00", disqualified="2027-03-08 11:00", reason="duplicate")],
    )
    assert await figures(engine, at) == await expected(engine, at)
    assert (await figures(engine, at))[:2] == (0, 0)


async def test_random_touches_and_disqualifications_keep_the_counts(engine: AsyncEngine) -> None:
    """Re-syncs and buttons in any order, checks in between: SQL always equals the engine."""
    await store_agreement(engine)
    rng = random.Random(11)
    start = local("2027-03-01 08:00")

    def moment(after: datetime) -> str:
        instant = after + timedelta(minutes=rng.randrange(0, 60 * 24 * 3))
        return instant.replace(tzinfo=None).isoformat()

    handoffs = {f"L{i}": moment(start) for i in range(60)}
    await sync(engine, [mql(lead, at) for lead, at in handoffs.items()])
    now = start
    for step in range(6):
        now += timedelta(hours=7)
        await check(engine, now)
        for lead in rng.sample(sorted(handoffs), 12):
            handoff = local(handoffs[lead])
            draw = rng.random()
            if draw < 0.3:
                row = mql(lead, handoffs[lead], moment(handoff))
            elif draw < 0.45:
                row = mql(lead, handoffs[lead], disqualified=moment(handoff), reason="duplicate")
            elif draw < 0.6:
                row = mql(lead, handoffs[lead])
            else:
                row = None
            if row is not None:
                await sync(engine, [row], at=SYNCED + timedelta(hours=step))
                continue
            async with session_scope(engine) as session:
                if draw < 0.8:
                    await acknowledge(session, lead=lead, by="U0REP", at=now)
                else:
                    await disqualify(session, lead=lead, reason="other", by="U0REP", at=now)
        for at in (now, now - timedelta(hours=5), now + timedelta(days=2)):
            assert await figures(engine, at) == await expected(engine, at), (step, at)
