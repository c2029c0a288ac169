"""Slot claims: each (job, slot) runs once, across replicas and restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine
from scheduler.slots import (
    claim_slot,
    finish_slot,
    interval_slot,
    last_slot,
    month_slot,
    week_slot,
)

AT = datetime(2027, 1, 11, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
WEEKLY = "digest:weekly"


@pytest.mark.parametrize(
    ("at", "slot"),
    [
        (AT, "2027-W02"),
        (datetime(2027, 1, 4, 5, 0, tzinfo=UTC), "2026-W53"),  # Sunday evening in Chicago
        (datetime(2027, 1, 4, 6, 0, tzinfo=UTC), "2027-W01"),  # Monday 00:00 in Chicago
    ],
)
def test_a_week_slot_is_the_iso_week_in_the_agreements_zone(at: datetime, slot: str) -> None:
    assert week_slot(at, "America/Chicago") == slot


def test_month_and_interval_slots() -> None:
    assert month_slot(datetime(2027, 3, 1, 3, 0, tzinfo=UTC), "America/Chicago") == "2027-02"
    five = timedelta(minutes=5)
    assert interval_slot(datetime(2027, 1, 15, 8, 9, 59, tzinfo=UTC), five) == "2027-01-15T08:05Z"
    assert interval_slot(datetime(2027, 1, 15, 8, 10, tzinfo=UTC), five) == "2027-01-15T08:10Z"
    with pytest.raises(ValueError, match="whole minutes"):
        interval_slot(AT, timedelta(seconds=90))


async def test_the_second_claim_of_a_slot_is_refused(engine: AsyncEngine) -> None:
    assert await claim_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT) is True
    assert await claim_slot(engine, WEEKLY, "2027-W02", "replica-b", at=AT) is False
    assert await claim_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT) is False
    assert await claim_slot(engine, "digest:monthly", "2027-W02", "replica-b", at=AT) is True
    assert await claim_slot(engine, WEEKLY, "2027-W03", "replica-b", at=AT) is True


async def test_finishing_marks_done_only_for_the_claimer(engine: AsyncEngine) -> None:
    await claim_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT)
    later = AT + timedelta(minutes=1)
    assert await finish_slot(engine, WEEKLY, "2027-W02", "replica-b", at=later) is False
    assert await finish_slot(engine, WEEKLY, "2027-W02", "replica-a", at=later) is True
    assert await finish_slot(engine, WEEKLY, "2027-W02", "replica-a", at=later) is False
    run = await last_slot(engine, WEEKLY)
    assert run is not None
    assert (run.slot, run.claimed_by, run.status, run.started_at, run.finished_at) == (
        "2027-W02",
        "replica-a",
        "done",
        AT,
        later,
    )
    assert await claim_slot(engine, WEEKLY, "2027-W02", "replica-b", at=later) is False


async def test_a_failed_or_abandoned_run_may_be_claimed_again(engine: AsyncEngine) -> None:
    await claim_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT)
    await finish_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT, ok=False)
    assert await claim_slot(engine, WEEKLY, "2027-W02", "replica-b", at=AT) is True

    hour = timedelta(hours=1)
    await claim_slot(engine, WEEKLY, "2027-W03", "replica-a", at=AT)  # then it died
    soon = AT + timedelta(minutes=59)
    assert await claim_slot(engine, WEEKLY, "2027-W03", "b", at=soon, stale_after=hour) is False
    assert await claim_slot(engine, WEEKLY, "2027-W03", "b", at=AT + hour, stale_after=hour)
    assert await finish_slot(engine, WEEKLY, "2027-W03", "replica-a", at=AT + hour) is False


async def test_last_slot_is_the_latest_done(engine: AsyncEngine) -> None:
    assert await last_slot(engine, WEEKLY) is None
    for slot in ("2027-W01", "2027-W03", "2027-W02"):
        await claim_slot(engine, WEEKLY, slot, "a", at=AT)
        await finish_slot(engine, WEEKLY, slot, "a", at=AT)
    await claim_slot(engine, WEEKLY, "2027-W04", "a", at=AT)  # still running
    done = await last_slot(engine, WEEKLY)
    anything = await last_slot(engine, WEEKLY, status=None)
    assert (done and done.slot, anything and anything.slot) == ("2027-W03", "2027-W04")


async def test_concurrent_claims_from_two_replicas_give_the_slot_to_one(
    database_url: str, engine: AsyncEngine
) -> None:
    engines = [engine, create_engine(database_url)]
    try:
        for slot in ("2027-W02", "2027-W03", "2027-W04"):
            won = await asyncio.gather(
                *(
                    claim_slot(e, WEEKLY, slot, f"replica-{n}-{i}", at=AT)
                    for n, e in enumerate(engines)
                    for i in range(3)
                )
            )
            assert won.count(True) == 1, (slot, won)
    finally:
        await engines[1].dispose()
