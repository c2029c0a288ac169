"""The status each replica keeps ready for `/sla status` and the App Home: fresh, and cheap to serve.

`build_status` reads a few aggregates over the whole period (tens of milliseconds at 100,000
leads); people ask for the same answer many times a minute, and its inputs change only when a
sync, a check or a person changes something. So each replica keeps the latest report per team,
refreshes it every `REFRESH` in the background (`keep_fresh`), and forgets it at once when this
replica changes something (`invalidate`, called by every changing command, button and modal),
so people see their own changes straight away. A report older than `MAX_AGE`, or of another
agreement version, is never served: the request computes it, as without the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.status import StatusReport, build_status
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force
from models.db import session_scope

log = logging.getLogger("slabot.status")

REFRESH = timedelta(minutes=1)
MAX_AGE = timedelta(minutes=2)  # twice the refresh: a refresh that failed once is tolerated


@dataclass
class StatusCache:
    """The latest status report per team (None: all teams) of this replica."""

    max_age: timedelta = MAX_AGE
    _reports: dict[str | None, StatusReport] = field(default_factory=dict)
    _generation: int = 0  # bumped by `invalidate`; a report computed across a bump is dropped

    def get(self, agreement: Agreement, team: str | None, at: datetime) -> StatusReport | None:
        report = self._reports.get(team)
        if report is None or report.agreement is not agreement:
            return None
        if not report.at <= at < report.at + self.max_age:
            return None
        return report

    @property
    def generation(self) -> int:
        return self._generation

    def put(self, report: StatusReport, team: str | None, generation: int) -> None:
        """Keep `report` unless something changed since it started (`generation` then)."""
        if generation == self._generation:
            self._reports[team] = report

    def invalidate(self) -> None:
        """Something changed in the store through this replica: compute the next one afresh."""
        self._generation += 1
        self._reports.clear()


async def status_for(
    cache: StatusCache, engine: AsyncEngine, agreement: Agreement, *, at: datetime, team: str | None
) -> StatusReport:
    """The kept report when it is fresh, else one computed now (and kept)."""
    kept = cache.get(agreement, team, at)
    if kept is not None:
        return kept
    generation = cache.generation
    async with session_scope(engine) as session:
        report = await build_status(session, agreement, at=at, team=team)
    cache.put(report, team, generation)
    return report


async def refresh(cache: StatusCache, engine: AsyncEngine, *, at: datetime) -> int:
    """Compute the reports of all teams and of each team at `at`; how many were kept."""
    async with session_scope(engine) as session:
        version = await version_in_force(session, at)
    if version is None:
        return 0
    agreement = agreement_of(version)
    kept = 0
    for team in [None, *agreement.teams]:
        generation = cache.generation
        async with session_scope(engine) as session:
            report = await build_status(session, agreement, at=at, team=team)
        cache.put(report, team, generation)
        kept += generation == cache.generation
    return kept


async def keep_fresh(
    cache: StatusCache, engine: AsyncEngine, now: Callable[[], datetime], stop: asyncio.Event
) -> None:
    """Refresh every `REFRESH` until `stop` is set; a failed refresh is logged and retried."""
    while not stop.is_set():
        try:
            await refresh(cache, engine, at=now())
        except (OSError, SQLAlchemyError) as exc:
            log.warning("status refresh failed: %s", type(exc).__name__)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH.total_seconds())
