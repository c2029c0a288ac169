"""Each run of a scheduled job claims its slot first, so a slot's work happens once across
replicas, restarts and catch-up: the unique `(job, slot)` row of `job_run` is the claim.

Slots are strings that sort in time order: `2027-W02` for a weekly digest, `2027-03` for a
monthly report, `2027-01-15T08:05Z` for a check every five minutes (the instant floored to the
interval).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import JobRun

RUNNING, DONE, FAILED = "running", "done", "failed"
JOB_RUN: Table = JobRun.__table__  # type: ignore[attr-defined]


def week_slot(at: datetime, timezone: str) -> str:
    """The ISO week of `at`'s date in `timezone`: `2027-W02`."""
    year, week, _ = at.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def month_slot(at: datetime, timezone: str) -> str:
    """The month of `at`'s date in `timezone`: `2027-03`."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def interval_slot(at: datetime, every: timedelta) -> str:
    """`at` floored to a multiple of `every` since the Unix epoch, in UTC: `2027-01-15T08:05Z`."""
    seconds = int(every.total_seconds())
    if seconds < 60 or seconds % 60:
        raise ValueError(f"an interval slot is whole minutes; got {every}")
    floored = int(at.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(floored, UTC).strftime("%Y-%m-%dT%H:%MZ")


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
