"""Slack users of CRM owners: a lead's owner as someone the bot can mention."""

from __future__ import annotations

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Owner


def looks_like_slack_user(owner: str) -> bool:
    """An owner written as a Slack user id (`U…`/`W…`) rather than an email."""
    return owner[:1] in ("U", "W") and "@" not in owner


async def slack_user_of(session: AsyncSession, owner: str | None) -> str | None:
    """The Slack user of a lead's owner (an email matched at sync, or a Slack id already)."""
    if owner is None or not owner.strip():
        return None
    if looks_like_slack_user(owner):
        return owner
    row = await session.exec(
        select(Owner.slack_user_id)
        .where(func.lower(col(Owner.email)) == owner.strip().lower())
        .where(col(Owner.slack_user_id).is_not(None))
        .limit(1)
    )
    return row.first()
