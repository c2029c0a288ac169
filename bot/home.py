"""What a person's App Home shows: the status, their own open leads, recent wins, what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.lead_views import LeadView, open_leads_of
from bot.permissions import may_edit_agreement
from bot.status import StatusReport, build_status
from models.agreement import Agreement
from models.tables import Win

MY_LEADS = 10
RECENT_WINS = 5


@dataclass(frozen=True)
class Home:
    """One viewer's dashboard at an instant."""

    viewer: str
    report: StatusReport
    my_leads: list[LeadView]
    my_open: int  # every open lead of the viewer; `my_leads` holds the nearest few
    wins: list[Win]
    may_edit: bool


async def recent_wins(
    session: AsyncSession, *, at: datetime, limit: int = RECENT_WINS
) -> list[Win]:
    """The latest wins recorded by `at` (the `win.at` index, newest first)."""
    rows = await session.exec(
        select(Win).where(col(Win.at) <= at).order_by(col(Win.at).desc()).limit(limit)
    )
    return list(rows.all())


async def home_of(
    session: AsyncSession, agreement: Agreement, *, viewer: str, at: datetime
) -> Home:
    """Everything the viewer's Home tab shows at `at`."""
    my_open, my_leads = await open_leads_of(session, agreement, user=viewer, at=at, limit=MY_LEADS)
    return Home(
        viewer=viewer,
        report=await build_status(session, agreement, at=at),
        my_leads=my_leads,
        my_open=my_open,
        wins=await recent_wins(session, at=at),
        may_edit=may_edit_agreement(agreement, viewer).allowed,
    )
