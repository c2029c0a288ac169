"""Who the bot is in Slack (`auth.test`), asked once per process and shared by every request.

Bolt's single-workspace default asks on the first request and keeps the answer, but each
request that arrives before the answer asks again: a burst on a cold replica makes one call per
request, and a slow answer holds up every first acknowledgement. Here one call is made (at start
by `run_bot`, else by the first request, the others waiting for it), and a failed one is asked
again by the next request.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack import slack_error

log = logging.getLogger("slabot.slack")


class BotIdentity:
    """The answer of `auth.test` for the bot token of `client`, as Bolt's `authorize`."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._answer: AsyncSlackResponse | None = None
        self._lock = asyncio.Lock()

        # Bolt calls `authorize` with the arguments its signature names, so a plain function
        # (a bound method's `self` would be taken for one of them).
        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return await self.result(enterprise_id, team_id, user_id)

        self.authorize = authorize

    async def answer(self) -> AsyncSlackResponse:
        if self._answer is not None:  # every request after the first: no lock, no await
            return self._answer
        async with self._lock:
            if self._answer is None:
                self._answer = await self.client.auth_test()
            return self._answer

    async def warm(self) -> bool:
        """Ask before the first request; on failure the first request asks (and says why)."""
        try:
            await self.answer()
        except Exception as exc:
            log.warning("auth.test at start failed: %s", slack_error(exc, "auth.test"))
            return False
        return True

    async def result(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        """What Bolt's `authorize` gives: the bot's ids and token, whoever sent the request."""
        answer = await self.answer()
        scopes = answer.headers.get("x-oauth-scopes") if answer.headers else None
        return AuthorizeResult(
            enterprise_id=answer.get("enterprise_id") or enterprise_id,
            team_id=answer.get("team_id") or team_id,
            bot_id=answer.get("bot_id"),
            bot_user_id=answer.get("user_id"),
            bot_token=self.client.token,
            user_id=user_id,
            bot_scopes=scopes,
        )
