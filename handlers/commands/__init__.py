"""The `/sla` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

HELP = "Try `/sla status`."


async def sla(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    await respond(text=HELP, response_type="ephemeral")


def register(app: AsyncApp) -> None:
    app.command("/sla")(sla)
