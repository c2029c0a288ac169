"""Submission of the owners modal: each CRM owner picked gets that Slack user."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from sqlmodel import col, func, update

from bot.app import deps_of
from bot.blocks.modals import MAP_OWNERS, OWNER_PREFIX, USER, saved_modal
from handlers.views.guard import Allowed, allowed, values_of
from models.db import session_scope
from models.tables import Owner


def picked(view: dict[str, Any]) -> dict[str, str]:
    """Owner email (lower case) -> the Slack user picked for it; empty pickers left out."""
    out = {}
    for block, elements in values_of(view).items():
        user = (
            (elements.get(USER) or {}).get("selected_user") if isinstance(elements, dict) else None
        )
        if block.startswith(OWNER_PREFIX) and user:
            out[block.removeprefix(OWNER_PREFIX).strip().lower()] = str(user)
    return out


async def submit_owners(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    user, at = body["user"]["id"], deps.now()
    choices = picked(view)
    async with session_scope(deps.engine) as session:
        ok = await allowed(session, view, user=user, at=at, stale_check=False)
        if isinstance(ok, Allowed):
            for email, slack_user in choices.items():
                # Every source's record of the same person (owners are per source).
                await session.exec(
                    update(Owner)
                    .where(func.lower(col(Owner.email)) == email)
                    .values(slack_user_id=slack_user, slack_checked_at=at)
                )
            lines = [f"{email} is <@{slack_user}>" for email, slack_user in sorted(choices.items())]
            answer: dict[str, Any] = {
                "response_action": "update",
                "view": saved_modal(
                    "Owners mapped", lines or ["Nobody was picked; nothing changed."]
                ),
            }
        else:
            answer = ok
    deps.status.invalidate()  # the status lists owners with no Slack user
    await ack(**answer)


def register(app: AsyncApp) -> None:
    app.view(MAP_OWNERS)(submit_owners)
