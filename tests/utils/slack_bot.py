"""The bot as Slack meets it: the real Bolt app behind its real HTTP listener, fed signed requests.

`SlackBot` runs `bot.server.web_app` on a loopback port against a test's store, with the Web API
pointed at a `FakeSlack`. Its helpers send the bodies `bot.sandbox.slack_requests` builds for
slash commands, button clicks, view submissions and events, signed with the test's signing secret
(or tampered with), and wait for what the bot sends back through `response_url` or the Web API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Deps, build_app
from bot.sandbox import slack_requests
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_requests import FORM, JSON
from bot.server import EVENTS_PATH, web_app
from bot.settings import Settings

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test secret, not a real one
CHANNEL = "C0TESTCHAN1"


def settings_for(database_url: str, fake: FakeSlack, **more: Any) -> Settings:
    values = {
        "SLABOT_DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        **more,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sign(
    body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """The headers Slack sends with `body`, signed now (or at `timestamp`) with the test secret."""
    stamp = timestamp if timestamp is not None else int(time.time())
    return slack_requests.sign(body, secret=secret, timestamp=stamp)


@dataclass
class Sent:
    """A request sent to the bot: Slack's HTTP answer and where the bot may reply later."""

    response: httpx.Response
    response_url: str | None = None
    trigger_id: str | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        return self.response.json() if self.response.content else None


@dataclass
class SlackBot:
    fake: FakeSlack
    engine: AsyncEngine
    settings: Settings
    at: datetime
    deps: Deps = field(init=False)
    url: str = ""
    _runner: web.AppRunner | None = None
    _http: httpx.AsyncClient | None = None
    _triggers: int = 0

    async def start(self) -> SlackBot:
        self.deps = Deps(engine=self.engine, settings=self.settings, now=lambda: self.at)
        server = web_app(build_app(self.deps), self.deps)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host="127.0.0.1", port=0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._http = httpx.AsyncClient(base_url=self.url, timeout=10)
        return self

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- sending -------------------------------------------------------------------------------

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """`deadline`: give up waiting for the acknowledgement after that many seconds, as
        Slack does after three (the request then fails with a time-out)."""
        assert self._http is not None, "start() the bot first"
        sent = {"Content-Type": content_type}
        if signed:
            sent.update(sign(body, timestamp=timestamp))
        sent.update(headers or {})
        timeout = httpx.USE_CLIENT_DEFAULT if deadline is None else deadline
        return await self._http.post(EVENTS_PATH, content=body, headers=sent, timeout=timeout)

    def trigger_id(self) -> str:
        self._triggers += 1
        return slack_requests.trigger_id(self._triggers)

    async def command(
        self, text: str, *, user: str = "U0MEMBER01", channel: str = CHANNEL, **options: Any
    ) -> Sent:
        """`/sla text` typed by `user` in `channel`."""
        response_url = self.fake.response_url()
        trigger = options.pop("trigger_id", None) or self.trigger_id()
        form = slack_requests.command_form(
            text, user=user, channel=channel, response_url=response_url, trigger_id=trigger
        )
        response = await self.post(form, FORM, **options)
        return Sent(response, response_url, trigger)

    async def interaction(self, payload: dict[str, Any], **options: Any) -> Sent:
        """A `block_actions` or `view_submission` payload, form-encoded as Slack sends it."""
        payload = {**payload}
        payload.setdefault("trigger_id", self.trigger_id())
        body = slack_requests.interaction_body(payload)
        response = await self.post(body, FORM, **options)
        return Sent(response, payload.get("response_url"), payload["trigger_id"])

    async def click(
        self,
        action_id: str,
        value: str = "",
        *,
        user: str = "U0MEMBER01",
        message: dict[str, Any] | None = None,
        channel: str = CHANNEL,
        selected: dict[str, Any] | None = None,
        trigger_id: str | None = None,
        **options: Any,
    ) -> Sent:
        """A click on a button (or a select's choice, `selected`); a repeated `trigger_id` is a retry."""
        payload = slack_requests.block_actions_payload(
            action_id,
            value,
            user=user,
            channel=channel,
            response_url=self.fake.response_url(),
            action_ts=time.time(),
            message=message,
            selected=selected,
            trigger_id=trigger_id,
        )
        return await self.interaction(payload, **options)

    async def submit(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user: str = "U0MEMBER01",
        private_metadata: str = "",
        **options: Any,
    ) -> Sent:
        """A modal submitted; `values` is `view.state.values` (block_id -> action_id -> value)."""
        payload = slack_requests.view_submission_payload(
            callback_id, values, user=user, private_metadata=private_metadata
        )
        return await self.interaction(payload, **options)

    async def event(
        self, event: dict[str, Any], *, event_id: str = "Ev0000000001", **options: Any
    ) -> Sent:
        """An Events API delivery (`headers={"X-Slack-Retry-Num": "1"}` for a redelivery)."""
        body = slack_requests.event_body(event, event_id=event_id, event_time=int(time.time()))
        return Sent(await self.post(body, JSON, **options))

    # --- waiting for replies -------------------------------------------------------------------

    async def replies(
        self, sent: Sent, count: int = 1, *, wait: float = 5.0
    ) -> list[dict[str, Any]]:
        """What the bot sent to the request's `response_url`, once `count` arrived."""
        assert sent.response_url is not None
        return await self.until(
            lambda: self.fake.responses_to(sent.response_url or ""), count, wait
        )

    async def until(
        self, seen: Callable[[], list[Any]], count: int = 1, wait: float = 5.0
    ) -> list[Any]:
        """Poll `seen()` until it holds `count` items (slow work runs after the ack)."""
        deadline = time.monotonic() + wait
        while True:
            items = seen()
            if len(items) >= count or time.monotonic() > deadline:
                assert len(items) >= count, f"waited {wait} s for {count}, got {items!r}"
                return items
            await asyncio.sleep(0.01)
