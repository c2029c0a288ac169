"""The `/sla` slash command: parse the words, ack at once, then answer through `respond()`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import commands as c
from bot.app import deps_of
from bot.blocks.common import Reply
from bot.blocks.help import help_reply, notice, problem_reply
from handlers.commands import changing, reading
from handlers.commands.request import Declined, Request

log = logging.getLogger("slabot.commands")

FAILED = notice(
    "Something went wrong on my side and nothing was changed; please try again in a minute.",
    icon=":x:",
)


async def answer(command: c.Command, request: Request) -> Reply:
    """The reply to a parsed command (each word's handler reads or changes, then renders)."""
    match command:
        case c.Help():
            return help_reply(command.word)
        case c.Status():
            return await reading.status(command, request)
        case c.Report():
            return await reading.report(command, request)
        case c.Leads():
            return await reading.leads(command, request)
        case c.ShowPlan():
            return await reading.plan(command, request)
        case c.ShowAgreement():
            return await reading.agreement(command, request)
        case c.Wins():
            return await reading.wins(command, request)
        case c.Log():
            return await changing.log_metric(command, request)
        case c.Ack():
            return await changing.ack(command, request)
        case c.Snooze():
            return await changing.snooze(command, request)
        case c.Away():
            return await changing.away(command, request)
        case c.Kudos():
            return await changing.kudos(command, request)
    raise AssertionError(f"no handler for {command!r}")  # every parsed command has one


async def sla(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """`/sla …`: a mistake in the words is the ack itself; anything else answers after it."""
    try:
        command = c.parse(str(body.get("text") or ""))
    except c.CommandError as error:
        await ack(response_type="ephemeral", **problem_reply(error).as_kwargs())
        return
    await ack()
    deps = deps_of(context)
    request = Request(deps=deps, user=str(body.get("user_id")), at=deps.now(), client=client)
    public = command.public
    try:
        reply = await answer(command, request)
        if isinstance(command, c.Log | c.Ack | c.Snooze | c.Away):
            deps.status.invalidate()  # people see their own change in the next status
    except Declined as declined:
        reply, public = declined.reply, False
    except c.CommandError as error:
        reply, public = problem_reply(error), False
    except Exception:
        log.exception("/sla %s failed", type(command).__name__.lower())
        deps.metrics.errors.labels("command").inc()
        reply, public = FAILED, False
    await respond(response_type="in_channel" if public else "ephemeral", **reply.as_kwargs())


def register(app: AsyncApp) -> None:
    app.command("/sla")(sla)
