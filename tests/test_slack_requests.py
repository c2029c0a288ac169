"""A Slack request is applied once: its key is claimed by one delivery, on every replica."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.middleware import request_key
from models.db import create_engine
from models.slack_requests import claim_request, forget_requests
from models.tables import SlackRequest

AT = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"command": "/sla", "text": "ack L-1", "trigger_id": "t1"}, "command:t1"),
        ({"command": "/sla", "text": "LOG mqls 3", "trigger_id": "t2"}, "command:t2"),
        ({"command": "/sla", "text": "status", "trigger_id": "t3"}, None),  # only reads
        ({"command": "/sla", "text": "", "trigger_id": "t4"}, None),
        ({"type": "event_callback", "event_id": "Ev1", "event": {}}, "event:Ev1"),
        ({"type": "block_actions", "trigger_id": "t5", "actions": [{}]}, "block_actions:t5"),
        ({"type": "block_actions", "actions": [{"action_ts": "17.5"}]}, "block_actions:17.5"),
        ({"type": "view_submission", "trigger_id": "t6"}, "view_submission:t6"),
        ({"type": "view_closed"}, None),
    ],
)
def test_the_key_of_a_request(body: dict[str, Any], key: str | None) -> None:
    assert request_key(body) == key


async def test_a_key_is_claimed_once(engine: AsyncEngine) -> None:
    assert await claim_request(engine, key="event:Ev1", kind="event:x", at=AT)
    assert not await claim_request(engine, key="event:Ev1", kind="event:x", at=AT)
    assert await claim_request(engine, key="event:Ev2", kind="event:x", at=AT)


async def test_two_replicas_racing_for_one_key_get_it_once(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(
                claim_request(e, key=f"event:Ev{n // 4}", kind="event:x", at=AT)
                for n in range(40)
                for e in engines[n % 4 : n % 4 + 1]
            )
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sum(results) == 10  # ten distinct keys, each claimed by exactly one caller


async def test_old_claims_are_forgotten(engine: AsyncEngine) -> None:
    await claim_request(engine, key="old", kind="event:x", at=AT - timedelta(days=3))
    await claim_request(engine, key="new", kind="event:x", at=AT)
    assert await forget_requests(engine, at=AT) == 1
    async with AsyncSession(engine) as session:
        assert (await session.exec(select(func.count()).select_from(SlackRequest))).one() == 1
