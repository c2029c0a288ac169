"""The ladder posted once: twice at one instant, two checks at once, and a 429 storm."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerting import alert_cycle, deliver_alerts
from bot.sandbox.slack import TOKEN, FakeSlack
from models.db import create_engine
from tests.conftest import CLI
from tests.utils.ladder import ALERTS, cycle, key_of, ladder_agreement, listed, posted, setup
from tests.utils.outbox import slack_client
from tests.utils.store import local, mql, store_leads

NOON = local("2027-03-08 12:00")


async def _store(engine: AsyncEngine) -> None:
    await setup(engine, ladder_agreement())
    await store_leads(
        engine,
        [mql(n, "2027-03-08 08:00") for n in "ABC"] + [mql("D", "2027-03-08 08:00", owner="x@y.z")],
    )


def _announced(fake: FakeSlack) -> list[str]:
    return sorted(lead for m in posted(fake, "breach") for lead in listed(m))


async def test_the_same_instant_twice_posts_nothing_twice(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    agreement = ladder_agreement()
    await _store(engine)
    first, _ = await cycle(engine, fake_slack, agreement, NOON)
    again, delivery = await cycle(engine, fake_slack, agreement, NOON)
    assert len(first.posts) == 2 and again.posts == [] and again.edits == []
    assert delivery is not None and delivery.sent == [] and delivery.edited == []
    assert _announced(fake_slack) == ["A", "B", "C", "D"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


@pytest.mark.parametrize("apart", [timedelta(0), timedelta(microseconds=1)])
async def test_two_checks_at_once_announce_each_lead_once(
    engine: AsyncEngine, database_url: str, fake_slack: FakeSlack, apart: timedelta
) -> None:
    agreement = ladder_agreement()
    await _store(engine)
    other = create_engine(database_url)  # another process's engine
    client = slack_client(fake_slack)

    async def check_and_post(on: AsyncEngine, when: datetime) -> None:
        found = await alert_cycle(on, agreement, at=when)
        await deliver_alerts(on, client, found.keys, now=lambda: when)

    try:
        await asyncio.gather(check_and_post(engine, NOON), check_and_post(other, NOON + apart))
    finally:
        await other.dispose()
    assert _announced(fake_slack) == ["A", "B", "C", "D"]
    keys = [key_of(m) for m in posted(fake_slack)]
    assert len(keys) == len(set(keys)) == len(fake_slack.calls_to("chat.postMessage"))


async def test_a_rate_limit_storm_still_posts_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(engine, [mql("A", "2027-03-08 08:00")])
    found = await alert_cycle(engine, agreement, at=NOON)
    fake_slack.inject("rate_limited", times=4, method="chat.postMessage", retry_after=1)
    started = time.monotonic()

    def now() -> datetime:
        return NOON + timedelta(seconds=time.monotonic() - started)

    delivery = await deliver_alerts(engine, slack_client(fake_slack), found.keys, now=now)
    assert delivery.sent == found.keys and delivery.retrying == []
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 429, 429, 429, 200]
    assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(calls))
    (message,) = posted(fake_slack)
    assert message.channel == ALERTS and listed(message) == ["A"]


def test_slabot_check_posts_once_and_refuses_without_a_token(
    cli: CLI, cli_env: pytest.MonkeyPatch, fake_slack: FakeSlack, database_url: str
) -> None:
    cli_env.setenv("SLACK_API_URL", fake_slack.url)
    engine = create_engine(database_url)

    async def fill() -> None:
        try:
            await _store(engine)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    noon = "2027-03-08T12:00:00-06:00"
    refused = cli("check", "--at", noon)
    assert refused.code == 2 and "SLACK_BOT_TOKEN" in refused.err
    dry = cli("check", "--at", noon, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    planned = json.loads(dry.out)["posts"]
    assert sorted(p["channel"] for p in planned) == [ALERTS, ALERTS]
    assert fake_slack.calls == []

    cli_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    first = cli("check", "--at", noon, "--json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert data["posts"] == planned and len(data["delivery"]["sent"]) == 2
    second = cli("check", "--at", noon)
    assert second.code == 0 and "Posted 0, edited 0." in second.out
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert _announced(fake_slack) == ["A", "B", "C", "D"]
