"""Clicks on the App Home's buttons and modal submissions, as Slack sends them."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.slack import TEAM_ID
from tests.utils.slack_bot import Sent, SlackBot


async def click_on_home(bot: SlackBot, action_id: str, *, user: str) -> Sent:
    """A button on the App Home: no channel and no `response_url`, only a trigger."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0SLABOT01",
        "container": {"type": "view", "view_id": f"V{user}"},
        "view": {"id": f"V{user}", "type": "home", "blocks": []},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "home_edit",
                "type": "button",
                "value": "x",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
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
