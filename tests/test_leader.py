"""One leader among replicas: an advisory lock on PostgreSQL, a lease row anywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine
from scheduler.leader import Leader

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def second_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Another replica's engine on the same store."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_an_expired_lease_is_taken_over(
    engine: AsyncEngine, second_engine: AsyncEngine
) -> None:
    clock = Clock(T0)
    first = Leader(engine, "replica-a", lease=True, ttl=TTL, clock=clock)
    second = Leader(second_engine, "replica-b", lease=True, ttl=TTL, clock=clock)
    assert await first.acquire() is True
    assert await second.acquire() is False

    clock.at = T0 + TTL - timedelta(seconds=1)
    assert await first.check() is True  # renewed: expires at T0 + 2 TTL - 1 s now
    clock.at = T0 + TTL + timedelta(seconds=5)
    assert await second.acquire() is False

    clock.at = T0 + 2 * TTL  # the first one stopped renewing (paused, cut off, …)
    assert await second.acquire() is True
    assert await first.check() is False
    assert first.is_leader is False
    assert await first.acquire() is False

    await second.release()
    assert await first.acquire() is True
    await first.release()


async def test_the_lease_holder_keeps_it_when_it_acquires_again(engine: AsyncEngine) -> None:
    clock = Clock(T0)
    leader = Leader(engine, "replica-a", lease=True, ttl=TTL, clock=clock)
    assert await leader.acquire() is True
    clock.at = T0 + timedelta(seconds=10)
    assert await leader.acquire() is True
    await leader.release()


async def test_run_calls_back_when_leadership_is_gained_and_lost(
    engine: AsyncEngine, second_engine: AsyncEngine
) -> None:
    clock = Clock(T0)
    events: list[str] = []
    first = Leader(engine, "a", lease=True, ttl=TTL, check_every=0.02, clock=clock)
    second = Leader(second_engine, "b", lease=True, ttl=TTL, check_every=0.02, clock=clock)

    async def gained() -> None:
        events.append("a gained")

    running = asyncio.create_task(first.run(gained, lambda: events.append("a lost")))
    await until(lambda: first.is_leader)
    await asyncio.sleep(0.1)  # it renews its lease meanwhile
    assert await second.acquire() is False
    second.clock = Clock(T0 + 2 * TTL)  # a replica that sees the first one's lease run out
    assert await second.acquire() is True
    await until(lambda: "a lost" in events)
    assert first.is_leader is False
    first.stop()
    await running
    assert events == ["a gained", "a lost"]
    await second.release()


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` (a leader's loop runs in another task) for up to ten seconds."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


@pytest.mark.postgres
async def test_one_of_two_contenders_holds_the_advisory_lock(postgres_url: str) -> None:
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    leaders = [Leader(e, f"replica-{n}") for n, e in enumerate(engines)]
    try:
        won = await asyncio.gather(*(leader.acquire() for leader in leaders))
        assert sorted(won) == [False, True]
        winner = leaders[won.index(True)]
        assert winner.lease is False and winner.backend_pid is not None
        assert await winner.check() is True
        # the lock lives on its own connection, not on one from the query pool
        assert engines[won.index(True)].pool.checkedout() == 0
        await winner.release()
        loser = leaders[won.index(False)]
        assert await loser.acquire() is True
        await loser.release()
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_a_dropped_lock_connection_loses_leadership_at_once(postgres_url: str) -> None:
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    first, second = (Leader(e, f"replica-{n}", check_every=0.05) for n, e in enumerate(engines))
    events: list[str] = []

    def run(leader: Leader, name: str) -> asyncio.Task[None]:
        gained, lost = (
            (lambda: events.append(f"{name} gained")),
            (lambda: events.append(f"{name} lost")),
        )
        return asyncio.create_task(leader.run(gained, lost))

    tasks = [run(first, "first")]
    try:
        await until(lambda: first.is_leader)
        tasks.append(run(second, "second"))
        await asyncio.sleep(0.2)
        assert events == ["first gained"]
        pid = first.backend_pid
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await admin.dispose()
        # The server frees the lock with the connection: the other replica may take it before
        # the first one's next check notices (within `check_every`); slot claims cover that gap.
        await until(lambda: {"first lost", "second gained"} <= set(events))
        assert sorted(events) == ["first gained", "first lost", "second gained"]
        assert first.is_leader is False
    finally:
        first.stop()
        second.stop()
        await asyncio.gather(*tasks)
        for engine in engines:
            await engine.dispose()
    assert events[-1] == "second lost"  # stopping releases leadership and stops the jobs
