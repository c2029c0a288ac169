"""Filling a test store (the example agreement, leads handed off at given local times) and
reading all of it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (every table, for the snapshot)
from models.agreement import Agreement
from models.agreement_loader import canonical_json, load_agreement
from models.agreements import apply_agreement
from models.db import session_scope
from models.ingest import LeadStageRecord, upsert_leads
from tests.conftest import EXAMPLES

CHICAGO = ZoneInfo("America/Chicago")
Snapshot = dict[str, list[tuple[Any, ...]]]


def local(text: str, zone: ZoneInfo = CHICAGO) -> datetime:
    """A wall-clock time in Chicago (the example agreement's zone) as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def example() -> Agreement:
    return load_agreement(EXAMPLES / "agreement.yaml")


async def store_agreement(engine: AsyncEngine, agreement: Agreement | None = None) -> Agreement:
    agreement = agreement or example()
    async with session_scope(engine) as session:
        await apply_agreement(
            session,
            agreement=agreement,
            source_text=canonical_json(agreement),
            file="test",
            by="test",
            at=datetime(2026, 12, 1, tzinfo=UTC),
        )
    return agreement


def mql(
    lead_id: str,
    handoff: str,
    touch: str | None = None,
    *,
    owner: str = "ana@example.com",
    disqualified: str | None = None,
    reason: str | None = None,
) -> LeadStageRecord:
    """A lead entering `mqls` (the example rule's stage) at a Chicago wall-clock time."""
    return LeadStageRecord(
        lead_id=lead_id,
        stage="mqls",
        entered_at=local(handoff),
        owner_email=owner,
        first_touch_at=local(touch) if touch else None,
        disqualified_at=local(disqualified) if disqualified else None,
        disqualify_reason=reason,
    )


async def store_leads(
    engine: AsyncEngine, rows: list[LeadStageRecord], source: str = "sheet"
) -> None:
    async with session_scope(engine) as session:
        await upsert_leads(
            session=session, source=source, rows=rows, at=datetime(2027, 1, 1, tzinfo=UTC)
        )


async def snapshot(engine: AsyncEngine, *, leave_out: tuple[str, ...] = ()) -> Snapshot:
    """Every row of every table (but `leave_out`), in a stable order."""
    out: Snapshot = {}
    async with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in leave_out:
                continue
            rows = (await connection.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out
