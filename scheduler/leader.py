"""One leader among the bot's replicas: only the leader runs the scheduled jobs.

On PostgreSQL the leader holds a session advisory lock on a connection of its own (outside the
query pool) and checks that connection every few seconds; the lock lives exactly as long as the
connection, so if the connection drops, leadership is lost at once and `on_lost` stops the jobs.
Elsewhere (SQLite, or `lease=True`) the leader holds a lease row in `job_run` (job `leader`, slot
`lease`; `started_at` is when it was taken, `finished_at` when it expires), renews it every few
seconds and anyone may take it once it has expired. Expiry is computed from the injected clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from models.tables import JobRun

log = logging.getLogger(__name__)

LOCK_NAME = "slabot:scheduler-leader"
LEASE_JOB, LEASE_SLOT = "leader", "lease"
JOB_RUN: Table = JobRun.__table__  # type: ignore[attr-defined]
Callback = Callable[[], Awaitable[None] | None]
Clock = Callable[[], datetime]
LOST_ERRORS = (DBAPIError, InterfaceError, OperationalError, OSError)


def holder_id() -> str:
    """A name for this process among the replicas: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def lock_key(name: str = LOCK_NAME) -> int:
    """The advisory lock's 64-bit key for `name` (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _now() -> datetime:
    return datetime.now(UTC)


class Leader:
    """Leadership for `holder`: `acquire()` once, or `run(on_gained, on_lost)` until `stop()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        holder: str,
        *,
        lease: bool | None = None,
        ttl: timedelta = timedelta(seconds=30),
        check_every: float = 5.0,
        clock: Clock = _now,
        name: str = LOCK_NAME,
    ) -> None:
        self.engine, self.holder, self.clock = engine, holder, clock
        self.lease = engine.dialect.name != "postgresql" if lease is None else lease
        self.ttl, self.check_every, self.name = ttl, check_every, name
        self.is_leader = False
        self.backend_pid: int | None = None  # the lock connection's server process (PostgreSQL)
        self._lock_engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        self._stopped = asyncio.Event()

    # --- one step at a time -----------------------------------------------------------------

    async def acquire(self) -> bool:
        """Become the leader if nobody is; True if this holder is the leader now."""
        try:
            gained = await (self._take_lease() if self.lease else self._take_lock())
        except LOST_ERRORS as exc:
            log.warning("leader: could not ask for leadership: %s", type(exc).__name__)
            await self._drop_connection()
            gained = False
        self.is_leader = gained
        return gained

    async def check(self) -> bool:
        """Whether this holder is still the leader (renewing the lease); False loses it."""
        if not self.is_leader:
            return False
        try:
            held = await (self._renew_lease() if self.lease else self._ping())
        except LOST_ERRORS as exc:
            log.warning("leader: leadership lost: %s", type(exc).__name__)
            held = False
        if not held:
            self.is_leader = False
            await self._drop_connection()
        return held

    async def release(self) -> None:
        """Give leadership up (the lock, or the lease: it expires now)."""
        was_leader, self.is_leader = self.is_leader, False
        if self.lease and was_leader:
            with suppress(*LOST_ERRORS):
                await self._expire_lease()
        if self._connection is not None and was_leader:
            with suppress(*LOST_ERRORS):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)}
                )
        await self._drop_connection()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, on_gained: Callback, on_lost: Callback) -> None:
        """Try for leadership, hold it, and call back on each change, until `stop()`."""
        try:
            while not self._stopped.is_set():
                if self.is_leader:
                    if not await self.check():
                        await _call(on_lost)
                elif await self.acquire():
                    await _call(on_gained)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self.check_every)
        finally:
            if self.is_leader:
                await self.release()
                await _call(on_lost)
            await self._drop_connection()

    def stop(self) -> None:
        """Make `run` release leadership and return."""
        self._stopped.set()

    # --- PostgreSQL: an advisory lock on a connection of its own ------------------------------

    async def _take_lock(self) -> bool:
        if self._connection is None:
            self._lock_engine = create_async_engine(
                self.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
            )
            self._connection = await self._lock_engine.connect()
            pid = await self._connection.scalar(text("SELECT pg_backend_pid()"))
            self.backend_pid = int(pid) if pid is not None else None
        result = await self._connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}
        )
        return bool(result)

    async def _ping(self) -> bool:
        if self._connection is None:
            return False
        await self._connection.execute(text("SELECT 1"))
        return True

    async def _drop_connection(self) -> None:
        connection, engine = self._connection, self._lock_engine
        self._connection, self._lock_engine, self.backend_pid = None, None, None
        if connection is not None:
            with suppress(*LOST_ERRORS):
                await connection.close()
        if engine is not None:
            await engine.dispose()

    # --- anywhere: a lease row -------------------------------------------------------------

    async def _take_lease(self) -> bool:
        at = self.clock()
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        new = insert(JOB_RUN).values(
            job=LEASE_JOB,
            slot=LEASE_SLOT,
            claimed_by=self.holder,
            started_at=at,
            finished_at=at + self.ttl,
            status="leader",
        )
        take = (
            update(JOB_RUN)
            .where(
                JOB_RUN.c.job == LEASE_JOB,
                JOB_RUN.c.slot == LEASE_SLOT,
                or_(JOB_RUN.c.claimed_by == self.holder, JOB_RUN.c.finished_at <= at),
            )
            .values(claimed_by=self.holder, started_at=at, finished_at=at + self.ttl)
        )
        async with self.engine.begin() as connection:
            inserted = await connection.execute(new.on_conflict_do_nothing())
            return bool(inserted.rowcount) or bool((await connection.execute(take)).rowcount)

    async def _renew_lease(self) -> bool:
        at = self.clock()
        renew = (
            update(JOB_RUN)
            .where(
                JOB_RUN.c.job == LEASE_JOB,
                JOB_RUN.c.slot == LEASE_SLOT,
                JOB_RUN.c.claimed_by == self.holder,
                JOB_RUN.c.finished_at > at,  # an expired lease may be someone else's already
            )
            .values(finished_at=at + self.ttl)
        )
        async with self.engine.begin() as connection:
            return bool((await connection.execute(renew)).rowcount)

    async def _expire_lease(self) -> None:
        expire = (
            update(JOB_RUN)
            .where(
                JOB_RUN.c.job == LEASE_JOB,
                JOB_RUN.c.slot == LEASE_SLOT,
                JOB_RUN.c.claimed_by == self.holder,
            )
            .values(finished_at=self.clock())
        )
        async with self.engine.begin() as connection:
            await connection.execute(expire)


async def _call(callback: Callback) -> None:
    result = callback()
    if inspect.isawaitable(result):
        await result
