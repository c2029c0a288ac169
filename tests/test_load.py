"""Load at a reduced size: a burst of `/sla` commands, and a breach storm at Slack's channel pace.

The same code as `python -m bench --only burst,storm` (full size there), on real stores that
`bench.data` fills, the bot's real HTTP listener and the fake Slack on loopback. Nothing here
asserts a time: Slack's 3 s ack limit is what the bench reports; these say that every request
was acknowledged and answered, and that the storm is grouped, paced and complete.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.data import AT, Shape, load
from bench.jobs import BENCH_USER, settle
from bench.load import MIX, sla_burst
from bench.storm import SETTLED_BEFORE, breach_storm
from bot.alert_store import LEVELS
from bot.lead_views import leads_by_reference
from bot.sandbox.slack import TOKEN, FakeSlack
from models import outbox
from models.db import create_engine
from models.outbox import SENT
from models.tables import FollowupState
from tests.utils.store import example

BURST = 200
ALERTS = "C01ALERTS"  # the example agreement's alerts channel
SALES_LEAD = "U01SALESLEAD"  # who hears about the leads of an owner not matched to Slack
RATE, ALLOWANCE = 1.0, 3  # Slack: about one message a second per channel, short bursts


async def test_a_burst_of_sla_commands_is_acknowledged_and_answered_every_one(
    database_url: str,
) -> None:
    await load(database_url, Shape(leads=2_000, open_leads=200), at=AT)
    await settle(database_url, AT)
    burst = await sla_burst(
        database_url, at=AT, requests=BURST, user=BENCH_USER, slack_process=False
    )
    assert len(burst.answers) == BURST
    assert [a.status for a in burst.answers] == [200] * BURST
    assert burst.replied == BURST and burst.failed == 0
    replies: dict[str, set[str | None]] = {}
    for answer in burst.answers:
        replies.setdefault(answer.command, set()).add(answer.reply)
    # Each command's own answer reached its own response_url: the same words got the same
    # reply, different words different ones (no reply crossed to another request).
    assert set(replies) == set(MIX)
    assert all(len(texts) == 1 and None not in texts for texts in replies.values())
    assert len({texts.pop() for texts in replies.values()}) == len(MIX)


def test_the_fake_holds_a_channel_to_its_pace_and_says_when_to_retry() -> None:
    with FakeSlack(channel_rate=RATE, channel_burst=ALLOWANCE) as fake:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def post(channel: str) -> httpx.Response:
            return httpx.post(
                fake.url + "chat.postMessage", headers=auth, json={"channel": channel, "text": "x"}
            )

        answers = [post("C0ONE") for _ in range(ALLOWANCE + 2)]
        other = post("C0TWO")
    assert [a.status_code for a in answers] == [200] * ALLOWANCE + [429, 429]
    assert answers[-1].headers["Retry-After"] == "1"
    assert answers[-1].json() == {"ok": False, "error": "ratelimited"}
    assert other.status_code == 200 and other.json()["ok"]  # the pace is per channel
    assert len(fake.messages["C0ONE"]) == ALLOWANCE


def _within_pace(times: list[float]) -> Iterator[bool]:
    """For every run of consecutive posts: no more than the allowance plus the rate's share of
    its span (the loopback's few ms of slack given)."""
    for i, j in itertools.combinations(range(len(times)), 2):
        yield j - i + 1 <= ALLOWANCE + RATE * (times[j] - times[i] + 0.05)


async def test_a_breach_storm_is_grouped_per_person_paced_per_channel_and_complete(
    database_url: str,
) -> None:
    owners, breached = 8, 2_000
    await load(database_url, Shape(leads=4_000, open_leads=breached, owners=owners), at=AT)
    await settle(database_url, AT - SETTLED_BEFORE)  # states recorded, nothing announced
    with FakeSlack(channel_rate=RATE, channel_burst=ALLOWANCE) as fake:
        storm = await breach_storm(database_url, fake, at=AT)
    delivery = storm.delivery
    assert delivery is not None
    keys = storm.cycle.keys
    assert delivery.sent == keys and delivery.retrying == delivery.failed == []

    engine = create_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            states = (
                await session.exec(
                    select(FollowupState.state, FollowupState.alerted_level, func.count())
                    .where(col(FollowupState.closed_at).is_(None))
                    .group_by(col(FollowupState.state), col(FollowupState.alerted_level))
                )
            ).all()
        entries = await outbox.active(engine)
        statuses = {key: (await outbox.find(engine, key)) for key in keys}
    finally:
        await engine.dispose()
    # Every open lead's state is recorded, and each one in an alert state announced at it.
    assert sum(n for _, _, n in states) == breached
    announced = sum(n for state, _, n in states if state in LEVELS)
    assert all(level == state for state, level, _ in states if state in LEVELS)
    assert announced == storm.announced >= breached - 10  # a few may not be due yet

    # One message per person and kind, not one per lead; every lead in exactly one of them.
    posted = [m for channel in fake.messages.values() for m in channel]
    payloads = [(m.metadata or {}).get("event_payload", {}) for m in posted]
    assert len(posted) == len(keys) < announced / 100
    assert len({(p["kind"], p["owner"]) for p in payloads}) == len(posted)
    breach_owners = {p["owner"] for p in payloads if p["kind"] == "breach"}
    matched = {f"U0REP{k:04d}" for k in range(1, owners)}  # owner 0 has no Slack user
    assert breach_owners == matched | {SALES_LEAD}
    assert {m.channel for m, p in zip(posted, payloads, strict=True) if p["kind"] == "breach"} == {
        ALERTS
    }
    listed = [ref for p in payloads for ref in p["leads"]]
    assert len(listed) == len(set(listed))
    assert sum(len(p["leads"]) + p["more"] for p in payloads) == announced

    # Slack's pace held in every channel; the alerts channel met it (429s) and still got all.
    calls = fake.calls_to("chat.postMessage")
    by_channel: dict[str, list[float]] = {}
    for call in calls:
        if call.status == 200:
            by_channel.setdefault(str(call.args["channel"]), []).append(call.at)
    for times in by_channel.values():
        assert all(_within_pace(times))
    limited = Counter(str(c.args["channel"]) for c in calls if c.status == 429)
    assert limited[ALERTS] >= 1  # more messages than the allowance, posted as fast as allowed
    assert entries == [] and all(e is not None and e.status == SENT for e in statuses.values())


@pytest.mark.postgres
async def test_a_check_can_look_up_more_announced_leads_than_postgresql_takes_parameters(
    postgres_url: str,
) -> None:
    agreement = example()
    rule = agreement.followup[0].name
    references = [(rule, lead_id) for lead_id in range(1, 40_001)]
    engine = create_engine(postgres_url)
    try:
        async with AsyncSession(engine) as session:
            found = await leads_by_reference(session, agreement, references=references, at=AT)
    finally:
        await engine.dispose()
    assert found == {}  # none of them is in this empty store
