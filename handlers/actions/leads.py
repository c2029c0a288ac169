"""An alert's buttons: Contacted, Snooze, Not a fit, Reassign; then the alert shows the change."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.alert_actions import Outcome, act_on_lead, rebuilt_alert
from bot.app import deps_of
from bot.blocks.alerts import LEAD_ACTIONS, REASSIGN, parse_ref, read_alert
from bot.blocks.common import Reply
from bot.slack import is_call_failure, slack_error
from handlers.common import NO_AGREEMENT, agreement_at
from handlers.replies import tell_privately
from models.db import session_scope

log = logging.getLogger("slabot.actions")


def target(action: dict[str, Any]) -> tuple[tuple[str, int] | None, str]:
    """The (rule, lead id) a control acts on, and the choice made (snooze, reason, user)."""
    if action.get("type") == "users_select" or "selected_user" in action:
        block = str(action.get("block_id") or "").removeprefix("act/")
        return parse_ref(block), str(action.get("selected_user") or "")
    selected = action.get("selected_option")
    if selected:
        ref, _, choice = str(selected.get("value") or "").partition("|")
        return parse_ref(ref), choice
    return parse_ref(str(action.get("value") or "")), ""


async def lead_action(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    user, at = body["user"]["id"], deps.now()
    ref, choice = target(action)
    if ref is None:
        await tell_privately(client, body, respond, Reply("This control is not from an alert."))
        return
    async with session_scope(deps.engine) as session:
        agreement = await agreement_at(session, at)
        if agreement is None:
            outcome = Outcome(NO_AGREEMENT.text, refused=True)
        else:
            outcome = await act_on_lead(
                session,
                agreement,
                action=action["action_id"],
                rule_name=ref[0],
                lead_id=ref[1],
                choice=choice,
                user=user,
                at=at,
            )
    if outcome.written:
        deps.status.invalidate()  # the next status shows this change
    # Slack is called once the store is let go of.
    if not outcome.written:
        await tell_privately(client, body, respond, Reply(outcome.message))
    if outcome.refused:
        return
    ids = read_alert((body.get("message") or {}).get("blocks") or [])
    if ids is None:
        return
    reassigned = action["action_id"] == REASSIGN and outcome.written
    if reassigned:
        ids.reassigned_by[ref[1]] = user
    async with session_scope(deps.engine) as session:
        agreement = await agreement_at(session, at)
        reply = await rebuilt_alert(session, agreement, ids, at=at) if agreement else None
    if reply is None:
        return
    ts = await _update(client, body, respond, reply)
    channel = _channel(body)
    if reassigned and ts is not None and channel:
        # An edit notifies nobody; a reply in the alert's thread mentions the new owner.
        await client.chat_postMessage(channel=channel, thread_ts=ts, text=outcome.message)


def _channel(body: dict[str, Any]) -> str | None:
    container = body.get("container") or {}
    return container.get("channel_id") or (body.get("channel") or {}).get("id")


async def _update(
    client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, reply: Reply
) -> str | None:
    """Edit the alert in place so the channel sees each lead as it stands; returns its ts."""
    channel = _channel(body)
    ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
    if channel and ts:
        try:
            await client.chat_update(channel=channel, ts=str(ts), **reply.as_kwargs())
            return str(ts)
        except Exception as exc:
            if not is_call_failure(exc):
                raise
            # Refused, or no answer in time (maybe done): the response_url edits it too.
            log.warning("could not update the alert: %s", slack_error(exc, "chat.update"))
    if body.get("response_url"):
        await respond(**reply.as_kwargs(), replace_original=True)
    return None


def register(app: AsyncApp) -> None:
    for action_id in LEAD_ACTIONS:
        app.action(action_id)(lead_action)
