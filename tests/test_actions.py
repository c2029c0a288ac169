"""People's actions on a lead, and what the next check makes of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.actions import ActionError, acknowledge, disqualify, reassign, set_away, snooze
from bot.check import run_check
from bot.clock import BusinessClock
from models.db import session_scope
from tests.utils.store import example, local, mql, store_agreement, store_leads


async def check_states(engine: AsyncEngine, at: str) -> dict[str, str]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await run_check(session, example(), at=local(at))
        await session.commit()
    return {s.facts.external_id: s.state for s in result.leads}


async def test_acknowledge_records_who_and_when_once(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    await check_states(engine, "2027-03-08 13:30")
    async with session_scope(engine) as session:
        done = await acknowledge(session, lead="A", by="U0REP", at=local("2027-03-08 13:45"))
        assert done.changed and "U0REP" in done.message
    async with session_scope(engine) as session:
        again = await acknowledge(session, lead="A", by="U0OTHER", at=local("2027-03-08 15:00"))
        assert not again.changed and "already contacted by <@U0REP>" in again.message
    assert await check_states(engine, "2027-03-08 16:00") == {"A": "met"}


async def test_snooze_is_business_time_and_keeps_the_deadline(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 15:00")])
    await check_states(engine, "2027-03-08 15:30")
    clock = BusinessClock.of(agreement)
    async with session_scope(engine) as session:
        done = await snooze(
            session,
            lead="A",
            span=timedelta(hours=4),
            clock=clock,
            by="U0REP",
            at=local("2027-03-08 16:00"),
        )
    assert "until Tue 09 Mar 11:00 CST" in done.message  # 1h on Monday + 3h on Tuesday
    assert await check_states(engine, "2027-03-09 10:30") == {
        "A": "snoozed"
    }  # past its 10:00 deadline
    assert await check_states(engine, "2027-03-09 11:00") == {"A": "breached"}


async def test_disqualify_needs_a_known_reason(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    async with session_scope(engine) as session:
        with pytest.raises(ActionError, match="not_a_fit"):
            await disqualify(
                session, lead="A", reason="spam", by="U0REP", at=local("2027-03-08 11:00")
            )
        done = await disqualify(
            session, lead="A", reason="not_a_fit", by="U0REP", at=local("2027-03-08 11:00")
        )
        assert done.changed
    async with session_scope(engine) as session:
        again = await disqualify(
            session, lead="A", reason="other", by="U0REP", at=local("2027-03-08 12:00")
        )
        assert not again.changed and "not_a_fit" in again.message
    assert await check_states(engine, "2027-03-08 15:00") == {}


async def test_reassign_and_away(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    async with session_scope(engine) as session:
        with pytest.raises(ActionError, match="no follow-up running"):
            await reassign(session, lead="A", to="U0NEW", by="U0LEAD", at=local("2027-03-08 11:00"))
    await check_states(engine, "2027-03-08 11:00")
    async with session_scope(engine) as session:
        done = await reassign(
            session, lead="A", to="U0NEW", by="U0LEAD", at=local("2027-03-08 11:00")
        )
        assert "the deadline stays" in done.message
        await set_away(
            session,
            user="U0NEW",
            until=local("2027-03-20 00:00"),
            by="U0NEW",
            at=local("2027-03-08 11:30"),
        )
        with pytest.raises(ActionError, match="future"):
            await set_away(
                session,
                user="U0NEW",
                until=local("2027-03-01 00:00"),
                by="U0NEW",
                at=local("2027-03-08 11:30"),
            )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await run_check(session, example(), at=local("2027-03-08 14:00"))
    (post,) = result.posts
    assert post.mentions == ("U01SALESLEAD",) and "away" in post.text


async def test_unknown_and_ambiguous_leads(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")], source="sheet")
    await store_leads(engine, [mql("A", "2027-03-08 10:00")], source="crm")
    async with session_scope(engine) as session:
        with pytest.raises(ActionError, match="no lead 'Z'"):
            await acknowledge(session, lead="Z", by="U0", at=local("2027-03-08 11:00"))
        with pytest.raises(ActionError, match="crm:A"):
            await acknowledge(session, lead="A", by="U0", at=local("2027-03-08 11:00"))
        done = await acknowledge(session, lead="crm:A", by="U0", at=local("2027-03-08 11:00"))
        assert done.changed
