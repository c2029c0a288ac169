"""Helpers for the outbox tests: a Web API client on the fake Slack, recording messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.slack import TOKEN, FakeSlack
from models.db import session_scope
from models.outbox import enqueue

# The fake's message timestamps start at 1_800_000_000 (2027-01-15T08:00Z); recording a
# minute earlier keeps them inside the window the outbox looks back through.
AT = datetime.fromtimestamp(1_800_000_000 - 60, UTC)
CHANNEL = "C0ALERTS01"


def slack_client(fake: FakeSlack, *, rate_limit_retries: int = 1) -> AsyncWebClient:
    """A client like the bot's, with fewer and quicker retries so tests stay fast."""
    return AsyncWebClient(
        token=TOKEN,
        base_url=fake.url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            AsyncServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            ),
        ],
    )


def message(text: str, **more: Any) -> dict[str, Any]:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return {"text": text, "blocks": blocks, **more}


async def record(
    engine: AsyncEngine,
    key: str,
    text: str = "Lead L-1001 breached",
    *,
    channel: str = CHANNEL,
    at: datetime = AT,
    **more: Any,
) -> None:
    """Enqueue one message in a transaction of its own."""
    async with session_scope(engine) as session:
        await enqueue(session, key, channel, message(text, **more), at=at)
