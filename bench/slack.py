"""`/sla status` as a person meets it: a signed request to the HTTP listener until the answer.

The bot runs in this process behind its real aiohttp listener with the real Bolt dispatch; the
Slack Web API and the `response_url` are the test suite's fake Slack on loopback. One run is the
time from sending the signed request to the fake receiving the answer through `response_url`
(what the person sees), so it covers signature checking, the ack, `build_status`, rendering and
the reply. As in `slabot run`, the replica's status is kept fresh in the background
(`bot.status_cache`): it is refreshed once before the requests, as the refresher does every
minute, so the figure is what people meet; the `status` row is what a request pays when it
must compute (after a change through this replica, or when the kept report is too old).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from urllib.parse import urlencode

import httpx

from bench.load import replica
from bot.sandbox.slack import FakeSlack
from bot.server import EVENTS_PATH
from tests.utils.slack_bot import sign

WARMUP = 3
ANSWER_WAIT_S = 10.0


def _command(text: str, user: str, response_url: str, number: int) -> str:
    return urlencode(
        {
            "team_id": "T0FAKE0001",
            "channel_id": "C0BENCH001",
            "user_id": user,
            "command": "/sla",
            "text": text,
            "response_url": response_url,
            "trigger_id": f"{number}.1.bench",
        }
    )


async def sla_status(database_url: str, *, at: datetime, runs: int, user: str) -> list[float]:
    """Seconds from request to answer for `runs` sequential `/sla status` after warm-up."""
    seconds: list[float] = []
    with FakeSlack() as fake:
        async with (
            replica(database_url, fake.url, at=at) as bot_url,
            httpx.AsyncClient(base_url=bot_url) as http,
        ):
            for number in range(WARMUP + runs):
                url = fake.response_url()
                body = _command("status", user, url, number)
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
                started = time.monotonic()
                response = await http.post(EVENTS_PATH, content=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"/sla status answered HTTP {response.status_code}")
                waited = await _wait_reply(fake, url, started)
                if number >= WARMUP:
                    seconds.append(waited)
    return seconds


async def _wait_reply(fake: FakeSlack, url: str, started: float) -> float:
    deadline = time.monotonic() + ANSWER_WAIT_S
    while True:
        replies = fake.responses_to(url)
        if replies:
            return float(replies[0]["received_at"]) - started
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer to /sla status within {ANSWER_WAIT_S} s")
        await asyncio.sleep(0.0005)
