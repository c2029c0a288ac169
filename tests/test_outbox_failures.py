"""The outbox when Slack fails: rate limits, server errors, refusals, and a crash mid-post."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import LEASE, MAX_ATTEMPTS, backoff, deliver
from bot.sandbox.slack import TOKEN, FakeSlack
from models.outbox import find
from tests.utils.outbox import AT, CHANNEL, record, slack_client

KEY = "breach:mql-first-touch:L-1001:escalated"


async def status(engine: AsyncEngine, key: str = KEY) -> tuple[str, int, str | None]:
    entry = await find(engine, key)
    assert entry is not None
    return entry.status, entry.attempts, entry.last_error


async def test_a_rate_limit_storm_waits_retry_after_then_posts_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY)
    client = slack_client(fake_slack, rate_limit_retries=1)
    fake_slack.inject("rate_limited", times=3, method="chat.postMessage", retry_after=1)

    first = await deliver(engine, client, at=AT)  # 429, one retry inside the call, 429
    assert first.retrying == [KEY]
    entry = await find(engine, KEY)
    assert entry is not None and entry.retry_at == AT + timedelta(seconds=1)
    assert (entry.status, entry.attempts) == ("pending", 1)  # a 429 posted nothing
    assert entry.last_error is not None and "ratelimited" in entry.last_error

    early = await deliver(engine, client, at=AT + timedelta(milliseconds=500))
    assert early.waiting == [KEY]
    assert len(fake_slack.calls) == 2

    later = await deliver(engine, client, at=AT + timedelta(seconds=1))
    assert later.sent == [KEY]
    posts = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 429, 429, 200]
    assert posts[1].at - posts[0].at >= 1.0 and posts[3].at - posts[2].at >= 1.0
    assert fake_slack.calls_to("conversations.history") == []  # nothing could have been posted
    assert len(fake_slack.messages[CHANNEL]) == 1
    assert await status(engine) == ("sent", 2, None)


@pytest.mark.parametrize("http_status", [500, 503])
async def test_a_server_error_is_retried_later_after_looking_for_the_message(
    engine: AsyncEngine, fake_slack: FakeSlack, http_status: int
) -> None:
    await record(engine, KEY)
    client = slack_client(fake_slack)
    fake_slack.inject("server_error", times=1, method="chat.postMessage", status=http_status)

    first = await deliver(engine, client, at=AT)
    assert first.retrying == [KEY]
    state, attempts, error = await status(engine)
    assert (state, attempts) == ("sending", 1)  # a 5xx may come after the post: look first
    assert error is not None and error.startswith("Slack refused chat.postMessage: ")
    assert error.endswith("(it may have been posted once)")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not retried inside the call

    assert (await deliver(engine, client, at=AT + backoff(1) / 2)).waiting == [KEY]
    second = await deliver(engine, client, at=AT + backoff(1))
    assert second.sent == [KEY]
    (history,) = fake_slack.calls_to("conversations.history")
    assert history.args["channel"] == CHANNEL
    assert history.args["include_all_metadata"] in ("1", "true", True)
    assert len(fake_slack.messages[CHANNEL]) == 1
    assert await status(engine) == ("sent", 2, None)


def wrong_token(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-0000-1111-wrongtoken", base_url=fake.url)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (
            lambda fake: fake.closed_channels.add(CHANNEL),
            "Slack refused chat.postMessage: not_in_channel",
        ),
        ("header", "Slack refused chat.postMessage: invalid_blocks"),
        (
            "token",
            "Slack refused chat.postMessage: invalid_auth; "
            "check SLACK_BOT_TOKEN (the bot token of the installed app)",
        ),
    ],
)
async def test_a_refusal_fails_at_once_with_a_readable_error(
    engine: AsyncEngine, fake_slack: FakeSlack, setup: Any, error: str
) -> None:
    client = slack_client(fake_slack)
    if setup == "header":
        header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
        await record(engine, KEY, blocks=[header])
    else:
        await record(engine, KEY)
    if setup == "token":
        client = wrong_token(fake_slack)
    elif callable(setup):
        setup(fake_slack)
    report = await deliver(engine, client, at=AT)
    assert report.failed == [KEY]
    assert await status(engine) == ("failed", 1, error)
    assert "wrongtoken" not in error and TOKEN not in error
    assert (await deliver(engine, client, at=AT + timedelta(days=1))).failed == []


async def test_after_a_bounded_number_of_attempts_it_gives_up(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY)
    client = slack_client(fake_slack)
    fake_slack.inject("server_error", times=100, method="chat.postMessage", status=503)
    at = AT
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = await deliver(engine, client, at=at)
        assert report.failed == ([KEY] if attempt == MAX_ATTEMPTS else [])
        at += backoff(attempt)
    assert await status(engine) == (
        "failed",
        MAX_ATTEMPTS,
        f"gave up after {MAX_ATTEMPTS} attempts: Slack refused chat.postMessage: "
        "service_unavailable (it may have been posted once)",
    )
    assert len(fake_slack.calls_to("chat.postMessage")) == MAX_ATTEMPTS
    assert (await deliver(engine, client, at=at + timedelta(days=1))).sent == []


async def test_an_answer_lost_after_the_post_is_found_and_not_posted_again(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY)
    client = slack_client(fake_slack)
    fake_slack.inject("lost_response", times=1, method="chat.postMessage", status=500)
    await deliver(engine, client, at=AT)
    [posted] = fake_slack.messages[CHANNEL]  # Slack has it; we do not know its ts

    report = await deliver(engine, client, at=AT + backoff(1))
    assert report.found == [KEY]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    entry = await find(engine, KEY)
    assert entry is not None
    assert (entry.status, entry.ts, entry.last_error) == ("sent", posted.ts, None)


async def test_a_threaded_reply_is_looked_for_in_its_thread(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    client = slack_client(fake_slack)
    await record(engine, "digest:weekly:2027-W02", "Week 2")
    await deliver(engine, client, at=AT)
    [parent] = fake_slack.messages[CHANNEL]
    await record(engine, KEY, "a reply", thread_ts=parent.ts)
    fake_slack.inject("lost_response", times=1, method="chat.postMessage")
    await deliver(engine, client, at=AT)

    report = await deliver(engine, client, at=AT + backoff(1))
    assert report.found == [KEY]
    (replies,) = fake_slack.calls_to("conversations.replies")
    assert replies.args["ts"] == parent.ts
    assert [m.text for m in fake_slack.messages[CHANNEL]] == ["Week 2", "a reply"]


async def test_a_crash_mid_post_keeps_the_row_until_its_lease_ends_then_finds_the_post(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY)
    arrived = threading.Event()
    post = fake_slack.handlers["chat.postMessage"]

    def slow_post(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
        arrived.set()
        time.sleep(0.3)  # the bot dies while Slack is still storing the message
        return post(fake, args)

    fake_slack.handlers["chat.postMessage"] = slow_post
    crashing = asyncio.create_task(deliver(engine, slack_client(fake_slack), at=AT))
    assert await asyncio.to_thread(arrived.wait, 5)
    crashing.cancel()
    with suppress(asyncio.CancelledError):
        await crashing
    await asyncio.sleep(0.5)
    fake_slack.handlers["chat.postMessage"] = post
    assert len(fake_slack.messages[CHANNEL]) == 1
    assert (await status(engine))[:2] == ("sending", 1)

    client = slack_client(fake_slack)
    assert (await deliver(engine, client, at=AT + LEASE / 2)).waiting == [KEY]
    assert (await deliver(engine, client, at=AT + LEASE)).found == [KEY]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert await status(engine) == ("sent", 2, None)
