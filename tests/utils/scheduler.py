"""Helpers for the scheduler's tests: the example store, jobs on the fake Slack, what it got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_files import FakeFile, files_of
from bot.sandbox.slack_messages import Message
from models.agreement import Agreement
from scheduler.jobs import Jobs
from scheduler.slots import claim_slot, finish_slot
from scheduler.sync import sync_sources
from tests.utils.outbox import slack_client
from tests.utils.store import local, store_agreement

PROGRESS, WINS = "C01PROGRESS", "C01WINS"
SYNC_AT = local("2027-03-10 16:00")  # as `slabot sync --at` in the digest CLI tests
MONDAY = local("2027-03-08 09:00")  # the weekly digest of 2027-W09 is due
FIRST = local("2027-03-01 09:00")  # a Monday: 2027-W08 and the report of 2027-02 are due


async def ready(engine: AsyncEngine, at: datetime = SYNC_AT) -> Agreement:
    """The example agreement and its example data (CSV files) in the store."""
    agreement = await store_agreement(engine)
    results = await sync_sources(engine, agreement, at=at)
    assert all(result.status == "ok" for result in results), results
    return agreement


def align(fake: FakeSlack, at: datetime) -> None:
    """Let the fake's message and file timestamps follow `at` (they start in January 2027), so
    the outbox's look-back from a test instant finds what the fake holds."""
    fake._ts = max(fake._ts, int(at.timestamp()) - 1_800_000_000)


def jobs_on(
    engine: AsyncEngine, fake: FakeSlack, holder: str = "replica-a", metrics: Metrics | None = None
) -> Jobs:
    return Jobs(engine=engine, client=slack_client(fake), holder=holder, metrics=metrics)


async def ran_before(engine: AsyncEngine, job: str, slot: str, at: datetime) -> None:
    """Record that `job` ran `slot` (an earlier life of the bot)."""
    assert await claim_slot(engine, job, slot, "earlier", at=at)
    assert await finish_slot(engine, job, slot, "earlier", at=at)


def posts(fake: FakeSlack, channel: str = PROGRESS) -> list[Message]:
    """Top-level messages in `channel`, oldest first."""
    return [m for m in fake.messages.get(channel, []) if m.thread_ts in (None, m.ts)]


def keys(messages: list[Message]) -> list[str]:
    return [str((m.metadata or {}).get("event_payload", {}).get("key")) for m in messages]


def shared(fake: FakeSlack, channel: str = PROGRESS) -> list[FakeFile]:
    return files_of(fake).in_channel(channel)
