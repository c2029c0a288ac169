"""`slabot sandbox say` / `click`: a signed slash command or button click sent to a running bot,
and what the bot answers (its HTTP ack, then its messages to `response_url`) printed as text."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import typer
from aiohttp import web

from bot.cli.app import sandbox_app
from bot.cli.common import console, run, settings
from bot.errors import BadInput, NotReady
from bot.sandbox import slack_requests
from bot.sandbox.render import render_blocks

DEFAULT_USER = "U01SALESLEAD"  # the example agreement's sales lead (also an admin)
DEFAULT_CHANNEL = "C01SALES"  # the example agreement's sales channel
DEFAULT_WAIT = 10.0
# After a reply, more may follow (a change and then its confirmation); this long of silence ends it.
SETTLE = 0.5
RENDER_WIDTH = 78
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


@dataclass(frozen=True)
class Target:
    """Where the request goes and the secret that signs it."""

    url: str
    secret: str = field(repr=False)  # never shown, not even in a traceback's locals


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
    target = _target(to)

    def body(response_url: str) -> str:
        return slack_requests.command_form(
            words, user=user, channel=channel, response_url=response_url, trigger_id=_trigger()
        )

    _out(f"→ {COMMAND} {words}".rstrip() + f"  (as {user} in {channel}, to {target.url})")
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
) -> None:
    """Send a signed button click to the bot; print what it answers."""
    target = _target(to)

    def body(response_url: str) -> str:
        return slack_requests.block_actions_body(
            action_id,
            value,
            user=user,
            channel=channel,
            response_url=response_url,
            trigger_id=_trigger(),
            action_ts=time.time(),
        )

    _out(f"→ click {action_id} {value}".rstrip() + f"  (as {user} in {channel}, to {target.url})")
    if not run(converse(body, target, wait=wait, viewer=user)):
        # Not a failure: a click on an alert answers by editing the alert in its channel.
        _out(
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


def _target(to: str | None) -> Target:
    config = settings()
    if config.slack_signing_secret is None:
        raise BadInput(
            "missing setting: SLACK_SIGNING_SECRET (the one the bot was started with, "
            "so the bot accepts the requests signed here)"
        )
    url = to or f"http://127.0.0.1:{config.port}/slack/events"
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"--to: {url!r} is not an http:// or https:// URL")
    return Target(url, config.slack_signing_secret.get_secret_value())


def _trigger() -> str:
    # A fresh trigger id per request: the bot applies a changing request once per trigger id.
    return slack_requests.trigger_id(time.time_ns() // 1000)


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
        body = build(receiver.url)
        headers = {
            "Content-Type": slack_requests.FORM,
            **slack_requests.sign(body, secret=target.secret, timestamp=int(time.time())),
        }
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(target.url, content=body, headers=headers)
        except httpx.TransportError:
            raise NotReady(
                f"no bot answers at {target.url}; start it with `slabot run` (see `slabot sandbox`)"
            ) from None
        if answer.status_code == 401:
            raise NotReady(
                f"the bot at {target.url} refused the signature (HTTP 401): SLACK_SIGNING_SECRET "
                "here differs from the bot's"
            )
        in_ack = _show_ack(answer, viewer)
        if not answer.is_success:
            raise NotReady(f"the bot at {target.url} answered HTTP {answer.status_code}")
        if in_ack:
            return True  # the ack carried the answer (e.g. a mistake in the words): nothing follows
        shown = await _replies(receiver.replies, wait=wait, show=lambda m: _show(m, viewer))
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


def _show_ack(answer: httpx.Response, viewer: str) -> bool:
    """Print Slack's view of the HTTP answer; True when it carries a message."""
    _out(f"← HTTP {answer.status_code}" + (" (acknowledged)" if answer.is_success else ""))
    if not answer.content:
        return False
    try:
        message = answer.json()
    except json.JSONDecodeError:
        _out(answer.text)
        return False
    if isinstance(message, dict) and ("text" in message or "blocks" in message):
        _show(message, viewer, via="in the acknowledgement")
        return True
    _out(answer.text)
    return False


def _show(message: dict[str, Any], viewer: str, *, via: str = "via response_url") -> None:
    _out(f"← reply {via} ({_audience(message, viewer)}):")
    _out(message_text(message, width=min(console.width, RENDER_WIDTH)))


def message_text(message: dict[str, Any], *, width: int = RENDER_WIDTH) -> str:
    """A message as a person reads it: its blocks, or only its text when it has none."""
    blocks = message.get("blocks") or []
    if blocks:
        return render_blocks(blocks, width=width)
    return str(message.get("text") or "")


def _audience(message: dict[str, Any], viewer: str) -> str:
    if message.get("delete_original"):
        return "deletes the message"
    seen = "everyone in the channel" if message.get("response_type") == "in_channel" else viewer
    replaces = ", replacing the message" if message.get("replace_original") else ""
    return f"seen by {seen}{replaces}"


def _out(text: str) -> None:
    # Plain output: block text has [brackets] and :emoji: codes that rich would reinterpret.
    console.print(text, markup=False, emoji=False, highlight=False)
