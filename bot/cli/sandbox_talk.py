"""Talking to the running bot as Slack does, for `slabot sandbox say` / `click`: where to send,
a signed POST, and the bot's answers printed as a person reads them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.cli.common import console, settings
from bot.errors import BadInput, NotReady
from bot.sandbox import slack_requests
from bot.sandbox.render import render_blocks

RENDER_WIDTH = 78
# After an answer, more may follow (a change, then its confirmation); this long of silence ends it.
SETTLE = 0.5


@dataclass(frozen=True)
class Target:
    """Where the request goes and the secret that signs it."""

    url: str
    secret: str = field(repr=False)  # never shown, not even in a traceback's locals


def target_of(to: str | None) -> Target:
    """The bot's request URL (`--to`, else the local `SLABOT_PORT`) and the signing secret."""
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


def fresh_trigger() -> str:
    # A fresh trigger id per request: the bot applies a changing request once per trigger id.
    return slack_requests.trigger_id(time.time_ns() // 1000)


async def post_signed(
    http: httpx.AsyncClient, body: str, target: Target, *, content_type: str = slack_requests.FORM
) -> httpx.Response:
    """`body` signed now and POSTed to the bot; a bot that is away or refuses the signature
    is reported with what to do."""
    headers = {
        "Content-Type": content_type,
        **slack_requests.sign(body, secret=target.secret, timestamp=int(time.time())),
    }
    try:
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
    return answer


def show_ack(answer: httpx.Response, viewer: str) -> bool:
    """Print Slack's view of the HTTP answer; True when it carries a message."""
    out(f"← HTTP {answer.status_code}" + (" (acknowledged)" if answer.is_success else ""))
    if not answer.content:
        return False
    try:
        message = answer.json()
    except json.JSONDecodeError:
        out(answer.text)
        return False
    if isinstance(message, dict) and ("text" in message or "blocks" in message):
        show_message(message, viewer, via="in the acknowledgement")
        return True
    out(answer.text)
    return False


def show_message(message: dict[str, Any], viewer: str, *, via: str = "via response_url") -> None:
    out(f"← reply {via} ({_audience(message, viewer)}):")
    out(message_text(message, width=width()))


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


def width() -> int:
    """How wide to draw blocks: the terminal's width, at most `RENDER_WIDTH`."""
    return min(console.width, RENDER_WIDTH)


def out(text: str) -> None:
    # Plain output: block text has [brackets] and :emoji: codes that rich would reinterpret.
    console.print(text, markup=False, emoji=False, highlight=False)
