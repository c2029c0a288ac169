"""The status each replica keeps: served while fresh, forgotten when this replica changes
something, never served for another agreement version or past its age."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.status_cache import MAX_AGE, StatusCache, refresh, status_for
from models.agreements import agreement_of, version_in_force
from models.db import session_scope
from models.ingest import DealRecord, upsert_deals
from tests.utils.commands import ADMIN, AT, OWNER, seed
from tests.utils.slack_bot import SlackBot
from tests.utils.store import example, local


async def _won(engine: AsyncEngine, deal: str, amount: int) -> None:
    row = DealRecord(deal_id=deal, amount=Decimal(amount), closed_won_at=local("2027-03-02 10:00"))
    async with session_scope(engine) as session:
        await upsert_deals(session=session, source="deals", rows=[row], at=AT)


async def _revenue(bot: SlackBot) -> str:
    sent = await bot.command("status")
    [reply] = await bot.replies(sent)
    return next(line for line in reply["text"].splitlines() if "Revenue" in line)


async def test_a_fresh_report_is_served_and_a_change_here_is_seen_at_once(
    slack_bot: SlackBot,
) -> None:
    await seed(slack_bot.engine)
    before = await _revenue(slack_bot)
    await _won(slack_bot.engine, "D-900", 90000)  # a sync on another replica: not seen yet
    assert await _revenue(slack_bot) == before
    sent = await slack_bot.command("ack B", user=OWNER)  # a change through this replica
    await slack_bot.replies(sent)
    after = await _revenue(slack_bot)
    assert after != before and "90,000" in after


async def test_a_report_past_its_age_is_computed_again(slack_bot: SlackBot) -> None:
    await seed(slack_bot.engine)
    before = await _revenue(slack_bot)
    await _won(slack_bot.engine, "D-901", 60000)
    slack_bot.at += MAX_AGE
    assert await _revenue(slack_bot) != before


async def test_the_cache_keeps_a_report_per_team_and_version(engine: AsyncEngine) -> None:
    await seed(engine)
    cache = StatusCache()
    assert await refresh(cache, engine, at=AT) == 1 + len(example().teams)
    async with session_scope(engine) as session:
        version = await version_in_force(session, AT)
    assert version is not None
    agreement = agreement_of(version)
    kept = cache.get(agreement, "sales", AT + timedelta(seconds=30))
    assert kept is not None and set(kept.teams) == {"sales"}
    assert cache.get(agreement, "sales", AT - timedelta(seconds=1)) is None  # not before it
    assert cache.get(agreement, "sales", AT + MAX_AGE) is None  # too old
    assert cache.get(example(), None, AT) is None  # another agreement object: another version
    served = await status_for(cache, engine, agreement, at=AT, team=None)
    assert served is cache.get(agreement, None, AT)
    cache.invalidate()
    assert cache.get(agreement, None, AT) is None


async def test_a_report_computed_across_a_change_is_not_kept(engine: AsyncEngine) -> None:
    await seed(engine)
    cache = StatusCache()
    async with session_scope(engine) as session:
        version = await version_in_force(session, AT)
    assert version is not None
    agreement = agreement_of(version)
    started = cache.generation
    report = await status_for(cache, engine, agreement, at=AT, team=None)
    cache.invalidate()
    cache.put(report, None, started)  # a refresh that began before the change
    assert cache.get(agreement, None, AT) is None
    assert ADMIN in agreement.admins
