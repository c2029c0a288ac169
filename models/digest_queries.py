"""Store reads for the digests: won deals, recorded wins, kudos and first touches in a window.

Windows are inclusive local dates turned into UTC instants by `models.kpi_queries.utc_bounds`
(DST-correct); `as_of` cuts off what was not yet known at the end of the reported window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import Agreement
from models.kpi_queries import DateRange, utc_bounds
from models.tables import Deal, FollowupState, Kudos, Lead, Win


@dataclass(frozen=True)
class DealWon:
    deal: str
    amount: Decimal
    owner: str | None
    won_at: datetime


@dataclass(frozen=True)
class Recorded:
    """A win recorded by the celebrations (milestone, streak) or kudos between people."""

    kind: str
    title: str
    amount: Decimal | None
    user: str | None  # who won it, or who gave the kudos
    at: datetime
    to_user: str | None = None  # who received the kudos


async def deals_won(
    *, session: AsyncSession, agreement: Agreement, window: DateRange
) -> list[DealWon]:
    """Deals won in the window, oldest first (ties by id, so the order is stable)."""
    first, after = utc_bounds(window, agreement.zone)
    won = col(Deal.closed_won_at)
    rows = await session.exec(
        select(Deal).where(won >= first, won < after).order_by(won, col(Deal.external_id))
    )
    out = []
    for deal in rows.all():
        assert deal.closed_won_at is not None
        out.append(
            DealWon(deal.external_id, Decimal(deal.amount), deal.owner_email, deal.closed_won_at)
        )
    return out


async def recorded_wins(
    *, session: AsyncSession, agreement: Agreement, window: DateRange
) -> list[Recorded]:
    """Milestones, streaks (not deals: those come from `deals_won`) and kudos in the window,
    oldest first."""
    first, after = utc_bounds(window, agreement.zone)
    wins = await session.exec(
        select(Win)
        .where(col(Win.at) >= first, col(Win.at) < after, col(Win.kind) != "deal")
        .order_by(col(Win.at), col(Win.key))
    )
    out = [Recorded(w.kind, w.title, w.amount, w.user, w.at) for w in wins.all()]
    kudos = await session.exec(
        select(Kudos)
        .where(col(Kudos.at) >= first, col(Kudos.at) < after)
        .order_by(col(Kudos.at), col(Kudos.id))
    )
    out += [Recorded("kudos", k.text, None, k.from_user, k.at, k.to_user) for k in kudos.all()]
    return sorted(out, key=lambda item: item.at)  # stable: same-instant rows keep their order


async def first_touches(
    *, session: AsyncSession, rule: str, start: datetime, as_of: datetime
) -> list[tuple[datetime, datetime]]:
    """(hand-off, first touch) of a rule's leads handed off in [start, as_of] and touched by then."""
    touch = col(Lead.first_touch_at)
    handed = col(FollowupState.handed_off_at)
    rows = await session.exec(
        select(FollowupState.handed_off_at, Lead.first_touch_at)
        .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        .where(
            col(FollowupState.rule) == rule,
            handed >= start,
            handed <= as_of,
            touch.is_not(None),
            touch <= as_of,
        )
    )
    return [(handed_at, touched) for handed_at, touched in rows.all() if touched is not None]
