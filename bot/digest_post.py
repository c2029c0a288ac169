"""Posting a digest once: claim its window, record the message and its charts, deliver them.

The scheduler and `slabot digest` share this. `record_digest_once` claims the `(digest:<kind>,
<window>)` slot, builds the digest and records the message (key `Digest.key`) and its charts in
the outbox in one transaction; a second call for the same window, at once or later, in this
process or another, records nothing. `deliver_digest` then posts what is recorded and shares
the charts in the message's thread; it is safe to repeat and to run in several places at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.check import refresh_all_deadlines
from bot.digest_message import Digest, build_digest
from bot.outbox import Delivery, deliver
from bot.outbox_files import Uploads, upload_files
from bot.report_window import Kind, governing_agreement
from models.db import session_scope
from models.outbox import enqueue
from models.outbox_files import enqueue_file
from scheduler.slots import claim_slot, finish_slot

# A claim older than this whose holder never finished it belonged to a process that died; the
# slot may then be claimed again (recording is idempotent by the outbox keys).
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class Recorded:
    """What `record_digest_once` did for a window."""

    kind: Kind
    label: str  # the window: `2027-W10`, `2027-02`
    key: str  # the message's outbox key
    digest: Digest | None  # None: recorded earlier (or by someone else), nothing done now

    @property
    def fresh(self) -> bool:
        return self.digest is not None


def digest_job(kind: Kind) -> str:
    """The job name digests of `kind` claim their windows under."""
    return f"digest:{kind}"


def chart_key(digest_key: str, name: str) -> str:
    return f"{digest_key}:file:{name}"


async def record_digest(session: AsyncSession, digest: Digest, *, at: datetime) -> None:
    """The message and its charts, recorded in the outbox in the caller's transaction."""
    await enqueue(session, digest.key, digest.channel, digest.reply.as_kwargs(), at=at)
    for chart in digest.charts:
        await enqueue_file(
            session,
            chart_key(digest.key, chart.name),
            digest.key,
            filename=chart.name,
            title=chart.title,
            content=chart.png,
            at=at,
        )


async def record_digest_once(
    engine: AsyncEngine, kind: Kind, *, report_at: datetime, at: datetime, holder: str
) -> Recorded | None:
    """Claim and record the digest due at `report_at` (None: no agreement governs it).

    `at` is now: when the claim is taken (a claim is stale `STALE_CLAIM` after it)."""
    async with session_scope(engine) as session:
        governing = await governing_agreement(session, kind, report_at)
    if governing is None:
        return None
    agreement, window = governing
    key = f"digest:{kind}:{window.label}"
    job = digest_job(kind)
    if not await claim_slot(engine, job, window.label, holder, at=at, stale_after=STALE_CLAIM):
        return Recorded(kind, window.label, key, None)
    try:
        async with session_scope(engine) as session:
            await refresh_all_deadlines(session, agreement, at=report_at)
        async with session_scope(engine) as session:
            digest = await build_digest(session, kind, report_at)
            assert digest is not None and digest.key == key
            await record_digest(session, digest, at=at)
    except BaseException:
        await finish_slot(engine, job, window.label, holder, at=at, ok=False)
        raise
    await finish_slot(engine, job, window.label, holder, at=at)
    return Recorded(kind, window.label, key, digest)


async def deliver_digest(
    engine: AsyncEngine, client: AsyncWebClient, key: str, *, at: datetime
) -> tuple[Delivery, Uploads]:
    """Post the recorded digest `key` if it is due, then share its charts in its thread."""
    delivery = await deliver(engine, client, at=at, keys=[key])
    return delivery, await upload_files(engine, client, at=at, keys=[key])
