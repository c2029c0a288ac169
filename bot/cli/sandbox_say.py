"""`slabot sandbox say` / `click`: a signed slash command or button click sent to a running bot,
and what the bot answers (its HTTP ack, then its messages to `response_url`) printed as text.
A click on the App Home tab (`click --home`) is in `sandbox_home`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from aiohttp import web

from bot.cli.app import sandbox_app
from bot.cli.common import run
from bot.cli.sandbox_home import click_on_home, fake_slack_url
from bot.cli.sandbox_talk import (
    SETTLE,
    Target,
    fresh_trigger,
    out,
    post_signed,
    show_ack,
    show_message,
    target_of,
)
from bot.errors import BadInput, NotReady
from bot.sandbox import slack_requests

DEFAULT_USER = "U01SALESLEAD"  # the example agreement's sales lead (also an admin)
DEFAULT_CHANNEL = "C01SALES"  # the example agreement's sales channel
DEFAULT_WAIT = 10.0
COMMAND = "/sla"

USER_OPTION = typer.Option(DEFAULT_USER, "--user", help="The Slack member id acting.")
CHANNEL_OPTION = typer.Option(DEFAULT_CHANNEL, "--channel", help="The channel it happens in.")
TO_OPTION = typer.Option(
    None,
    "--to",
    help="The bot's request URL [default: http://127.0.0.1:<SLABOT_PORT>/slack/events].",
)
WAIT_OPTION = typer.Option(
    DEFAULT_WAIT, "--wait", min=0, help="Seconds to wait for the bot's replies."
)
HOME_OPTION = typer.Option(
    False,
    "--home",
    help="Click the button on the user's App Home tab (opened first if the bot has published "
    "none) instead of on a message; prints the modal it opens or the Home tab published again.",
)


@sandbox_app.command("say")
def say_command(
    text: str = typer.Argument(..., help='What a person types, e.g. "/sla status".'),
    user: str = USER_OPTION,
    channel: str = CHANNEL_OPTION,
    to: str | None = TO_OPTION,
    wait: float = WAIT_OPTION,
) -> None:
    """Send a signed `/sla` command to the bot; print what it answers."""
    words = command_text(text)
    target = target_of(to)

    def body(response_url: str) -> str:
        return slack_requests.command_form(
            words, user=user, channel=channel, response_url=response_url, trigger_id=fresh_trigger()
        )

    out(f"→ {COMMAND} {words}".rstrip() + f"  (as {user} in {channel}, to {target.url})")
    answered = run(converse(body, target, wait=wait, viewer=user))
    if not answered:
        raise NotReady(f"the bot acknowledged the command but sent no reply within {wait:g} s")


@sandbox_app.command("click")
def click_command(
    action_id: str = typer.Argument(..., help="The button's action id, e.g. lead_contacted."),
    value: str = typer.Argument("", help="The button's value, e.g. mql-first-touch/12."),
    user: str = USER_OPTION,
    channel: str = CHANNEL_OPTION,
    to: str | None = TO_OPTION,
    wait: float = WAIT_OPTION,
    home: bool = HOME_OPTION,
) -> None:
    """Send a signed button click to the bot; print what it answers."""
    target = target_of(to)
    if home:
        # The Home tab has no channel: `--channel` does not apply; the button's value is its own
        # unless one is given.
        api_url = fake_slack_url()
        run(
            click_on_home(
                action_id, value or None, user=user, target=target, api_url=api_url, wait=wait
            )
        )
        return

    def body(response_url: str) -> str:
        return slack_requests.block_actions_body(
            action_id,
            value,
            user=user,
            channel=channel,
            response_url=response_url,
            trigger_id=fresh_trigger(),
            action_ts=time.time(),
        )

    out(f"→ click {action_id} {value}".rstrip() + f"  (as {user} in {channel}, to {target.url})")
    if not run(converse(body, target, wait=wait, viewer=user)):
        # Not a failure: a click on an alert answers by editing the alert in its channel.
        out(
            f"(no reply through response_url within {wait:g} s; "
            "a click that worked answers by editing the message it was on)"
        )


def command_text(typed: str) -> str:
    """The command's text from what a person types: `/sla status`, or just `status`."""
    words = typed.strip()
    if not words.startswith("/"):
        return words
    first, *rest = words.split(maxsplit=1)
    if first.lower() != COMMAND:
        raise BadInput(
            f'{first}: the bot answers {COMMAND} only; e.g. slabot sandbox say "{COMMAND} status"'
        )
    return rest[0] if rest else ""


@dataclass(frozen=True)
class Receiver:
    """Our stand-in for Slack's `response_url`: what the bot posts there, in arrival order."""

    url: str
    replies: asyncio.Queue[dict[str, Any]]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A tiny HTTP server on 127.0.0.1 (an ephemeral port) that keeps the messages posted to it."""
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        try:
            message = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        await replies.put(message if isinstance(message, dict) else {"text": str(message)})
        return web.json_response({"ok": True})

    server = web.Application()
    server.router.add_post("/{hook:.*}", receive)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host="127.0.0.1", port=0)
        await site.start()
        port = runner.addresses[0][1]
        yield Receiver(f"http://127.0.0.1:{port}/respond/sandbox", replies)
    finally:
        await runner.cleanup()


async def converse(
    build: Callable[[str], str], target: Target, *, wait: float, viewer: str
) -> bool:
    """Send the body `build(response_url)` signed; print the ack and each reply. Answered?"""
    async with receiving() as receiver:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await post_signed(http, build(receiver.url), target)
        in_ack = show_ack(answer, viewer)
        if not answer.is_success:
            raise NotReady(f"the bot at {target.url} answered HTTP {answer.status_code}")
        if in_ack:
            return True  # the ack carried the answer (e.g. a mistake in the words): nothing follows
        shown = await _replies(receiver.replies, wait=wait, show=lambda m: show_message(m, viewer))
        return shown > 0


async def _replies(
    queue: asyncio.Queue[dict[str, Any]], *, wait: float, show: Callable[[dict[str, Any]], None]
) -> int:
    """Show replies as they come until `wait` is up, or `SETTLE` of silence after one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    shown = 0
    while True:
        remaining = deadline - loop.time()
        if shown:
            remaining = min(remaining, SETTLE)
        if remaining <= 0:
            return shown
        try:
            message = await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            return shown
        show(message)
        shown += 1
