"""The clock jumping forward a week (a laptop asleep, a VM resumed, NTP stepping the clock):
the jobs run at T and then at T + 7 days. Each posts once for the latest due slot only: one
weekly digest (not one per missed day or week), the breach ladder announcing each lead once at
the level it has now (no replay of the levels it passed meanwhile, one reminder), and the
nearest lifecycle reminder only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_history import dm_channel
from models.db import session_scope
from models.outbox import active
from models.tables import JobRun
from scheduler.runner import Runner
from tests.utils.ladder import (
    ALERTS,
    ANA,
    SALES_LEAD,
    alerted,
    key_of,
    ladder_agreement,
    listed,
    posted,
    setup,
)
from tests.utils.scheduler import PROGRESS, WINS, align, jobs_on, keys, posts, ran_before, ready
from tests.utils.store import local, mql, store_agreement, store_leads
from tests.utils.waiting import until

WEEK = timedelta(days=7)


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def job_runs(engine: AsyncEngine, job: str) -> list[tuple[str, str]]:
    async with session_scope(engine) as session:
        found = await session.exec(
            select(JobRun.slot, JobRun.status).where(JobRun.job == job).order_by(col(JobRun.slot))
        )
        return list(found.all())


async def test_the_running_scheduler_posts_one_digest_for_the_latest_week_after_the_jump(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await ready(engine)
    before = local("2027-03-08 09:30")  # Monday: 2027-W09 is due, and February's report
    align(fake_slack, before)
    await ran_before(engine, "digest:weekly", "2027-W08", local("2027-03-01 09:00"))
    await ran_before(engine, "digest:monthly", "2027-01", local("2027-02-01 09:00"))
    clock = Clock(before)
    runner = Runner(jobs_on(engine, fake_slack), clock=clock, catch_up_every=timedelta(seconds=0.2))
    await runner.start()
    try:
        await until(lambda: len(posts(fake_slack)) == 2)
        clock.at = before + WEEK  # the clock jumps: Monday 15 March 09:30
        await until(lambda: len(posts(fake_slack)) == 3)
        await asyncio.sleep(0.6)  # more catch-ups pass: nothing more
    finally:
        runner.stop()
    assert keys(posts(fake_slack)) == [
        "digest:weekly:2027-W09",
        "digest:monthly:2027-02",
        "digest:weekly:2027-W10",
    ]
    assert await job_runs(engine, "digest:weekly") == [
        ("2027-W08", "done"),
        ("2027-W09", "done"),
        ("2027-W10", "done"),
    ]
    assert await job_runs(engine, "digest:monthly") == [("2027-01", "done"), ("2027-02", "done")]
    assert {channel: keys(found) for channel, found in fake_slack.messages.items()} == {
        PROGRESS: [
            "digest:weekly:2027-W09",
            "digest:monthly:2027-02",
            "digest:weekly:2027-W10",  # the week the jump made due; the week's wins: none
        ],
        WINS: [  # the sync at start: a deal won (no milestone: visits' 25% is weeks old); W09's
            "win:deal:deals:D-2007",
            "wins:roundup:2027-W09",
        ],
    }
    # The daily reminders' job ran once per day seen (no reminder was due), not once per day
    # skipped; the interval jobs ran at start only (their next slots come in real minutes).
    assert [day for day, _ in await job_runs(engine, "lifecycle")] == ["2027-03-08", "2027-03-15"]
    assert [status for _, status in await job_runs(engine, "sync")] == ["done"]
    assert [status for _, status in await job_runs(engine, "check")] == ["done"]
    assert [e.key for e in await active(engine)] == []  # everything recorded was delivered


async def test_the_ladder_after_a_week_announces_each_lead_once_at_its_level_now(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    agreement = ladder_agreement()  # due soon 3h after hand-off, breached 4h, escalated 6h
    await setup(engine, agreement)
    await store_leads(
        engine,
        [
            mql("A", "2027-03-08 08:00"),  # breached at T
            mql("B", "2027-03-05 08:00"),  # escalated at T (the Friday before)
            mql("C", "2027-03-08 09:00"),  # due soon at T
        ],
    )
    at = local("2027-03-08 12:00")
    align(fake_slack, at)
    jobs = jobs_on(engine, fake_slack)
    assert await jobs.check(at) is True
    [due_soon] = posted(fake_slack, "due_soon")
    [breach] = posted(fake_slack, "breach")
    assert (due_soon.channel, listed(due_soon)) == (dm_channel(ANA), ["C"])
    assert (breach.channel, sorted(listed(breach))) == (ALERTS, ["A", "B"])

    later = at + WEEK  # the clock jumps a week: every lead is escalated now
    assert await jobs.check(later) is True
    assert await jobs.check(later + timedelta(minutes=1)) is False  # the same 5-minute slot
    assert await jobs.check(later + timedelta(minutes=5)) is True
    messages = posted(fake_slack)
    assert len(messages) == 3, [key_of(m) for m in messages]  # one more message, not a replay
    week_later = messages[-1]
    assert week_later.channel == ALERTS and sorted(listed(week_later)) == ["A", "B", "C"]
    assert key_of(week_later) == f"breach:{ANA}:2027-03-15T17:00:00Z"
    notes = " ".join(b["elements"][0]["text"] for b in week_later.blocks if b["type"] == "context")
    assert f"<@{SALES_LEAD}>" in week_later.text  # A and C escalated: called in, once
    assert "Reminder: " in notes  # B was announced escalated already: reminded, once
    levels = await alerted(engine)
    assert {level for level, _ in levels.values()} == {"escalated"}
    assert {when for _, when in levels.values()} == {later}

    # An hour on (remind_every 1h): one reminder listing all three; then nothing until the next.
    assert await jobs.check(later + timedelta(hours=1)) is True
    assert await jobs.check(later + timedelta(hours=1, minutes=5)) is True
    reminders = posted(fake_slack)[3:]
    assert [sorted(listed(m)) for m in reminders] == [["A", "B", "C"]]
    everything = {channel: len(found) for channel, found in fake_slack.messages.items()}
    assert everything == {dm_channel(ANA): 1, ALERTS: 3}  # T's two, the week later's, a reminder


async def test_the_lifecycle_reminder_after_a_jump_is_the_nearest_one_only(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await store_agreement(engine)  # the period ends on Wednesday 30 June 2027
    at = local("2027-06-20 09:00")  # ten days left: the 30-day reminder is due
    align(fake_slack, at)
    jobs = jobs_on(engine, fake_slack)
    assert await jobs.lifecycle(at) is True
    assert await jobs.lifecycle(at + WEEK) is True  # three days left: the 7-day one, not both
    assert await jobs.lifecycle(at + WEEK + timedelta(hours=3)) is False  # that day's, done
    for admin in ("U01MKTLEAD", "U01SALESLEAD"):
        assert keys(posts(fake_slack, dm_channel(admin))) == [
            f"lifecycle:2027-01-01:ends-in-30d:{admin}",
            f"lifecycle:2027-01-01:ends-in-7d:{admin}",
        ]
    assert [day for day, _ in await job_runs(engine, "lifecycle")] == ["2027-06-20", "2027-06-27"]
    assert posts(fake_slack, PROGRESS) == []
