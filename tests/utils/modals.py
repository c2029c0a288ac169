"""Clicks on the App Home's buttons and modal submissions, as Slack sends them."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.slack_requests import home_block_actions_payload
from tests.utils.slack_bot import Sent, SlackBot


async def click_on_home(bot: SlackBot, action_id: str, *, user: str) -> Sent:
    """A button on `user`'s App Home tab, as the fake Slack holds it (or a bare one when the bot
    has published none): Slack sends the view, no channel and no `response_url`."""
    payload = home_block_actions_payload(
        action_id, user=user, action_ts=time.time(), view=bot.fake.home.get(user)
    )
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
