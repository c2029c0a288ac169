"""Two replicas on one PostgreSQL: only the leader runs jobs, one digest is posted, and when the
leader's lock connection is killed mid-run the other finishes the work, nothing twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.slack import FakeSlack
from models.db import create_engine
from scheduler.leader import Leader
from scheduler.runner import Runner
from tests.utils.scheduler import FIRST, align, jobs_on, keys, posts, ran_before, ready, shared

pytestmark = pytest.mark.postgres
SPEED = 120  # test seconds are two minutes of the bot's clock: outbox leases pass in seconds
ALL_CHARTS = 5  # two of the weekly digest, three of the monthly report


def moving_clock(start: datetime) -> Callable[[], datetime]:
    began = time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - began) * SPEED)


@dataclass
class Replica:
    leader: Leader
    runner: Runner
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.leader.run(self.runner.start, self.runner.stop))

    async def stop(self) -> None:
        self.leader.stop()
        if self.task is not None:
            await self.task


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def replicas(postgres_url: str, fake_slack: FakeSlack) -> AsyncIterator[list[Replica]]:
    engines = [create_engine(postgres_url) for _ in range(2)]
    clock = moving_clock(FIRST + timedelta(minutes=1))
    made = []
    for n, engine in enumerate(engines):
        holder = f"replica-{n}"
        jobs = jobs_on(engine, fake_slack, holder)
        runner = Runner(jobs, clock=clock, catch_up_every=timedelta(seconds=0.3))
        made.append(Replica(Leader(engine, holder, check_every=0.1), runner))
    try:
        yield made
    finally:
        for replica in made:
            await replica.stop()
        for engine in engines:
            await engine.dispose()


async def _earlier_life(engine: AsyncEngine, fake: FakeSlack) -> None:
    """The example data, and the bot's earlier runs, so the catch-up posts what is due now."""
    await ready(engine)
    align(fake, FIRST)
    await ran_before(engine, "digest:weekly", "2027-W07", FIRST - timedelta(days=7))
    await ran_before(engine, "digest:monthly", "2027-01", FIRST - timedelta(days=28))


def _all_posted(fake: FakeSlack) -> bool:
    return len(posts(fake)) >= 2 and len(shared(fake)) >= ALL_CHARTS


def _nothing_twice(fake: FakeSlack) -> None:
    assert sorted(keys(posts(fake))) == ["digest:monthly:2027-02", "digest:weekly:2027-W08"]
    names = [f.filename for f in shared(fake)]
    assert len(names) == ALL_CHARTS and len(set(names)) == ALL_CHARTS, names


async def test_two_replicas_post_each_digest_once(
    replicas: list[Replica], fake_slack: FakeSlack
) -> None:
    await _earlier_life(replicas[0].runner.jobs.engine, fake_slack)
    for replica in replicas:
        replica.start()
    await until(lambda: _all_posted(fake_slack))
    await asyncio.sleep(1)  # more catch-ups and deliveries: nothing more
    assert [r.leader.is_leader for r in replicas].count(True) == 1
    assert [r.runner.running for r in replicas].count(True) == 1
    _nothing_twice(fake_slack)


async def test_the_follower_takes_over_when_the_leaders_connection_dies(
    replicas: list[Replica], fake_slack: FakeSlack, postgres_url: str
) -> None:
    first, second = replicas
    await _earlier_life(first.runner.jobs.engine, fake_slack)
    # the leader's first post reaches Slack but its answer is lost: only a look finds it
    fake_slack.inject("lost_response", method="chat.postMessage", status=500)
    first.start()
    await until(lambda: first.leader.is_leader)
    second.start()
    await until(lambda: len(posts(fake_slack)) >= 1)  # mid-run: the first post is out

    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with killer.connect() as connection:
            pid = first.leader.backend_pid
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()
    await until(lambda: not first.runner.running and second.runner.running)
    await until(lambda: _all_posted(fake_slack))
    await asyncio.sleep(1)
    assert not first.leader.is_leader and second.leader.is_leader
    _nothing_twice(fake_slack)
