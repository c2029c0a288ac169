"""The leader's scheduler: APScheduler 3 jobs built from the agreement in force, in its zone.

`Runner.start` (the leader's `on_gained`) builds an `AsyncIOScheduler` with a memory job store
and starts it; `Runner.stop` (`on_lost`) shuts it down at once, cancelling the runs in flight
(their claims are marked failed, or go stale; the outbox finishes what they recorded). Every
minute the runner looks at the agreement versions and rebuilds the jobs when another version is
applied or comes into force. A catch-up runs at start and then every minute: the latest due
digest and report if never claimed (see `Jobs.catch_up`), and today's lifecycle reminders; so
a slot whose run failed, or was cut short by a failover, is done by the next catch-up. The sync
and the check run at once at start too, the check after the sync has brought the news.

Misfires and coalescing are set on purpose: every job coalesces (runs missed while the loop was
busy or the machine asleep become one run). The digests and the daily reminders may run however
late (`misfire_grace_time=None`): the run picks the latest due slot and its claim keeps it once.
Interval jobs may run at most one interval late; after that the next run is due anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from models.agreement import Agreement
from models.agreements import agreement_of, latest_version, version_in_force
from models.db import session_scope
from scheduler.jobs import CHECK, HOUSEKEEPING, HOUSEKEEPING_EVERY, LIFECYCLE, SYNC, Jobs
from scheduler.timetable import EPOCH, interval, monthly_time, weekly_time

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
WEEKLY, MONTHLY = "digest:weekly", "digest:monthly"
DELIVERY, WATCH, CATCH_UP = "delivery", "watch", "catch-up"
DELIVERY_EVERY = timedelta(seconds=10)
WATCH_EVERY = timedelta(minutes=1)
CATCH_UP_EVERY = timedelta(minutes=1)
FIRST_SYNC_WAIT = 120.0  # seconds the first check waits for the first sync, then runs anyway
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Plan:
    """One scheduled job: its trigger and how late a run may still start (None: any time)."""

    trigger: Any
    grace: timedelta | None


def _every(span: timedelta) -> Plan:
    # Aligned to the timetable's epoch: replicas fire at the same instants, one slot apart.
    return Plan(IntervalTrigger(seconds=span.total_seconds(), start_date=EPOCH), span)


def plans(
    agreement: Agreement | None, *, catch_up_every: timedelta = CATCH_UP_EVERY
) -> dict[str, Plan]:
    """The jobs for `agreement` (delivery, catch-up, the version watch and housekeeping
    without one)."""
    out = {
        DELIVERY: _every(DELIVERY_EVERY),
        CATCH_UP: _every(catch_up_every),
        WATCH: _every(WATCH_EVERY),
        HOUSEKEEPING: _every(HOUSEKEEPING_EVERY),
    }
    if agreement is None:
        return out
    zone, schedule = agreement.zone, agreement.schedule
    weekly, monthly = weekly_time(schedule.weekly_digest), monthly_time(schedule.monthly_report)
    at = {"hour": weekly.clock.hour, "minute": weekly.clock.minute, "timezone": zone}
    day = "last" if monthly.day is None else monthly.day
    out |= {
        SYNC: _every(interval(schedule.sync_every)),
        CHECK: _every(interval(schedule.check_every)),
        WEEKLY: Plan(CronTrigger(day_of_week=WEEKDAYS[weekly.weekday], **at), None),
        MONTHLY: Plan(
            CronTrigger(
                day=day, hour=monthly.clock.hour, minute=monthly.clock.minute, timezone=zone
            ),
            None,
        ),
        LIFECYCLE: Plan(CronTrigger(**at), None),  # daily, when the digest goes out
    }
    return out


class Runner:
    """Runs `jobs` on a schedule while started; `start`/`stop` are the leader's callbacks."""

    def __init__(
        self, jobs: Jobs, *, clock: Clock = utc_now, catch_up_every: timedelta = CATCH_UP_EVERY
    ) -> None:
        self.jobs, self.clock, self.catch_up_every = jobs, clock, catch_up_every
        self.scheduler: AsyncIOScheduler | None = None
        self.versions: tuple[int | None, int | None] = (None, None)  # latest, in force
        # Sync and check both run at start; the first check waits for the first sync, so a
        # replica that was down (or is new) alerts on the leads the sync just brought.
        self.first_sync = asyncio.Event()

    @property
    def running(self) -> bool:
        return self.scheduler is not None and bool(self.scheduler.running)

    async def start(self) -> None:
        """Build the jobs from the agreement in force, start them, and catch up once."""
        if self.running:
            return
        self.first_sync = asyncio.Event()
        agreement = await self._refresh_versions()
        self.scheduler = AsyncIOScheduler(
            timezone=agreement.zone if agreement is not None else UTC,
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._schedule(agreement)
        self.scheduler.start()
        log.info("scheduler started: %s", ", ".join(sorted(plans(agreement))))

    def stop(self) -> None:
        """Shut the scheduler down now; runs in flight are cancelled."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            log.info("scheduler stopped")

    async def watch(self) -> bool:
        """Rebuild the jobs if another agreement version was applied or came into force."""
        before = self.versions
        agreement = await self._refresh_versions()
        if self.versions == before or self.scheduler is None:
            return False
        log.info("agreement version %s in force: jobs rebuilt", self.versions[1])
        self._schedule(agreement)
        return True

    # --- inside ----------------------------------------------------------------------------

    def _schedule(self, agreement: Agreement | None) -> None:
        assert self.scheduler is not None
        now = datetime.now(UTC)  # APScheduler's own clock; the jobs read `clock`
        self.scheduler.remove_all_jobs()
        for name, plan in plans(agreement, catch_up_every=self.catch_up_every).items():
            grace = None if plan.grace is None else max(1, int(plan.grace.total_seconds()))
            first = now if name in (SYNC, CHECK, DELIVERY, CATCH_UP) else None  # then on schedule
            self.scheduler.add_job(
                self._run,
                plan.trigger,
                args=[name],
                id=name,
                misfire_grace_time=grace,
                **({"next_run_time": first} if first is not None else {}),
            )

    async def _refresh_versions(self) -> Agreement | None:
        async with session_scope(self.jobs.engine) as session:
            latest = await latest_version(session)
            current = await version_in_force(session, self.clock())
        self.versions = (
            latest.version if latest is not None else None,
            current.version if current is not None else None,
        )
        return agreement_of(current) if current is not None else None

    async def _run(self, name: str) -> None:
        at, jobs = self.clock(), self.jobs
        try:
            if name == SYNC:
                try:
                    await jobs.sync(at)
                finally:
                    self.first_sync.set()
            elif name == CHECK:
                if not self.first_sync.is_set():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self.first_sync.wait(), FIRST_SYNC_WAIT)
                    at = self.clock()
                await jobs.check(at)
            elif name in (WEEKLY, MONTHLY):
                await jobs.digest("weekly" if name == WEEKLY else "monthly", at)
            elif name == LIFECYCLE:
                await jobs.lifecycle(at)
            elif name == DELIVERY:
                await jobs.deliver(at)
            elif name == HOUSEKEEPING:
                await jobs.housekeeping(at)
            elif name == WATCH:
                await self.watch()
            elif name == CATCH_UP:
                await self._catch_up(at)
        except Exception as exc:  # one failed run must not stop the others; the next retries
            log.warning("job %s failed: %s: %s", name, type(exc).__name__, exc)

    async def _catch_up(self, at: datetime) -> None:
        for name, run in (
            (WEEKLY, lambda: self.jobs.catch_up("weekly", at)),
            (MONTHLY, lambda: self.jobs.catch_up("monthly", at)),
            (LIFECYCLE, lambda: self.jobs.lifecycle(at)),
        ):
            try:
                await run()
            except Exception as exc:
                log.warning("catch-up of %s failed: %s: %s", name, type(exc).__name__, exc)
