"""A breach storm: one check that finds tens of thousands of leads past their deadline, and the
delivery of what it says to a Slack that holds every channel to its pace.

The store (`bench.data`) holds untouched leads handed off over two years, already checked once
a little earlier (deadlines kept and states recorded, nothing announced yet, as when the ladder
was off), so the measured check (`bot.alerting.alert_cycle`) announces them all: one message
per person and kind, not one per lead. `deliver_alerts` then posts those messages through the
outbox to the fake Slack, which answers 429 with `Retry-After` past about one message a second
per channel (`FakeSlack.channel_rate`), as Slack does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.data import AGREEMENT_FILE
from bench.load import replica_settings
from bot.alerting import AlertCycle, alert_cycle, deliver_alerts
from bot.outbox import Delivery
from bot.sandbox.slack import FakeSlack
from bot.slack import slack_client
from models.agreement_loader import load_agreement
from models.db import create_engine

CHANNEL_RATE = 1.0  # messages a second per channel (Slack: "about one", with short bursts)
CHANNEL_BURST = 3
SETTLED_BEFORE = timedelta(minutes=5)  # the earlier check, one `check_every` before


@dataclass
class Storm:
    """The measured check, what it recorded, and its delivery (None in a dry run)."""

    cycle: AlertCycle
    check_seconds: float
    delivery: Delivery | None = None
    delivery_seconds: float = 0.0

    @property
    def announced(self) -> int:
        """Leads listed in the check's new messages (a message shows 100, and "n more")."""
        return sum(len(post.leads) for post in self.cycle.posts)


async def breach_storm(
    url: str,
    fake: FakeSlack,
    *,
    at: datetime,
    dry_run: bool = False,
    agreement_file: Path = AGREEMENT_FILE,
) -> Storm:
    """Check the store at `url` at `at` and deliver the messages to `fake` (timed apart)."""
    agreement = load_agreement(agreement_file)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        cycle = await alert_cycle(engine, agreement, at=at, dry_run=dry_run)
        storm = Storm(cycle, time.perf_counter() - started)
        if dry_run:
            return storm
        client = slack_client(replica_settings(url, fake.url))
        started = time.perf_counter()

        def now() -> datetime:  # the check's instant, moving at the pace of the wall clock
            return at + timedelta(seconds=time.perf_counter() - started)

        storm.delivery = await deliver_alerts(engine, client, cycle.keys, now=now)
        storm.delivery_seconds = time.perf_counter() - started
        return storm
    finally:
        await engine.dispose()


def posts_by_channel(fake: FakeSlack) -> dict[str, list[float]]:
    """When each message the fake accepted arrived, by channel, in order."""
    posts: dict[str, list[float]] = {}
    for call in fake.calls_to("chat.postMessage"):
        if call.status == 200 and call.ok:
            posts.setdefault(str(call.args.get("channel")), []).append(call.at)
    return posts


def busiest_second(times: Iterable[float]) -> int:
    """The most posts within any one second (a sliding window over sorted arrival times)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most
