"""Who the bot is in Slack (`auth.test`), asked once per process and shared by every request.

Bolt's single-workspace default asks on the first request and keeps the answer, but each
request that arrives before the answer asks again: a burst on a cold replica makes one call per
request, and a slow answer holds up every first acknowledgement. Here one call is made (at start
by `run_bot`, else by the first request, the others waiting for it), and a failed one is asked
again by the next request. A request waits for that answer `PATIENCE` at most, then goes on
without the bot's ids (only self-events need them; the bot subscribes to `app_home_opened`
alone), so a slow `auth.test` cannot make Slack's three-second acknowledgement fail.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack import slack_error

log = logging.getLogger("slabot.slack")

PATIENCE = 1.0  # seconds a request waits for auth.test: well inside Slack's 3 s for the ack


class BotIdentity:
    """The answer of `auth.test` for the bot token of `client`, as Bolt's `authorize`."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._answer: AsyncSlackResponse | None = None
        self._asking: asyncio.Task[AsyncSlackResponse] | None = None
        self._warned: asyncio.Task[AsyncSlackResponse] | None = None  # the call said to be slow

        # Bolt calls `authorize` with the arguments its signature names, so a plain function
        # (a bound method's `self` would be taken for one of them).
        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return await self.result(enterprise_id, team_id, user_id)

        self.authorize = authorize

    async def answer(self, patience: float | None = None) -> AsyncSlackResponse | None:
        """Slack's answer; None if it has not come within `patience` seconds (the one call
        goes on, and the next request finds its answer)."""
        if self._answer is not None:  # every request after the first: no await
            return self._answer
        if self._asking is None or self._asking.done():  # the first ask, or a failed one
            self._asking = asyncio.create_task(self._ask(), name="slabot-auth-test")
            self._asking.add_done_callback(_retrieved)
        asking = self._asking
        waiting = asyncio.shield(asking)  # a waiter's time-out does not cancel the call
        if patience is None:
            return await waiting
        try:
            return await asyncio.wait_for(waiting, patience)
        except TimeoutError:
            if not asking.done():
                return None
            return asking.result()  # the call's own time-out (a failed ask), or a late answer

    async def _ask(self) -> AsyncSlackResponse:
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
        answer = await self.answer(PATIENCE)
        if answer is None:
            if self._asking is not None and self._asking is not self._warned:
                self._warned = self._asking  # once per slow call, not once per request
                log.warning(
                    "auth.test has not answered in %.0f s; going on without the bot's ids", PATIENCE
                )
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=self.client.token,
                user_id=user_id,
            )
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


def _retrieved(task: asyncio.Task[AsyncSlackResponse]) -> None:
    """A failed ask no request waited for is not reported as "never retrieved": the next
    request asks again and says why."""
    if not task.cancelled():
        task.exception()
