"""When a lead's follow-up closed, copied onto its `followup_state` rows.

A lead leaves follow-up at the earlier of its first touch and its disqualification. Compliance
and open counts need that instant and the first touch on every hand-off row; reading them from
`followup_state` alone (no join with `lead`) is what keeps `status` fast. So every writer of a
lead's first touch or disqualification calls `copy_closure` in the same transaction, and
`check` copies them when it creates or recomputes a row.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import id_chunks
from models.tables import FollowupState, Lead
from models.types import UTCDateTime


def closed_at(first_touch_at: datetime | None, disqualified_at: datetime | None) -> datetime | None:
    """The instant the lead left follow-up (None while it has not)."""
    instants = [t for t in (first_touch_at, disqualified_at) if t is not None]
    return min(instants, default=None)


def closure(first_touch_at: datetime | None, disqualified_at: datetime | None) -> dict[str, Any]:
    """The `followup_state` values for a lead with this first touch and disqualification."""
    return {
        "first_touch_at": first_touch_at,
        "closed_at": closed_at(first_touch_at, disqualified_at),
    }


def _state_table() -> Table:
    table: Table = FollowupState.__table__  # type: ignore[attr-defined]
    return table


_COPY = (
    update(_state_table())
    .where(_state_table().c.lead_id == bindparam("b_lead"))
    .values(
        first_touch_at=bindparam("b_first_touch_at", type_=UTCDateTime()),
        closed_at=bindparam("b_closed_at", type_=UTCDateTime()),
    )
)


async def copy_closure(session: AsyncSession, lead_ids: Collection[int | None]) -> None:
    """Copy the current first touch and closure of these leads onto their follow-up rows
    (a lead not stored yet, id None, has none)."""
    ids = sorted({lead_id for lead_id in lead_ids if lead_id is not None})
    connection = await session.connection()
    for chunk in id_chunks(ids):
        rows = await session.exec(
            select(Lead.id, Lead.first_touch_at, Lead.disqualified_at).where(
                col(Lead.id).in_(chunk)
            )
        )
        params = [
            {f"b_{name}": value for name, value in closure(touched, disqualified).items()}
            | {"b_lead": lead_id}
            for lead_id, touched, disqualified in rows.all()
        ]
        if params:
            await connection.execute(_COPY, params)
