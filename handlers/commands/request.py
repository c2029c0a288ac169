"""What every `/sla` word handler gets, and the way it declines (ephemerally, writing nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import Deps
from bot.blocks.common import Reply
from bot.blocks.help import notice
from handlers.common import NO_AGREEMENT, agreement_at
from models.agreement import Agreement


class Declined(Exception):
    """The request cannot be done as asked; `reply` says why, privately."""

    # Raised inside a session scope, it rolls back what the handler began: nothing is written.

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply

    @classmethod
    def saying(cls, message: str) -> Declined:
        return cls(notice(message, icon=":warning:"))


@dataclass(frozen=True)
class Request:
    """Who asked, when (the bot's clock, read once), and how to reach the store and Slack."""

    deps: Deps
    user: str
    at: datetime
    client: AsyncWebClient


async def agreement_for(session: AsyncSession, request: Request) -> Agreement:
    """The agreement in force at the request's instant; without one, say how to store it."""
    agreement = await agreement_at(session, request.at)
    if agreement is None:
        raise Declined(NO_AGREEMENT)
    return agreement
