"""Private replies to a click, wherever it came from: a message, a channel, or the App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.common import Reply
from bot.blocks.modals import notice_modal


async def tell_privately(
    client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, reply: Reply
) -> None:
    """An ephemeral reply to the user who clicked; from the App Home (no channel), a small modal."""
    user = str((body.get("user") or {}).get("id") or "")
    if body.get("response_url"):
        await respond(**reply.as_kwargs(), response_type="ephemeral", replace_original=False)
        return
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get(
        "id"
    )
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, **reply.as_kwargs())
        return
    await client.views_open(trigger_id=body["trigger_id"], view=notice_modal(reply.text))
