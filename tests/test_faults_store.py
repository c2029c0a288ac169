"""PostgreSQL going away under the bot: its connections cut in the middle of a sync's page and
of a digest's recording, or after Slack took the digest and before it was marked, and the
server restarted (refusing connections a while). A transaction cut short leaves none of its
rows; the next run resumes and ends with what an undisturbed run stores, one digest posted.

The bot reaches PostgreSQL through a TCP proxy (`tests.utils.tcp_proxy`) that a SQLAlchemy
hook cuts at the exact statement chosen; the machine's PostgreSQL itself is never restarted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, func, select

from bot.outbox import LEASE
from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.slack import FakeSlack
from models.db import create_engine, session_scope
from models.outbox import find
from models.outbox_files import files_of
from models.tables import (
    Deal,
    JobRun,
    Lead,
    LeadStage,
    OutboxFile,
    OutboxMessage,
    Owner,
    SourceState,
)
from tests.test_hubspot_sync import SPEED, contact, snapshot, sync
from tests.utils.scheduler import MONDAY, PROGRESS, WINS, align, jobs_on, keys, posts, ready, shared
from tests.utils.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

CONTACTS = 450  # three pages
DIGEST = "digest:weekly:2027-W09"
CHARTS = ["revenue-2027-W09.png", "funnel-2027-W09.png"]
CUT = "connection was closed in the middle of operation"  # asyncpg, the server gone mid-query
LOST = "unexpected connection_lost"  # asyncpg, a connection refused as the server starts


@dataclass
class Store:
    """The bot's engine through the proxy, and a direct one to look at what is stored."""

    proxy: TcpProxy
    bot: AsyncEngine
    direct: AsyncEngine


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Store]:
    proxy = await TcpProxy.to(postgres_url).start()
    bot, direct = create_engine(proxy.url(postgres_url)), create_engine(postgres_url)
    try:
        yield Store(proxy, bot, direct)
    finally:
        await bot.dispose()
        await direct.dispose()
        await proxy.stop()


def cut_at(
    store: Store, wanted: Callable[[str, Any], bool], nth: int = 1, *, restart: bool = False
) -> list[str]:
    """Cut the bot's connections as the `nth` statement matching `wanted` is sent (and with
    `restart`, refuse new ones until the test says); returns the statement, once cut."""
    seen: list[str] = []
    cut: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if cut or not wanted(statement, parameters):
            return
        seen.append(statement)
        if len(seen) == nth:
            store.proxy.refusing = restart
            store.proxy.cut()
            cut.append(statement)

    event.listen(store.bot.sync_engine, "before_cursor_execute", before)
    return cut


def statement_of(table: str, verb: str, *, with_value: str = "") -> Callable[[str, Any], bool]:
    """`INSERT` into or `UPDATE` of `table` (one whose parameters hold `with_value`)."""
    start = f"{verb} INTO {table} " if verb == "INSERT" else f"{verb} {table} "
    return lambda statement, parameters: (
        statement.lstrip().upper().startswith(start.upper()) and with_value in str(parameters)
    )


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with session_scope(engine) as session:
        return int(
            (await session.exec(select(func.count()).select_from(table).where(*where))).one()
        )


# --- a sync cut between a page's rows and its commit ------------------------------------------


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(speed=SPEED) as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        for n in range(CONTACTS):
            contact(fake, n)
        for n in range(20):
            fake.add_deal(amount=str(100 + n), hs_is_closed_won=n % 2 == 0, closedate=fake.now)
        yield fake


async def test_a_sync_cut_mid_page_keeps_the_pages_before_and_resumes_after_a_restart(
    store: Store, portal: FakeHubSpot
) -> None:
    # The third page's leads are written; its cursor is being saved when the connection dies.
    saves = statement_of("source_state", "INSERT"), statement_of("source_state", "UPDATE")
    cut = cut_at(store, lambda s, p: any(save(s, p) for save in saves), nth=3)
    broken = await sync(store.bot, portal)
    assert cut, "the hook never fired"
    assert broken.status == "failed" and broken.error is not None and CUT in broken.error
    assert broken.fetched == 398  # two pages of 200, less their last instant each
    assert await count(store.direct, Lead) == 398  # the third page: none of its rows
    assert await count(store.direct, LeadStage) == 398 + 199  # each odd contact an MQL too
    assert await count(store.direct, Deal) == 0
    async with session_scope(store.direct) as session:
        state = (await session.exec(select(SourceState))).one()
    assert (state.last_error, state.last_success_at) == (broken.error, None)
    kept = await snapshot(store.direct)

    store.proxy.cut()  # PostgreSQL restarts: every connection dropped, new ones refused a while
    store.proxy.refusing = True
    with pytest.raises(ConnectionError, match=LOST):
        await sync(store.bot, portal)
    assert await snapshot(store.direct) == kept  # nothing half-done meanwhile

    store.proxy.refusing = False  # it is back
    resumed = await sync(store.bot, portal)
    assert (resumed.status, resumed.error) == ("ok", None)
    after_resume = await snapshot(store.direct)
    async with session_scope(store.direct) as session:
        for table in (LeadStage, Lead, Deal, Owner, SourceState):
            await session.exec(delete(table))
    clean = await sync(store.direct, portal)
    assert clean.status == "ok" and await snapshot(store.direct) == after_resume


# --- a digest cut while it is recorded, and after Slack took it --------------------------------


async def test_a_digest_cut_while_recorded_leaves_nothing_and_the_next_run_posts_it_once(
    store: Store, fake_slack: FakeSlack
) -> None:
    await ready(store.direct)
    align(fake_slack, MONDAY)
    jobs = jobs_on(store.bot, fake_slack)
    cut = cut_at(store, statement_of("outbox_file", "INSERT"), nth=2)  # the second chart
    with pytest.raises(DBAPIError, match=CUT):
        await jobs.digest("weekly", MONDAY)
    assert cut
    assert await count(store.direct, OutboxMessage) == 0  # the message and its first chart:
    assert await count(store.direct, OutboxFile) == 0  # gone with their transaction
    assert await runs(store.direct) == [("2027-W09", "failed")]  # marked on a new connection
    assert fake_slack.calls == []

    await jobs.catch_up("weekly", MONDAY + timedelta(minutes=1))  # the next run
    await _posted_once(store, fake_slack)


async def test_a_restart_mid_digest_keeps_the_claim_until_it_is_stale_then_posts_once(
    store: Store, fake_slack: FakeSlack
) -> None:
    await ready(store.direct)
    align(fake_slack, MONDAY)
    jobs = jobs_on(store.bot, fake_slack)
    cut = cut_at(store, statement_of("outbox_file", "INSERT"), nth=2, restart=True)
    with pytest.raises(ConnectionError, match=LOST):  # and marking the claim failed: refused
        await jobs.digest("weekly", MONDAY)
    assert cut
    with pytest.raises(ConnectionError, match=LOST):  # restarting: the next run cannot claim
        await jobs.catch_up("weekly", MONDAY + timedelta(minutes=1))
    store.proxy.refusing = False
    # The claim could not be marked failed: it is taken again once stale (15 minutes).
    assert await runs(store.direct) == [("2027-W09", "running")]
    again = await jobs.catch_up("weekly", MONDAY + timedelta(minutes=5))
    assert again is not None and not again.fresh and fake_slack.calls == []
    await jobs.catch_up("weekly", MONDAY + timedelta(minutes=16))
    await _posted_once(store, fake_slack)


async def test_a_digest_posted_but_cut_before_it_is_marked_is_found_not_posted_again(
    store: Store, fake_slack: FakeSlack
) -> None:
    await ready(store.direct)
    align(fake_slack, MONDAY)
    jobs = jobs_on(store.bot, fake_slack)
    marking = cut_at(store, statement_of("outbox", "UPDATE", with_value="'sent'"))
    with pytest.raises(DBAPIError, match=CUT):
        await jobs.digest("weekly", MONDAY)
    assert marking
    assert keys(posts(fake_slack)) == [DIGEST]  # Slack has it; the store does not know
    entry = await find(store.direct, DIGEST)
    assert entry is not None and entry.status == "sending" and entry.ts is None
    assert [f.status for f in await files_of(store.direct, DIGEST)] == ["pending", "pending"]

    await jobs.deliver(MONDAY + LEASE / 2)  # the attempt's lease still holds the row
    assert len(progress_posts(fake_slack)) == 1
    await jobs.deliver(MONDAY + LEASE)  # then the next attempt looks before posting
    assert len(progress_posts(fake_slack)) == 1
    assert len(fake_slack.calls_to("conversations.history")) == 1
    await _posted_once(store, fake_slack)


async def test_after_a_restart_while_idle_the_next_run_works_the_first_time(
    store: Store, fake_slack: FakeSlack
) -> None:
    await ready(store.direct)
    align(fake_slack, MONDAY)
    jobs = jobs_on(store.bot, fake_slack)
    await jobs.deliver(MONDAY - timedelta(minutes=1))  # the pool holds connections now
    assert store.proxy.cut() >= 1  # PostgreSQL restarts while nothing runs
    recorded = await jobs.digest("weekly", MONDAY)  # the first run after it: no failure
    assert recorded is not None and recorded.fresh
    await _posted_once(store, fake_slack)


def progress_posts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == PROGRESS]


async def runs(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with session_scope(engine) as session:
        found = await session.exec(
            select(JobRun.slot, JobRun.status).where(col(JobRun.job) == "digest:weekly")
        )
        return list(found.all())


async def _posted_once(store: Store, fake: FakeSlack) -> None:
    """Slack holds the digest once, its two charts in its thread; the store knows it."""
    [digest] = posts(fake)
    assert {channel: keys(found) for channel, found in fake.messages.items()} == {
        PROGRESS: [DIGEST],
        WINS: ["wins:roundup:2027-W09"],  # the week's small wins, recorded with it
    }
    assert [(f.filename, f.thread_ts) for f in shared(fake)] == [(n, digest.ts) for n in CHARTS]
    entry = await find(store.direct, DIGEST)
    assert entry is not None and (entry.status, entry.ts) == ("sent", digest.ts)
    assert [f.status for f in await files_of(store.direct, DIGEST)] == ["done", "done"]
    assert await runs(store.direct) == [("2027-W09", "done")]
