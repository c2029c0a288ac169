"""The App Home's buttons that open the modals of admins and team leads (others are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.agreement_edits import target_fields
from bot.app import deps_of
from bot.blocks.common import Reply
from bot.blocks.modals import (
    OPEN_REVISE,
    OPEN_TARGETS,
    OPENERS,
    owners_modal,
    revise_modal,
    targets_modal,
)
from bot.permissions import may_edit_agreement
from bot.status import owners_without_slack
from handlers.common import NO_AGREEMENT
from handlers.replies import tell_privately
from models.agreements import agreement_of, version_in_force
from models.db import session_scope


async def open_modal(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    user = body["user"]["id"]
    async with session_scope(deps.engine) as session:
        view = await _modal_for(session, action["action_id"], user=user, at=deps.now())
    # Slack is called once the store is let go of; the trigger is valid for 3 s from the
    # click, and the reads above are a few queries.
    if isinstance(view, Reply):
        await tell_privately(client, body, respond, view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def _modal_for(
    session: AsyncSession, kind: str, *, user: str, at: datetime
) -> dict[str, Any] | Reply:
    """The modal a button opens, or the reply refusing it."""
    version = await version_in_force(session, at)
    if version is None:
        return NO_AGREEMENT
    agreement = agreement_of(version)
    decision = may_edit_agreement(agreement, user)
    if not decision.allowed:
        return Reply(decision.refusal)
    if kind == OPEN_TARGETS:
        return targets_modal(agreement, version.version, target_fields(agreement))
    if kind == OPEN_REVISE:
        return revise_modal(agreement, version.version, version.source_text)
    owners = await owners_without_slack(session)
    return owners_modal([(owner.email, owner.name) for owner in owners])


def register(app: AsyncApp) -> None:
    for action_id in OPENERS:
        app.action(action_id)(open_modal)
