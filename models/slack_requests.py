"""Slack requests already handled: each key is claimed once, by whichever replica gets it first."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import SlackRequest

KEEP = timedelta(days=2)  # Slack retries within minutes; two days is plenty of memory


async def claim_request(engine: AsyncEngine, *, key: str, kind: str, at: datetime) -> bool:
    """True when this is the first time `key` is seen (the caller goes on), else False."""
    values = {"key": key[:200], "kind": kind[:40], "at": at}
    insert = (
        postgresql.insert(SlackRequest)
        if engine.dialect.name == "postgresql"
        else sqlite.insert(SlackRequest)
    )
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["key"])
    async with engine.begin() as connection:
        result = await connection.execute(statement)
    return bool(result.rowcount)


async def forget_requests(engine: AsyncEngine, *, at: datetime) -> int:
    """Drop claims older than `KEEP` before `at`; returns how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(SlackRequest).where(SlackRequest.at < at - KEEP)  # type: ignore[arg-type]
        )
    return int(result.rowcount or 0)
