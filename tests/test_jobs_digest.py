"""The digest jobs at controlled instants: posted once with their charts, caught up once after
downtime, never retroactively on a first start, and once through crashes and 429 storms."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_files import png_dimensions
from models.db import create_engine
from models.outbox_files import files_of
from scheduler.slots import last_slot
from tests.utils.outbox import slack_client
from tests.utils.scheduler import (
    FIRST,
    MONDAY,
    PROGRESS,
    align,
    jobs_on,
    keys,
    posts,
    ran_before,
    ready,
    shared,
)
from tests.utils.store import local

CHART = (960, 540)  # what bot.charts draws


async def test_the_weekly_digest_is_posted_once_with_its_charts_in_its_thread(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, MONDAY)
    jobs = jobs_on(engine, fake_slack)
    recorded = await jobs.digest("weekly", MONDAY + timedelta(minutes=1))
    assert recorded is not None and recorded.fresh and recorded.key == "digest:weekly:2027-W09"

    [digest] = posts(fake_slack)
    assert keys([digest]) == ["digest:weekly:2027-W09"]
    assert digest.text.startswith("Weekly SLA digest · 2027-W09")
    files = shared(fake_slack)
    assert [f.filename for f in files] == ["revenue-2027-W09.png", "funnel-2027-W09.png"]
    assert recorded.digest is not None
    for file, chart in zip(files, recorded.digest.charts, strict=True):
        assert file.thread_ts == digest.ts and file.is_png
        assert file.content == chart.png and file.length == len(chart.png)
        assert png_dimensions(file.content) == CHART
        assert file.title == chart.title
    assert [c.method for c in fake_slack.calls_to("files.upload")] == ["files.upload"] * 2

    again = await jobs.digest("weekly", MONDAY + timedelta(hours=3))
    assert again is not None and not again.fresh
    assert len(posts(fake_slack)) == 1 and len(shared(fake_slack)) == 2
    assert {f.status for f in await files_of(engine, recorded.key)} == {"done"}


async def test_two_replicas_at_once_post_one_digest(
    database_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, FIRST)
    other = create_engine(database_url)
    try:
        replicas = [jobs_on(engine, fake_slack, "a"), jobs_on(other, fake_slack, "b")]
        at = FIRST + timedelta(seconds=5)
        done = []
        for kind in ("weekly", "monthly"):
            done += await asyncio.gather(*(job.digest(kind, at) for job in replicas))
    finally:
        await other.dispose()
    assert sorted(r.key for r in done if r is not None and r.fresh) == [
        "digest:monthly:2027-02",
        "digest:weekly:2027-W08",
    ]
    assert sorted(keys(posts(fake_slack))) == ["digest:monthly:2027-02", "digest:weekly:2027-W08"]
    names = [f.filename for f in shared(fake_slack)]
    assert names == [
        *("revenue-2027-W08.png", "funnel-2027-W08.png"),
        *("revenue-2027-02.png", "funnel-2027-02.png", "rates-2027-02.png"),
    ]


@pytest.mark.parametrize(
    ("last_posted", "slot", "back_at", "expected"),
    [
        # down from Monday 1 March 10:00 to Wednesday 10 March: a week
        ("2027-03-01 09:00", "2027-W08", "2027-03-10 11:00", "digest:weekly:2027-W09"),
        # down for three weeks: W06, W07 and W08 fell due; only W08 is posted
        ("2027-02-08 09:00", "2027-W05", "2027-03-03 08:00", "digest:weekly:2027-W08"),
        # back the same day: the week due is posted already
        ("2027-03-08 09:00", "2027-W09", "2027-03-08 17:00", None),
    ],
)
async def test_downtime_is_caught_up_with_one_digest(
    engine: AsyncEngine,
    fake_slack: FakeSlack,
    last_posted: str,
    slot: str,
    back_at: str,
    expected: str | None,
) -> None:
    await ready(engine)
    align(fake_slack, local(back_at))
    await ran_before(engine, "digest:weekly", slot, local(last_posted))
    jobs = jobs_on(engine, fake_slack)
    recorded = await jobs.catch_up("weekly", local(back_at))
    assert keys(posts(fake_slack)) == ([expected] if expected else [])
    assert (recorded.key if recorded and recorded.fresh else None) == expected
    assert await jobs.catch_up("weekly", local(back_at) + timedelta(minutes=1)) is not None
    assert len(posts(fake_slack)) == (1 if expected else 0)


async def test_a_first_start_ever_posts_nothing_retroactively(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, MONDAY)
    jobs = jobs_on(engine, fake_slack)
    assert await jobs.catch_up("weekly", MONDAY + timedelta(hours=2)) is None
    assert await jobs.catch_up("monthly", MONDAY + timedelta(hours=2)) is None
    assert posts(fake_slack) == []
    skipped = await last_slot(engine, "digest:weekly", status="skipped")
    assert skipped is not None and skipped.slot == "2027-W09"
    # the next weekly slot is the first one posted, on time or caught up
    await jobs.catch_up("weekly", local("2027-03-15 09:30"))
    assert keys(posts(fake_slack)) == ["digest:weekly:2027-W10"]


async def test_a_lost_answer_between_send_and_mark_posts_nothing_twice(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, MONDAY)
    fake_slack.inject("lost_response", method="chat.postMessage", status=500)
    fake_slack.inject("lost_response", method="files.completeUploadExternal", status=500)
    jobs = jobs_on(engine, fake_slack)
    await jobs.digest("weekly", MONDAY)
    assert len(posts(fake_slack)) == 1  # Slack has it; the bot does not know
    assert shared(fake_slack) == []  # the charts wait for the message's ts

    at = MONDAY + timedelta(minutes=1)  # past the first back-off
    for step in range(4):
        await jobs.deliver(at + timedelta(minutes=step))
    assert len(posts(fake_slack)) == 1
    names = [f.filename for f in shared(fake_slack)]
    assert names == ["revenue-2027-W09.png", "funnel-2027-W09.png"]  # the first: found again
    assert len(fake_slack.calls_to("files.list")) == 1
    rows = await files_of(engine, "digest:weekly:2027-W09")
    assert [row.status for row in rows] == ["done", "done"]


async def test_429_storms_on_posting_and_uploading_end_in_one_post_and_one_upload_each(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, MONDAY)
    for method in (
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.upload",
        "files.completeUploadExternal",
    ):
        fake_slack.inject("rate_limited", method=method, times=3, retry_after=0)
    jobs = jobs_on(engine, fake_slack)
    at: datetime = MONDAY
    for _ in range(12):
        await jobs.digest("weekly", at)
        at += timedelta(minutes=2)
    assert len(posts(fake_slack)) == 1
    names = sorted(f.filename for f in shared(fake_slack))  # in the order the storm let them
    assert names == ["funnel-2027-W09.png", "revenue-2027-W09.png"]
    calls = fake_slack.calls_to("chat.postMessage")
    statuses = [c.status for c in calls if c.args.get("channel") == PROGRESS]
    assert statuses.count(429) == 3 and statuses.count(200) == 1
    assert all(fault.times == 0 for fault in fake_slack.faults)


async def test_a_channel_without_the_bot_fails_the_digest_and_its_charts_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    fake_slack.closed_channels.add(PROGRESS)
    jobs = jobs_on(engine, fake_slack)
    await jobs.digest("weekly", MONDAY)
    await jobs.deliver(MONDAY + timedelta(minutes=5))
    rows = await files_of(engine, "digest:weekly:2027-W09")
    assert [(r.status, r.last_error) for r in rows] == [
        ("failed", "its message was not posted")
    ] * 2
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.args["channel"] for c in calls].count(PROGRESS) == 1  # a refusal is not retried
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


async def test_uploading_into_a_channel_without_the_bot_is_refused(
    fake_slack: FakeSlack,
) -> None:
    client = slack_client(fake_slack)
    fake_slack.closed_channels.add("C0CLOSED01")
    with pytest.raises(SlackApiError) as refused:
        await client.files_upload_v2(
            channel="C0CLOSED01", file=b"\x89PNG\r\n\x1a\nxx", filename="a.png"
        )
    assert refused.value.response["error"] == "not_in_channel"


async def test_delivered_posts_and_refusals_are_counted_in_the_metrics(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from tests.utils.outbox import record

    metrics = Metrics()
    jobs = jobs_on(engine, fake_slack, metrics=metrics)
    await record(engine, "breach:U0ANA:2027-03-03T15:00Z")
    await record(engine, "digest:weekly:2027-W09")
    fake_slack.closed_channels.add("C0CLOSED")
    await record(engine, "win:deal:crm:D-1", channel="C0CLOSED")
    await jobs.deliver(datetime(2027, 3, 3, 15, 1, tzinfo=UTC))
    text = metrics.render().decode()
    assert 'slabot_posts_total{kind="breach"} 1.0' in text
    assert 'slabot_posts_total{kind="digest"} 1.0' in text
    assert 'slabot_errors_total{where="outbox"} 1.0' in text


async def test_a_scheduled_digest_is_counted_in_the_metrics(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    """The digest goes out through its own delivery (before the outbox's round): counted too."""
    await ready(engine)
    align(fake_slack, MONDAY)
    metrics = Metrics()
    jobs = jobs_on(engine, fake_slack, metrics=metrics)
    assert await jobs.digest("weekly", MONDAY + timedelta(minutes=1)) is not None
    assert 'slabot_posts_total{kind="digest"} 1.0' in metrics.render().decode()


async def test_a_failed_digest_run_is_counted_in_the_metrics(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    align(fake_slack, MONDAY)
    metrics = Metrics()
    jobs = jobs_on(engine, fake_slack, metrics=metrics)
    await engine.dispose()
    jobs.engine = create_engine("sqlite:////nonexistent/folder/slabot.db")  # the store is gone
    try:
        with pytest.raises(Exception, match="unable to open database file"):
            await jobs.digest("weekly", MONDAY + timedelta(minutes=1))
    finally:
        await jobs.engine.dispose()
    text = metrics.render().decode()
    assert 'slabot_errors_total{where="job:digest:weekly"} 1.0' in text
