"""The scheduled jobs, one run each at an instant passed in: sync, check, digests, lifecycle,
delivery and housekeeping.

Each run claims its `(job, slot)` first (slots named by `scheduler.timetable`), so a slot's
work is done once across replicas, restarts and catch-up; what a run says goes through the
outbox under a key, so even a slot run twice (a claim gone stale) says nothing twice. Delivery
is the one job without a claim: every outbox row is claimed on its own, and a `job_run` row
every ten seconds would only be noise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerting import alert_cycle
from bot.announcements import (
    announce_wins,
    record_reminders,
    record_roundup,
    report_unmatched_owners,
)
from bot.digest_post import (
    STALE_CLAIM,
    Recorded,
    deliver_digest,
    digest_job,
    record_digest_once,
)
from bot.metrics import Metrics
from bot.outbox import Delivery, deliver
from bot.outbox_files import Uploads, upload_files
from bot.report_window import Kind, reported_window
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force
from models.db import session_scope
from models.slack_requests import forget_requests
from scheduler.slots import claim_slot, finish_slot, forget_runs, last_slot, skip_slot
from scheduler.sources.hubspot_client import HubSpotConfig
from scheduler.sync import sync_sources
from scheduler.timetable import (
    Slot,
    interval,
    interval_slot,
    monthly_slot,
    weekly_slot,
    weekly_time,
)

log = logging.getLogger(__name__)

SYNC, CHECK, LIFECYCLE, HOUSEKEEPING = "sync", "check", "lifecycle", "housekeeping"
INTERVAL_JOBS = (SYNC, CHECK, LIFECYCLE, HOUSEKEEPING)  # their old runs are forgotten
HOUSEKEEPING_EVERY = timedelta(hours=1)
KEEP_RUNS = timedelta(days=7)


@dataclass
class Jobs:
    """The jobs of one replica (`holder`), on its store and Slack client."""

    engine: AsyncEngine
    client: AsyncWebClient
    holder: str
    hubspot: HubSpotConfig | None = None  # without it a HubSpot source fails, naming the token
    # The check and the digests both bring follow-up deadlines up to date, which two
    # transactions must not do at once: in this process they take turns.
    deadlines: asyncio.Lock = field(default_factory=asyncio.Lock)
    metrics: Metrics | None = None  # the running bot's (posts and failures are counted)

    async def agreement_at(self, at: datetime) -> Agreement | None:
        async with session_scope(self.engine) as session:
            version = await version_in_force(session, at)
        return agreement_of(version) if version is not None else None

    async def claimed(
        self, job: str, slot: str, at: datetime, work: Callable[[], Awaitable[None]]
    ) -> bool:
        """Run `work` if this replica claims `slot` of `job`; the claim is marked done or failed."""
        if not await claim_slot(
            self.engine, job, slot, self.holder, at=at, stale_after=STALE_CLAIM
        ):
            return False
        try:
            await work()
        except BaseException:
            await finish_slot(self.engine, job, slot, self.holder, at=at, ok=False)
            if self.metrics is not None:
                self.metrics.errors.labels(f"job:{job}").inc()
            raise
        await finish_slot(self.engine, job, slot, self.holder, at=at)
        return True

    # --- the jobs -----------------------------------------------------------------------------

    async def sync(self, at: datetime) -> bool:
        """Poll the sources, then announce the wins they brought (once each)."""
        agreement = await self.agreement_at(at)
        if agreement is None:
            return False
        slot = interval_slot(interval(agreement.schedule.sync_every), at)

        async def work() -> None:
            results = await sync_sources(
                self.engine, agreement, at=at, hubspot=self.hubspot, slack=self.client
            )
            for result in results:
                if result.status == "failed":
                    log.warning("sync: source %s failed: %s", result.name, result.error)
            async with session_scope(self.engine) as session:
                await announce_wins(session, agreement, at=at)
                await report_unmatched_owners(session, agreement, at=at)

        ran = await self.claimed(SYNC, slot.name, at, work)
        if ran:
            await self.deliver(at)
        return ran

    async def check(self, at: datetime) -> bool:
        """The follow-up check and its alerts (`bot.alerting.alert_cycle`), then delivery."""
        agreement = await self.agreement_at(at)
        if agreement is None:
            return False
        slot = interval_slot(interval(agreement.schedule.check_every), at)

        async def work() -> None:
            async with self.deadlines:
                await alert_cycle(self.engine, agreement, at=at)

        ran = await self.claimed(CHECK, slot.name, at, work)
        if ran:
            await self.deliver(at)
        return ran

    async def digest(self, kind: Kind, at: datetime) -> Recorded | None:
        """The weekly digest or monthly report due at `at` (the latest due slot), once; with
        the weekly digest, the week's small-wins roundup."""
        try:
            return await self._digest(kind, at)
        except Exception:
            if self.metrics is not None:
                self.metrics.errors.labels(f"job:{digest_job(kind)}").inc()
            raise

    async def _digest(self, kind: Kind, at: datetime) -> Recorded | None:
        slot = await self.due_slot(kind, at)
        if slot is None:
            return None
        async with self.deadlines:
            recorded = await record_digest_once(
                self.engine, kind, report_at=slot.due_at, at=at, holder=self.holder
            )
        if recorded is None:
            return None
        if recorded.fresh and kind == "weekly":
            await self._roundup(slot, at)
        delivery, _ = await deliver_digest(self.engine, self.client, recorded.key, at=at)
        self._count(delivery)
        await self.deliver(at)
        return recorded

    async def catch_up(self, kind: Kind, at: datetime) -> Recorded | None:
        """At start: the latest due digest if it was never claimed (one, however long the bot
        was down). On the first start ever (no run of the job at all) nothing is posted
        retroactively: the due slot is marked skipped, and the next one is the first."""
        slot = await self.due_slot(kind, at)
        if slot is None:
            return None
        job = digest_job(kind)
        if await last_slot(self.engine, job, status=None) is None:
            await skip_slot(self.engine, job, slot.name, self.holder, at=at)
            log.info("%s: first start; %s was due before it and is not posted", job, slot.name)
            return None
        return await self.digest(kind, at)

    async def due_slot(self, kind: Kind, at: datetime) -> Slot | None:
        agreement = await self.agreement_at(at)
        if agreement is None:
            return None
        return (weekly_slot if kind == "weekly" else monthly_slot)(agreement, at)

    async def lifecycle(self, at: datetime) -> bool:
        """Once a day from the digest's time of day: the admins' "ends in N days" reminders and
        the mid-period review prompt."""
        agreement = await self.agreement_at(at)
        if agreement is None:
            return False
        # The slot is the day of the latest due time (the digest's time of day), so a catch-up
        # after midnight does not send the day's reminders before their time.
        local = at.astimezone(agreement.zone)
        due = weekly_time(agreement.schedule.weekly_digest).clock
        day = (local.date() - timedelta(days=1 if local.time() < due else 0)).isoformat()

        async def work() -> None:
            async with session_scope(self.engine) as session:
                await record_reminders(session, agreement, at=at)

        ran = await self.claimed(LIFECYCLE, day, at, work)
        if ran:
            await self.deliver(at)
        return ran

    async def deliver(self, at: datetime) -> tuple[Delivery, Uploads]:
        """Post what the outbox has due, then share the files of posted messages."""
        delivery = await deliver(self.engine, self.client, at=at)
        self._count(delivery)
        return delivery, await upload_files(self.engine, self.client, at=at)

    def _count(self, delivery: Delivery) -> None:
        """Posts by kind (breach, digest, win…) and failures, on the running bot's metrics."""
        if self.metrics is None:
            return
        for key in delivery.sent:
            self.metrics.posts.labels(key.split(":", 1)[0]).inc()
        for _ in delivery.failed:
            self.metrics.errors.labels("outbox").inc()

    async def housekeeping(self, at: datetime) -> bool:
        """Forget old Slack request claims and old runs of the frequent jobs."""
        slot = interval_slot(HOUSEKEEPING_EVERY, at)

        async def work() -> None:
            await forget_requests(self.engine, at=at)
            await forget_runs(self.engine, INTERVAL_JOBS, before=at - KEEP_RUNS)

        return await self.claimed(HOUSEKEEPING, slot.name, at, work)

    async def _roundup(self, slot: Slot, at: datetime) -> None:
        agreement = await self.agreement_at(slot.due_at)
        if agreement is None:
            return
        window = reported_window("weekly", agreement.zone, slot.due_at)
        async with session_scope(self.engine) as session:
            await record_roundup(session, agreement, window, at=at)
