"""The outbox's rows: a message recorded once by key, claimed for sending, marked with the outcome.

A row's `payload` is the message (`text`, `blocks`, optional `metadata`, `thread_ts`, …) plus a
`_delivery` entry the outbox keeps for itself: when the next attempt is due (`retry_at`, also the
lease of an attempt in flight), the conversation the message went to (`channel`: a DM's `D…` id
when it was addressed to a user) and how many edits were tried (`edit_attempts`).

Statuses: `pending` (to post; nothing was posted), `sending` (claimed, or its outcome unknown:
look for it in Slack before posting again), `sent`, `edit` (sent, newer content to show),
`updating` (an edit in flight) and `failed` (given up). Every change of a row happens in one
short transaction that holds the row's lock, so two processes never both claim it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import OutboxMessage

PENDING, SENDING, SENT, EDIT, UPDATING, FAILED = (
    "pending",
    "sending",
    "sent",
    "edit",
    "updating",
    "failed",
)
ACTIVE = (PENDING, SENDING, EDIT, UPDATING)  # what delivery still has work for
DELIVERY = "_delivery"
# What may be posted; `channel` is the row's own column, the rest is the outbox's business.
MESSAGE_FIELDS = frozenset(
    {"text", "blocks", "attachments", "metadata", "thread_ts", "reply_broadcast", "mrkdwn"}
    | {"unfurl_links", "unfurl_media", "icon_emoji", "icon_url", "username"}
)
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_COLUMNS = ("channel", "status", "attempts", "ts", "last_error", "created_at", "sent_at")


@dataclass(frozen=True)
class Entry:
    """One outbox row as delivery sees it."""

    key: str
    channel: str
    status: str
    attempts: int
    message: dict[str, Any]
    delivery: dict[str, Any]
    ts: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @property
    def retry_at(self) -> datetime | None:
        value = self.delivery.get("retry_at")
        return datetime.fromisoformat(value) if value else None

    @property
    def conversation(self) -> str | None:
        """Where the message was (or is being) posted, as Slack names it."""
        value = self.delivery.get("channel")
        return str(value) if value else None

    @property
    def edit_attempts(self) -> int:
        return int(self.delivery.get("edit_attempts") or 0)

    def due(self, at: datetime) -> bool:
        retry_at = self.retry_at
        return retry_at is None or retry_at <= at


def check_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The message fields of `payload`; a ValueError names what is wrong with them."""
    unknown = sorted(set(payload) - MESSAGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown message fields {', '.join(unknown)}")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a message needs a text fallback (the `text` field)")
    metadata = payload.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict) and isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise ValueError("metadata is {event_type, event_payload: {…}}")
    return dict(payload)


def _entry(row: Any) -> Entry:
    payload = dict(row.payload)
    delivery = dict(payload.pop(DELIVERY, None) or {})
    return Entry(
        key=row.key,
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        message=payload,
        delivery=delivery,
        ts=row.ts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _payload(message: Mapping[str, Any], delivery: Mapping[str, Any]) -> dict[str, Any]:
    return {**message, DELIVERY: dict(delivery)}


async def enqueue(
    session: AsyncSession,
    key: str,
    channel: str,
    payload: Mapping[str, Any],
    *,
    at: datetime,
) -> OutboxMessage:
    """Record a message to post under `key`; the row of an earlier enqueue of `key` is kept."""
    if not key.strip() or not channel.strip():
        raise ValueError("a message needs a key and a channel")
    values = {
        "key": key,
        "channel": channel,
        "payload": _payload(check_message(payload), {}),
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.exec(insert(OutboxMessage).values(**values).on_conflict_do_nothing())
    result = await session.exec(select(OutboxMessage).where(col(OutboxMessage.key) == key))
    return result.one()


async def find(engine: AsyncEngine, key: str) -> Entry | None:
    """The row recorded under `key`, if any."""
    async with engine.connect() as connection:
        row = (await connection.execute(sa_select(OUTBOX).where(OUTBOX.c.key == key))).first()
    return _entry(row) if row is not None else None


async def active(engine: AsyncEngine, *, keys: list[str] | None = None) -> list[Entry]:
    """Rows that delivery still has work for, oldest first (due or not)."""
    statement = sa_select(OUTBOX).where(OUTBOX.c.status.in_(ACTIVE)).order_by(OUTBOX.c.id)
    if keys is not None:
        statement = statement.where(OUTBOX.c.key.in_(keys))
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [_entry(row) for row in rows]


@asynccontextmanager
async def locked(
    engine: AsyncEngine, key: str, *, wait: bool = True
) -> AsyncIterator[tuple[AsyncConnection, Entry | None]]:
    """The row of `key` under a lock held until the block ends (None: absent, or busy and not
    `wait`). PostgreSQL locks the row; SQLite takes its one write lock with a no-op update."""
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            noop = update(OUTBOX).where(OUTBOX.c.key == key).values(status=OUTBOX.c.status)
            await connection.execute(noop)
        statement = sa_select(OUTBOX).where(OUTBOX.c.key == key)
        statement = statement.with_for_update(skip_locked=not wait)
        row = (await connection.execute(statement)).first()
        yield connection, _entry(row) if row is not None else None


async def write(connection: AsyncConnection, entry: Entry, **changes: Any) -> Entry:
    """Store `changes` (columns, and `message` / `delivery` for the payload) for a locked row."""
    message = changes.pop("message", entry.message)
    delivery = {**entry.delivery, **changes.pop("delivery", {})}
    values = {**changes, "payload": _payload(message, delivery)}
    await connection.execute(update(OUTBOX).where(OUTBOX.c.key == entry.key).values(**values))
    fields = {name: changes.get(name, getattr(entry, name)) for name in _COLUMNS}
    return Entry(message=message, delivery=delivery, key=entry.key, **fields)


async def revise(session: AsyncSession, key: str, payload: Mapping[str, Any]) -> Entry | None:
    """Give the message of `key` new content in the caller's transaction (`bot.outbox.edit`
    does the same in a transaction of its own and shows it at once): a posted message is marked
    `edit`, which the next delivery shows through `chat.update`; one not posted yet will be
    posted with the new content. None when nothing is recorded under `key`."""
    message = check_message(payload)
    connection = await session.connection()
    statement = sa_select(OUTBOX).where(OUTBOX.c.key == key).with_for_update()
    row = (await connection.execute(statement)).first()
    if row is None:
        return None
    entry = _entry(row)
    if entry.status in (SENT, EDIT, UPDATING):
        fresh = {"retry_at": None, "edit_attempts": 0}  # due now, with its own attempts
        return await write(connection, entry, message=message, status=EDIT, delivery=fresh)
    return await write(connection, entry, message=message)


async def recorded(
    session: AsyncSession, *, prefixes: tuple[str, ...], since: datetime
) -> list[Entry]:
    """Rows whose key starts with one of `prefixes`, recorded at or after `since`, oldest first."""
    statement = (
        sa_select(OUTBOX)
        .where(
            OUTBOX.c.created_at >= since,
            or_(*(OUTBOX.c.key.startswith(prefix, autoescape=True) for prefix in prefixes)),
        )
        .order_by(OUTBOX.c.id)
    )
    connection = await session.connection()
    return [_entry(row) for row in (await connection.execute(statement)).all()]


async def exists(session: AsyncSession, key: str) -> bool:
    """Whether a message is recorded under `key` (in the caller's transaction)."""
    connection = await session.connection()
    found = await connection.execute(sa_select(OUTBOX.c.id).where(OUTBOX.c.key == key))
    return found.first() is not None
