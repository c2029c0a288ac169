"""The outbox's files: recorded with their message, uploaded into its thread once it is posted.

Statuses: `pending` (to upload; nothing was shared), `uploading` (claimed, or its outcome
unknown: look for it in Slack before uploading again), `done` (shared; `file_id` kept) and
`failed` (given up). `retry_at` is when the next attempt is due, and the lease of an attempt in
flight. As for messages, every change happens in one short transaction holding the row's lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import OutboxFile

PENDING, UPLOADING, DONE, FAILED = "pending", "uploading", "done", "failed"
ACTIVE = (PENDING, UPLOADING)
FILES: Table = OutboxFile.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FileEntry:
    """One file row as the upload sees it (without its bytes, which stay in the store)."""

    key: str
    message_key: str
    filename: str
    title: str
    status: str
    attempts: int
    file_id: str | None
    retry_at: datetime | None
    last_error: str | None
    created_at: datetime

    def due(self, at: datetime) -> bool:
        return self.retry_at is None or self.retry_at <= at


_FIELDS = [FILES.c[name] for name in FileEntry.__dataclass_fields__]


def _entry(row: Any) -> FileEntry:
    return FileEntry(**{name: getattr(row, name) for name in FileEntry.__dataclass_fields__})


async def enqueue_file(
    session: AsyncSession,
    key: str,
    message_key: str,
    *,
    filename: str,
    title: str,
    content: bytes,
    at: datetime,
) -> None:
    """Record a file for the thread of the message `message_key`; an earlier `key` is kept."""
    if not key.strip() or not message_key.strip() or not filename.strip():
        raise ValueError("a file needs a key, its message's key and a file name")
    if not content:
        raise ValueError(f"file {filename} is empty")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "key": key,
        "message_key": message_key,
        "filename": filename,
        "title": title,
        "content": content,
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
    }
    await session.exec(insert(OutboxFile).values(**values).on_conflict_do_nothing())


async def active_files(engine: AsyncEngine, *, keys: list[str] | None = None) -> list[FileEntry]:
    """Files still to upload (due or not), oldest first; `keys` are their messages' keys."""
    statement = sa_select(*_FIELDS).where(FILES.c.status.in_(ACTIVE)).order_by(FILES.c.id)
    if keys is not None:
        statement = statement.where(FILES.c.message_key.in_(keys))
    async with engine.connect() as connection:
        return [_entry(row) for row in (await connection.execute(statement)).all()]


async def files_of(engine: AsyncEngine, message_key: str) -> list[FileEntry]:
    """Every file of a message, in the order they were recorded."""
    statement = sa_select(*_FIELDS).where(FILES.c.message_key == message_key)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement.order_by(FILES.c.id))).all()
    return [_entry(row) for row in rows]


async def content_of(engine: AsyncEngine, key: str) -> bytes:
    async with engine.connect() as connection:
        content = await connection.scalar(sa_select(FILES.c.content).where(FILES.c.key == key))
    if content is None:
        raise LookupError(f"no outbox file with key {key!r}")
    return bytes(content)


@asynccontextmanager
async def locked_file(
    engine: AsyncEngine, key: str, *, wait: bool = True
) -> AsyncIterator[tuple[AsyncConnection, FileEntry | None]]:
    """The row of `key` under a lock held until the block ends (see `models.outbox.locked`)."""
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            noop = update(FILES).where(FILES.c.key == key).values(status=FILES.c.status)
            await connection.execute(noop)
        statement = sa_select(*_FIELDS).where(FILES.c.key == key)
        row = (await connection.execute(statement.with_for_update(skip_locked=not wait))).first()
        yield connection, _entry(row) if row is not None else None


async def write_file(connection: AsyncConnection, entry: FileEntry, **changes: Any) -> FileEntry:
    """Store `changes` (columns) for a locked row; returns the row as it is now."""
    await connection.execute(update(FILES).where(FILES.c.key == entry.key).values(**changes))
    fields = {name: changes.get(name, getattr(entry, name)) for name in entry.__dataclass_fields__}
    return FileEntry(**fields)
