"""Two processes delivering the same outbox at once post each key exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import backoff, deliver
from bot.sandbox.slack import FakeSlack
from models.db import create_engine
from tests.utils.outbox import AT, CHANNEL, record, slack_client

KEYS = [f"breach:mql-first-touch:L-{n}:breached" for n in range(1, 25)]


def posted_keys(fake: FakeSlack) -> Counter[str]:
    return Counter(
        m.metadata["event_payload"]["key"] for m in fake.messages.get(CHANNEL, []) if m.metadata
    )


async def deliverers(database_url: str, fake: FakeSlack, *, at_offsets: list[timedelta]) -> None:
    """Two engines (as two replicas would have), delivering together at each instant."""
    engines = [create_engine(database_url), create_engine(database_url)]
    try:
        for offset in at_offsets:
            await asyncio.gather(
                *(deliver(e, slack_client(fake), at=AT + offset) for e in engines for _ in (1, 2))
            )
    finally:
        for engine in engines:
            await engine.dispose()


async def test_concurrent_deliverers_post_each_key_once(
    database_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    for key in KEYS:
        await record(engine, key, key)
    await deliverers(database_url, fake_slack, at_offsets=[timedelta(0), timedelta(seconds=1)])
    assert posted_keys(fake_slack) == Counter(KEYS)
    assert len(fake_slack.calls_to("chat.postMessage")) == len(KEYS)


async def test_concurrent_deliverers_reconcile_a_lost_answer_once(
    database_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    for key in KEYS[:6]:
        await record(engine, key, key)
    fake_slack.inject("lost_response", times=3, method="chat.postMessage")
    fake_slack.inject("server_error", times=2, method="chat.postMessage", status=500)
    offsets = [timedelta(0), backoff(1), backoff(1) + backoff(2)]
    await deliverers(database_url, fake_slack, at_offsets=offsets)
    assert posted_keys(fake_slack) == Counter(KEYS[:6])
