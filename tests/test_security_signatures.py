"""Every kind of Slack traffic at `/slack/events` is refused (401, nothing touched) unless signed.

The kinds are read from the listeners `handlers.register_listeners` registers, so a new command,
button, modal or event cannot be added without this file sending it forged. Each is sent
unsigned, signed with a wrong secret, 6 minutes stale, 6 minutes ahead, and altered after
signing: each gets 401, no row of any table changes and the fake Slack hears nothing. The same
body signed correctly is then served and does its work, so the refusals are not vacuous.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.app import build_app
from bot.sandbox.slack import TEAM_ID
from bot.server import EVENTS_PATH, web_app
from handlers import register_listeners
from models.db import session_scope
from models.tables import Owner
from tests.utils.agreements import example_text
from tests.utils.alerts import ADMIN, post_alert, press, store_with_leads
from tests.utils.modals import click_on_home, text_values, user_values
from tests.utils.slack_bot import SlackBot, sign
from tests.utils.store import snapshot

FORM = "application/x-www-form-urlencoded"
TOLERANCE = 5 * 60  # Slack's (and Bolt's) window for a request's timestamp


# --- the listeners the bot registers ---------------------------------------------------------


@dataclass
class Registered:
    """Stands in for the Bolt app while `register_listeners` runs, and writes down each listener."""

    listeners: list[tuple[str, str]] = field(default_factory=list)  # (kind, constraint)

    def middleware(self, function: Callable[..., Any]) -> Callable[..., Any]:
        return function  # middleware run for every kind; they are not traffic of their own

    def _kind(self, kind: str, constraint: object) -> Callable[[Any], Any]:
        assert isinstance(constraint, str), f"{kind} {constraint!r}: give each listener a name"
        self.listeners.append((kind, constraint))
        return lambda function: function

    def command(self, name: object) -> Callable[[Any], Any]:
        return self._kind("command", name)

    def action(self, action_id: object) -> Callable[[Any], Any]:
        return self._kind("action", action_id)

    def view(self, callback_id: object) -> Callable[[Any], Any]:
        return self._kind("view", callback_id)

    def event(self, event_type: object) -> Callable[[Any], Any]:
        return self._kind("event", event_type)

    def __getattr__(self, name: str) -> Any:
        # shortcut, options, message…: a kind of traffic this file does not send yet.
        raise AssertionError(f"handlers register an `app.{name}` listener; add its traffic here")


def registered_listeners() -> list[tuple[str, str]]:
    """(kind, name) of every listener the bot serves: /sla, action ids, callback ids, events."""
    recorder = Registered()
    register_listeners(recorder)  # type: ignore[arg-type]
    return recorder.listeners


LISTENERS = registered_listeners()
KINDS = [f"{kind}:{name}" for kind, name in LISTENERS] + ["url_verification"]


def test_every_registered_listener_is_in_the_list(slack_bot: SlackBot) -> None:
    """The recorder sees what the real app gets: nothing is registered another way."""
    app = build_app(slack_bot.deps)
    assert len(app._async_listeners) == len(LISTENERS)
    assert {kind for kind, _ in LISTENERS} == {"command", "action", "view", "event"}
    assert ("command", "/sla") in LISTENERS and ("event", "app_home_opened") in LISTENERS


# --- what the fake Slack has heard, before and after -------------------------------------------


@dataclass(frozen=True)
class Heard:
    """How much the fake Slack has received: Web API calls and `response_url` messages."""

    calls: int
    responses: int

    @classmethod
    def of(cls, bot: SlackBot) -> Heard:
        return cls(len(bot.fake.calls), len(bot.fake.responses))


# --- one request of each kind, as Slack would send it --------------------------------------------


async def captured(bot: SlackBot, send: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
    """The body and content type that `send` (a SlackBot helper) posts, captured unsent."""
    seen: list[tuple[str, str]] = []

    async def hold(body: str, content_type: str, **_: Any) -> httpx.Response:
        seen.append((body, content_type))
        return httpx.Response(200)

    bot.post = hold  # type: ignore[method-assign]
    try:
        await send()
    finally:
        del bot.post
    [request] = seen
    return request


async def prepared(bot: SlackBot) -> None:
    """Leads A, B, C breached or due soon, and a CRM owner without a Slack user."""
    await store_with_leads(bot)
    async with session_scope(bot.engine) as session:
        session.add(Owner(source="crm", external_id="9", email="bo@example.com", name="Bo"))


async def request_of(bot: SlackBot, kind: str) -> tuple[str, str]:
    """A request of `kind` by an admin that changes something when it is served."""
    listener, _, name = kind.partition(":")
    if kind == "url_verification":
        body = {"token": "legacy", "challenge": "c0ffee-challenge", "type": "url_verification"}
        return json.dumps(body), "application/json"
    if listener == "command":
        assert name == "/sla", f"a new slash command {name}: send it here"
        return await captured(bot, lambda: bot.command("log churned_customers 2", user=ADMIN))
    if listener == "action" and name.startswith("lead_"):
        alert = await post_alert(bot)
        choice = {"lead_snooze": "4h", "lead_not_a_fit": "duplicate", "lead_reassign": "U0BEN"}
        return await captured(
            bot, lambda: press(bot, alert, "A", name, choice.get(name), user=ADMIN)
        )
    if listener == "action" and name.startswith("open_"):
        return await captured(bot, lambda: click_on_home(bot, name, user=ADMIN))
    if listener == "view":
        submissions: dict[str, tuple[dict[str, Any], str]] = {
            "edit_targets": (text_values({"revenue_goal": "1300000"}), '{"v": 1}'),
            "revise_agreement": (
                text_values({"agreement": example_text().replace("1200000", "1250000")}),
                '{"v": 1}',
            ),
            "map_owners": (user_values({"owner/bo@example.com": "U0BO"}), ""),
        }
        values, metadata = submissions[name]
        return await captured(
            bot, lambda: bot.submit(name, values, user=ADMIN, private_metadata=metadata)
        )
    if listener == "event":
        event = {"type": name, "user": ADMIN, "tab": "home", "event_ts": f"{time.time():.6f}"}
        return await captured(bot, lambda: bot.event(event))
    raise AssertionError(f"no request of kind {kind}: add one")


def forgeries(body: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """What is sent, and the `post` options, for each way a request can fail the check."""
    now = int(time.time())
    # Altered after signing: someone acting as another user, or answering another challenge.
    altered = body.replace(ADMIN, "U0MALLORY1").replace("c0ffee", "decaf0")
    assert altered != body
    return {
        "unsigned": (body, {"signed": False}),
        "wrong secret": (body, {"signed": False, "headers": sign(body, secret="not-the-secret")}),
        "6 minutes old": (body, {"timestamp": now - TOLERANCE - 60}),
        "6 minutes ahead": (body, {"timestamp": now + TOLERANCE + 60}),
        "altered after signing": (altered, {"signed": False, "headers": sign(body)}),
    }


@pytest.mark.parametrize("kind", KINDS)
async def test_a_forged_request_gets_401_and_touches_nothing(
    slack_bot: SlackBot, kind: str
) -> None:
    await prepared(slack_bot)
    body, content_type = await request_of(slack_bot, kind)
    before, heard = await snapshot(slack_bot.engine), Heard.of(slack_bot)

    for how, (sent, options) in forgeries(body).items():
        response = await slack_bot.post(sent, content_type, **options)
        assert response.status_code == 401, f"{how}: {response.status_code} {response.text}"
        assert await snapshot(slack_bot.engine) == before, f"{how}: the store changed"
    await asyncio.sleep(0.2)  # anything a listener would do after its ack
    assert Heard.of(slack_bot) == heard, "a forged request reached Slack"
    assert await snapshot(slack_bot.engine) == before

    # The same request signed as Slack signs it is served and does its work.
    served = await slack_bot.post(body, content_type)
    assert served.status_code == 200, served.text
    if kind == "url_verification":
        assert served.json() == {"challenge": "c0ffee-challenge"}
        return
    if kind.startswith("view:"):
        assert served.json()["response_action"] == "update"  # saved
    else:  # it answered, edited an alert, opened a modal or published the Home tab
        await slack_bot.until(lambda: [] if Heard.of(slack_bot) == heard else [True])
    if not kind.startswith(("action:open_", "event:")):  # those two only read the store
        await asyncio.sleep(0.1)
        assert await snapshot(slack_bot.engine, leave_out=("slack_request",)) != before


async def test_an_ssl_check_is_answered_without_a_signature_and_does_nothing(
    slack_bot: SlackBot,
) -> None:
    """Slack's `ssl_check` carries no signature by design; Bolt answers it and runs nothing."""
    await prepared(slack_bot)
    before, heard = await snapshot(slack_bot.engine), Heard.of(slack_bot)
    body = f"ssl_check=1&token=legacy&team_id={TEAM_ID}&command=%2Fsla&text=log+visits+5"
    response = await slack_bot.post(body, FORM, signed=False)
    assert (response.status_code, response.text) == (200, "")
    await asyncio.sleep(0.2)
    assert Heard.of(slack_bot) == heard
    assert await snapshot(slack_bot.engine) == before


# --- the routes that take no Slack traffic ------------------------------------------------------


async def test_healthz_and_metrics_never_run_bolt(slack_bot: SlackBot) -> None:
    await prepared(slack_bot)
    before, heard = await snapshot(slack_bot.engine), Heard.of(slack_bot)
    body, content_type = await request_of(slack_bot, "command:/sla")
    headers = {"Content-Type": content_type, **sign(body)}
    async with httpx.AsyncClient(base_url=slack_bot.url) as http:
        for path in ("/healthz", "/metrics"):
            assert (await http.get(path, headers=headers)).status_code == 200
            # A signed Slack request sent there is not served: no route takes it.
            posted = await http.post(path, content=body, headers=headers)
            assert posted.status_code == 405
        metrics = (await http.get("/metrics")).text
    assert "slabot_requests_total{" not in metrics  # Bolt's dispatch counts every request
    await asyncio.sleep(0.2)
    assert Heard.of(slack_bot) == heard
    assert await snapshot(slack_bot.engine) == before


async def test_in_socket_mode_the_http_listener_takes_no_slack_traffic(
    slack_bot: SlackBot,
) -> None:
    await prepared(slack_bot)
    before, heard = await snapshot(slack_bot.engine), Heard.of(slack_bot)
    body, content_type = await request_of(slack_bot, "command:/sla")
    runner = web.AppRunner(web_app(None, slack_bot.deps), access_log=None)  # as with an app token
    await runner.setup()
    site = web.TCPSite(runner, host="127.0.0.1", port=0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            headers = {"Content-Type": content_type, **sign(body)}
            answer = await http.post(EVENTS_PATH, content=body, headers=headers)
            assert answer.status_code in (404, 405)
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await runner.cleanup()
    await asyncio.sleep(0.2)
    assert Heard.of(slack_bot) == heard
    assert await snapshot(slack_bot.engine) == before
