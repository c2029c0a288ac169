"""Recent wins for `/sla wins`: deals won and kudos given, newest first, up to an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.people import slack_user_of
from models.tables import Deal, Kudos

RECENT = 10  # of each kind; a message shows a handful


@dataclass(frozen=True)
class WonDeal:
    deal: str
    amount: Decimal
    owner: str | None  # a Slack user when known, else the CRM owner's email
    at: datetime


@dataclass(frozen=True)
class GivenKudos:
    from_user: str
    to_user: str
    text: str
    at: datetime


@dataclass(frozen=True)
class RecentWins:
    deals: list[WonDeal]
    kudos: list[GivenKudos]
    deals_won: int  # every deal won in [since, at]
    kudos_given: int


async def recent_wins(
    session: AsyncSession, *, since: datetime, at: datetime, recent: int = RECENT
) -> RecentWins:
    """The latest deals won and kudos given in [since, at], and how many of each in all."""
    won = col(Deal.closed_won_at)
    deal_rows = await session.exec(
        select(Deal).where(won >= since, won <= at).order_by(won.desc()).limit(recent)
    )
    deals = []
    for deal in deal_rows.all():
        assert deal.closed_won_at is not None
        owner = await slack_user_of(session, deal.owner_email) or deal.owner_email
        deals.append(WonDeal(deal.external_id, deal.amount, owner, deal.closed_won_at))
    given = col(Kudos.at)
    kudos_rows = await session.exec(
        select(Kudos).where(given >= since, given <= at).order_by(given.desc()).limit(recent)
    )
    kudos = [GivenKudos(k.from_user, k.to_user, k.text, k.at) for k in kudos_rows.all()]
    deals_won = await session.exec(select(func.count()).where(won >= since, won <= at))
    kudos_given = await session.exec(select(func.count()).where(given >= since, given <= at))
    return RecentWins(deals, kudos, int(deals_won.one()), int(kudos_given.one()))
