"""Each run of a scheduled job claims its slot first, so a slot's work happens once across
replicas, restarts and catch-up: the unique `(job, slot)` row of `job_run` is the claim.

Slots are strings that sort in time order, named by `scheduler.timetable`: `2027-W02` for a
weekly digest, `2027-03` for a monthly report, `2027-01-15T08:05:00Z` for a check every five
minutes (the start of its interval). A slot may also be `skipped`: marked as if run, so that it
never runs (what a first start does with the slots that fell due before it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import JobRun

RUNNING, DONE, FAILED, SKIPPED = "running", "done", "failed", "skipped"
JOB_RUN: Table = JobRun.__table__  # type: ignore[attr-defined]


async def claim_slot(
    engine: AsyncEngine,
    job: str,
    slot: str,
    holder: str,
    *,
    at: datetime,
    stale_after: timedelta | None = None,
) -> bool:
    """True when `holder` may run `job` for `slot`: nobody claimed it, or the claim failed, or
    (with `stale_after`) its holder started that long ago and never finished."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    new = insert(JOB_RUN).values(job=job, slot=slot, claimed_by=holder, started_at=at)
    new = new.values(status=RUNNING).on_conflict_do_nothing(index_elements=["job", "slot"])
    retake = JOB_RUN.c.status == FAILED
    if stale_after is not None:
        stale = and_(JOB_RUN.c.status == RUNNING, JOB_RUN.c.started_at <= at - stale_after)
        retake = or_(retake, stale)
    again = (
        update(JOB_RUN)
        .where(JOB_RUN.c.job == job, JOB_RUN.c.slot == slot, retake)
        .values(claimed_by=holder, started_at=at, finished_at=None, status=RUNNING)
    )
    async with engine.begin() as connection:
        if (await connection.execute(new)).rowcount:
            return True
        return bool((await connection.execute(again)).rowcount)


async def finish_slot(
    engine: AsyncEngine, job: str, slot: str, holder: str, *, at: datetime, ok: bool = True
) -> bool:
    """Mark `holder`'s run of `job` for `slot` done (or failed); False if it is not theirs."""
    statement = (
        update(JOB_RUN)
        .where(
            JOB_RUN.c.job == job,
            JOB_RUN.c.slot == slot,
            JOB_RUN.c.claimed_by == holder,
            JOB_RUN.c.status == RUNNING,
        )
        .values(finished_at=at, status=DONE if ok else FAILED)
    )
    async with engine.begin() as connection:
        return bool((await connection.execute(statement)).rowcount)


async def last_slot(engine: AsyncEngine, job: str, *, status: str | None = DONE) -> JobRun | None:
    """The latest slot of `job` (with that status; any when None), or None."""
    statement = select(JOB_RUN).where(JOB_RUN.c.job == job)
    if status is not None:
        statement = statement.where(JOB_RUN.c.status == status)
    async with engine.connect() as connection:
        row = (await connection.execute(statement.order_by(JOB_RUN.c.slot.desc()))).first()
    return JobRun.model_validate(row._mapping) if row is not None else None


async def skip_slot(engine: AsyncEngine, job: str, slot: str, holder: str, *, at: datetime) -> bool:
    """Mark `slot` of `job` as not to be run (False if it was claimed already)."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    new = insert(JOB_RUN).values(
        job=job, slot=slot, claimed_by=holder, started_at=at, finished_at=at, status=SKIPPED
    )
    async with engine.begin() as connection:
        result = await connection.execute(
            new.on_conflict_do_nothing(index_elements=["job", "slot"])
        )
    return bool(result.rowcount)


async def forget_runs(engine: AsyncEngine, jobs: Sequence[str], *, before: datetime) -> int:
    """Drop finished runs of `jobs` that started before `before`, keeping each job's latest."""
    dropped = 0
    async with engine.begin() as connection:
        for job in jobs:
            newest = select(JOB_RUN.c.slot).where(JOB_RUN.c.job == job)
            latest = newest.order_by(JOB_RUN.c.slot.desc()).limit(1).scalar_subquery()
            statement = delete(JOB_RUN).where(
                JOB_RUN.c.job == job,
                JOB_RUN.c.started_at < before,
                JOB_RUN.c.status != RUNNING,
                JOB_RUN.c.slot != latest,
            )
            dropped += int((await connection.execute(statement)).rowcount or 0)
    return dropped
