"""`/sla` under load: many signed commands at once against one replica, each to its ack and reply.

The replica is the bot's real aiohttp listener with the real Bolt dispatch (`bot.server.web_app`,
as `slabot run` serves it), on a store the bench filled, its status kept fresh as `slabot run`
keeps it. The Slack side (the fake Slack that receives the replies, and the senders) runs in a
process of its own when measuring, so the replica's event loop and interpreter are its own, as
behind Slack. Each request is timed to its HTTP acknowledgement (Slack's limit is 3 s) and to
its reply through `response_url`; a reply that never comes is a lost request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import httpx
from aiohttp import web

from bot.app import Deps, build_app
from bot.sandbox import slack_requests
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.server import EVENTS_PATH, web_app
from bot.settings import Settings
from bot.status_cache import refresh
from handlers.commands import FAILED
from models.db import create_engine
from tests.utils.slack_bot import SIGNING_SECRET

# The read commands of `bot.commands.WORDS`, sent in turn: the commands that only read.
MIX = (
    "status",
    "help",
    "plan",
    "leads",
    "leads mine",
    "leads breached",
    "leads due",
    "status sales",
    "agreement",
    "wins",
    "report",
    "help log",
)
CHANNEL = "C0BENCH001"
ACK_WAIT_S = 30.0  # an ack later than this is counted as none (Slack gives up after 3 s)
REPLY_WAIT_S = 120.0  # for the last reply after the last ack


@dataclass(frozen=True)
class Answer:
    """One request: its command, the ack's HTTP status (0: none) and when things arrived."""

    command: str
    status: int
    ack_seconds: float | None  # from sending to the HTTP acknowledgement
    reply_seconds: float | None  # from sending to the reply through response_url; None: lost
    reply: str | None  # a digest of the reply's text and blocks (the same reply, the same digest)
    failed: bool  # the reply is the bot's "something went wrong" notice


@dataclass(frozen=True)
class Burst:
    answers: tuple[Answer, ...]

    @property
    def acknowledged(self) -> int:
        return sum(1 for a in self.answers if a.status == 200)

    @property
    def replied(self) -> int:
        return sum(1 for a in self.answers if a.reply_seconds is not None)

    @property
    def failed(self) -> int:
        return sum(1 for a in self.answers if a.failed)

    @property
    def ack_seconds(self) -> list[float]:
        return [a.ack_seconds for a in self.answers if a.ack_seconds is not None]

    @property
    def reply_seconds(self) -> list[float]:
        return [a.reply_seconds for a in self.answers if a.reply_seconds is not None]


def replica_settings(database_url: str, slack_api_url: str) -> Settings:
    values: dict[str, Any] = {
        "SLABOT_DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
    }
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def replica(database_url: str, slack_api_url: str, *, at: datetime) -> AsyncIterator[str]:
    """The bot's HTTP listener on loopback, as `slabot run` serves it; yields its base URL."""
    engine = create_engine(database_url)
    settings = replica_settings(database_url, slack_api_url)
    deps = Deps(engine=engine, settings=settings, now=lambda: at)
    try:
        await refresh(deps.status, engine, at=at)  # what `keep_fresh` does in `slabot run`
        runner = web.AppRunner(web_app(build_app(deps), deps), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host="127.0.0.1", port=0).start()  # `serve`'s backlog
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()
    finally:
        await engine.dispose()


async def fire(
    bot_url: str, fake: FakeSlack, *, requests: int, user: str, wait: float = REPLY_WAIT_S
) -> Burst:
    """Send `requests` signed `/sla` commands (`MIX` in turn) at once; wait for the replies.

    One `/sla help` goes first, alone, to its reply: a replica that has served once has Bolt's
    `auth.test` answer cached, as any replica running for more than a moment has.
    """
    warm_url, body, headers = _command("help", fake, user, 0)
    async with httpx.AsyncClient(base_url=bot_url, timeout=ACK_WAIT_S) as http:
        (await http.post(EVENTS_PATH, content=body, headers=headers)).raise_for_status()
    await _replied(fake, [warm_url], wait)
    prepared = [
        (MIX[n % len(MIX)], *_command(MIX[n % len(MIX)], fake, user, n + 1))
        for n in range(requests)
    ]
    gate = asyncio.Event()
    # One connection per request, as concurrent deliveries from Slack arrive.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=bot_url, limits=limits, timeout=ACK_WAIT_S) as http:

        async def send(body: str, headers: dict[str, str]) -> tuple[int, float | None, float]:
            await gate.wait()
            started = time.monotonic()
            try:
                response = await http.post(EVENTS_PATH, content=body, headers=headers)
            except httpx.HTTPError:
                return 0, None, started
            return response.status_code, time.monotonic() - started, started

        tasks = [asyncio.create_task(send(body, headers)) for _, _, body, headers in prepared]
        await asyncio.sleep(0)  # every sender waits at the gate: they start together
        gate.set()
        acks = await asyncio.gather(*tasks)
    await _replied(fake, [url for _, url, _, _ in prepared], wait)
    answers = []
    for (text, url, _, _), (status, ack, started) in zip(prepared, acks, strict=True):
        replies = fake.responses_to(url)
        first = replies[0] if replies else None
        answers.append(
            Answer(
                command=text,
                status=status,
                ack_seconds=ack,
                reply_seconds=None if first is None else float(first["received_at"]) - started,
                reply=None if first is None else _digest(first),
                failed=first is not None and first.get("text") == FAILED.text,
            )
        )
    return Burst(tuple(answers))


def _command(text: str, fake: FakeSlack, user: str, number: int) -> tuple[str, str, dict[str, str]]:
    """A signed `/sla text`: its response_url, its body and its headers."""
    url = fake.response_url(channel=CHANNEL, origin=f"/sla {text}")
    body = slack_requests.command_form(
        text,
        user=user,
        channel=CHANNEL,
        response_url=url,
        trigger_id=slack_requests.trigger_id(number + 1),
    )
    signed = slack_requests.sign(body, secret=SIGNING_SECRET, timestamp=int(time.time()))
    return url, body, {"Content-Type": slack_requests.FORM, **signed}


def _digest(reply: dict[str, Any]) -> str:
    content = json.dumps([reply.get("text"), reply.get("blocks")], sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()


async def _replied(fake: FakeSlack, urls: list[str], wait: float) -> None:
    """Until every URL has its reply, or `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if all(fake.responses_to(url) for url in urls):
            return
        await asyncio.sleep(0.05)


async def sla_burst(
    database_url: str,
    *,
    at: datetime,
    requests: int,
    user: str,
    wait: float = REPLY_WAIT_S,
    slack_process: bool = True,
) -> Burst:
    """`requests` concurrent `/sla` commands against one replica on `database_url` at `at`;
    the fake Slack and the senders in a process of their own unless `slack_process` is off."""
    if not slack_process:
        with FakeSlack() as fake:
            async with replica(database_url, fake.url, at=at) as bot_url:
                return await fire(bot_url, fake, requests=requests, user=user, wait=wait)
    context = get_context("spawn")
    ours, theirs = context.Pipe()
    side = context.Process(
        target=_slack_side, args=(theirs, requests, user, wait), name="bench-slack", daemon=True
    )
    side.start()
    theirs.close()  # so that `recv` ends (EOFError) if the Slack side dies
    try:
        slack_api_url = await asyncio.to_thread(ours.recv)
        async with replica(database_url, slack_api_url, at=at) as bot_url:
            ours.send(bot_url)
            burst: Burst = await asyncio.to_thread(ours.recv)
    finally:
        ours.close()
        side.join(timeout=10)
        if side.is_alive():
            side.kill()
    return burst


def _slack_side(connection: Connection, requests: int, user: str, wait: float) -> None:
    """The Slack side in its own process: start the fake, learn the replica, fire, report."""
    with FakeSlack() as fake:
        connection.send(fake.url)
        bot_url = connection.recv()
        burst = asyncio.run(fire(bot_url, fake, requests=requests, user=user, wait=wait))
        connection.send(burst)
    connection.close()
