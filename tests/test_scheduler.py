"""The schedule built from the agreement: fire times in its zone across DST, misfires and
coalescing set on purpose, rebuilt when another version is applied, stopped at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.slack import FakeSlack
from models.agreement_loader import canonical_json
from models.agreements import apply_agreement
from models.db import session_scope
from scheduler.runner import CATCH_UP, DELIVERY, MONTHLY, WATCH, WEEKLY, Runner, plans
from tests.utils.scheduler import jobs_on
from tests.utils.store import example, local, store_agreement


def next_fire(name: str, after: datetime) -> datetime:
    trigger = plans(example())[name].trigger
    fire: datetime = trigger.get_next_fire_time(None, after)
    return fire.astimezone(UTC)


@pytest.mark.parametrize(
    ("after", "fires"),
    [
        # Chicago: CST (UTC-6) until Sunday 14 March 2027, CDT (UTC-5) after
        ("2027-03-02T00:00:00+00:00", "2027-03-08T15:00:00+00:00"),
        ("2027-03-09T00:00:00+00:00", "2027-03-15T14:00:00+00:00"),
        # back to CST on Sunday 7 November 2027
        ("2027-11-02T00:00:00+00:00", "2027-11-08T15:00:00+00:00"),
        ("2027-10-26T00:00:00+00:00", "2027-11-01T14:00:00+00:00"),
    ],
)
def test_the_weekly_digest_fires_monday_nine_in_chicago_on_both_sides_of_dst(
    after: str, fires: str
) -> None:
    fire = next_fire(WEEKLY, datetime.fromisoformat(after))
    assert fire == datetime.fromisoformat(fires)
    assert fire.astimezone(example().zone).strftime("%a %H:%M") == "Mon 09:00"


def test_the_monthly_report_and_the_intervals() -> None:
    assert next_fire(MONTHLY, local("2027-03-01 09:00")) == local("2027-03-01 09:00")
    assert next_fire(MONTHLY, local("2027-03-01 09:01")) == local("2027-04-01 09:00")
    # interval jobs fire on the timetable's boundaries, whichever replica computes them
    assert next_fire("check", datetime(2027, 3, 3, 15, 2, 1, tzinfo=UTC)) == datetime(
        2027, 3, 3, 15, 5, tzinfo=UTC
    )
    assert next_fire("sync", datetime(2027, 3, 3, 15, 2, 1, tzinfo=UTC)) == datetime(
        2027, 3, 3, 15, 15, tzinfo=UTC
    )


def test_misfires_are_set_on_purpose() -> None:
    grace = {name: plan.grace for name, plan in plans(example()).items()}
    assert grace[WEEKLY] is grace[MONTHLY] is grace["lifecycle"] is None  # however late: once
    assert grace["check"] == timedelta(minutes=5) and grace["sync"] == timedelta(minutes=15)
    assert set(plans(None)) == {DELIVERY, CATCH_UP, WATCH, "housekeeping"}


async def test_the_runner_is_rebuilt_for_a_new_version_and_stops_at_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    before_period = datetime(2026, 12, 15, tzinfo=UTC)  # jobs that run find nothing to do
    await store_agreement(engine)
    runner = Runner(jobs_on(engine, fake_slack), clock=lambda: before_period)
    await runner.start()
    try:
        assert runner.scheduler is not None
        jobs = {job.id: job for job in runner.scheduler.get_jobs()}
        assert set(jobs) >= {WEEKLY, MONTHLY, "sync", "check", "lifecycle", DELIVERY, CATCH_UP}
        assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
        assert jobs[WEEKLY].misfire_grace_time is None
        assert jobs["check"].misfire_grace_time == 300
        assert await runner.watch() is False

        revised = example().model_copy(update={"schedule": example().schedule.model_copy(
            update={"weekly_digest": "tue 10:30"})})  # fmt: skip
        async with session_scope(engine) as session:
            await apply_agreement(
                session, agreement=revised, source_text=canonical_json(revised),
                file="test", by="test", at=before_period,
            )  # fmt: skip
        assert await runner.watch() is True
        trigger = runner.scheduler.get_job(WEEKLY).trigger
        fire = trigger.get_next_fire_time(None, local("2027-03-08 12:00"))
        assert fire == local("2027-03-09 10:30")
    finally:
        runner.stop()
    assert runner.scheduler is None and not runner.running
    await asyncio.sleep(0.05)  # the shutdown runs on the loop's next turn


async def test_the_first_check_waits_for_the_first_sync(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    """Both run at start; a check before the sync ends would miss the leads it brings (and its
    slot would be spent until the next interval)."""
    await store_agreement(engine)
    jobs = jobs_on(engine, fake_slack)
    ran: list[str] = []

    async def slow_sync(at: datetime) -> bool:
        await asyncio.sleep(0.5)
        ran.append("sync")
        return True

    async def check(at: datetime) -> bool:
        ran.append("check")
        return True

    jobs.sync, jobs.check = slow_sync, check  # type: ignore[method-assign]
    runner = Runner(jobs, clock=lambda: local("2027-03-08 12:00"))
    await runner.start()
    try:
        for _ in range(300):
            if "check" in ran:
                break
            await asyncio.sleep(0.01)
    finally:
        runner.stop()
    assert ran[:2] == ["sync", "check"]
