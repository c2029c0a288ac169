"""Clicks on the App Home's buttons and modal submissions, as Slack sends them."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.slack_requests import block_actions_payload
from tests.utils.slack_bot import Sent, SlackBot


async def click_on_home(bot: SlackBot, action_id: str, *, user: str) -> Sent:
    """A button on the App Home: no channel and no `response_url`, only a trigger."""
    payload = block_actions_payload(
        action_id, "x", user=user, channel="", response_url="", action_ts=time.time()
    )
    # The Home tab is a view, not a message: there is nothing to answer in or through.
    for key in ("channel", "message", "response_url"):
        del payload[key]
    payload["container"] = {"type": "view", "view_id": f"V{user}"}
    payload["view"] = {"id": f"V{user}", "type": "home", "blocks": []}
    payload["actions"][0]["block_id"] = "home_edit"
    return await bot.interaction(payload)


def text_values(values: dict[str, str]) -> dict[str, dict[str, Any]]:
    """`view.state.values` of text inputs (action id `value`) by block id."""
    return {
        block: {"value": {"type": "plain_text_input", "value": value}}
        for block, value in values.items()
    }


def user_values(values: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """`view.state.values` of user pickers (action id `user`) by block id."""
    return {
        block: {"user": {"type": "users_select", "selected_user": user}}
        for block, user in values.items()
    }
