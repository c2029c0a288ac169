"""Slot claims: each (job, slot) runs once, across replicas and restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine
from scheduler.slots import claim_slot, finish_slot, forget_runs, last_slot, skip_slot

AT = datetime(2027, 1, 11, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
WEEKLY = "digest:weekly"


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


async def test_a_skipped_slot_is_never_claimed_and_counts_as_the_last(engine: AsyncEngine) -> None:
    assert await skip_slot(engine, WEEKLY, "2027-W02", "replica-a", at=AT) is True
    assert await skip_slot(engine, WEEKLY, "2027-W02", "replica-b", at=AT) is False
    later = AT + timedelta(days=1)
    assert await claim_slot(engine, WEEKLY, "2027-W02", "b", at=later, stale_after=None) is False
    run = await last_slot(engine, WEEKLY, status=None)
    assert run is not None and (run.slot, run.status) == ("2027-W02", "skipped")


async def test_old_runs_are_forgotten_but_each_jobs_latest_and_running_ones_stay(
    engine: AsyncEngine,
) -> None:
    for minutes in range(0, 30, 5):
        slot = f"2027-01-11T15:{minutes:02d}:00Z"
        await claim_slot(engine, "check", slot, "a", at=AT + timedelta(minutes=minutes))
        if minutes != 10:
            await finish_slot(engine, "check", slot, "a", at=AT + timedelta(minutes=minutes))
    await claim_slot(engine, WEEKLY, "2027-W02", "a", at=AT)
    await finish_slot(engine, WEEKLY, "2027-W02", "a", at=AT)
    dropped = await forget_runs(engine, ["check", WEEKLY], before=AT + timedelta(days=1))
    assert dropped == 4  # 15:00, 15:05, 15:15, 15:20; 15:10 still runs, 15:25 is the latest
    kept = await last_slot(engine, "check", status=None)
    assert kept is not None and kept.slot == "2027-01-11T15:25:00Z"
    assert await last_slot(engine, WEEKLY) is not None
