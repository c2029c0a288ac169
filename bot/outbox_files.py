"""Uploading the outbox's files: each into the thread of its posted message, once.

`models.outbox_files.enqueue_file` records a file with its message; `upload_files` shares, with
`files_upload_v2`, the due files whose message is posted. Each attempt first claims its row, so
several processes may run it at once. An attempt whose outcome is unknown (a 5xx or a dropped
connection while completing, a crash before marking) leaves the row `uploading`; the next
attempt first looks for a file of that name shared in the channel since it was recorded
(`files.list`) and marks it done if it is there, so a chart is shared once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import LEASE, MAX_ATTEMPTS, backoff
from bot.outbox_slack import CLOCK_SKEW, Failure, failure, posting_client
from bot.slack import is_call_failure
from models import outbox
from models.outbox import EDIT as MESSAGE_EDIT
from models.outbox import FAILED as MESSAGE_FAILED
from models.outbox import SENT, UPDATING
from models.outbox_files import (
    DONE,
    FAILED,
    PENDING,
    UPLOADING,
    FileEntry,
    active_files,
    content_of,
    locked_file,
    write_file,
)

log = logging.getLogger(__name__)

POSTED = (SENT, MESSAGE_EDIT, UPDATING)  # the message is in Slack: its thread can take files
LIST_PAGES = 5  # of 100 files each: how far back `files.list` is searched after a crash


@dataclass
class Uploads:
    """The file keys one `upload_files` call dealt with, by outcome."""

    uploaded: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # already shared: marked, not uploaded again
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # message not posted, not due, or busy


async def upload_files(
    engine: AsyncEngine, client: AsyncWebClient, *, at: datetime, keys: list[str] | None = None
) -> Uploads:
    """Upload the due files of posted messages (`keys`: of those messages only)."""
    report = Uploads()
    poster = posting_client(client)  # rate limits retried; the rest is decided here
    for entry in await active_files(engine, keys=keys):
        message = await outbox.find(engine, entry.message_key)
        if message is not None and message.status == MESSAGE_FAILED:
            await _give_up(engine, entry, "its message was not posted")
            report.failed.append(entry.key)
            continue
        if message is None or message.status not in POSTED or not entry.due(at):
            report.waiting.append(entry.key)
            continue
        assert message.conversation is not None and message.ts is not None
        outcome = await _upload(engine, poster, entry.key, message.conversation, message.ts, at)
        {
            "uploaded": report.uploaded,
            "found": report.found,
            "retrying": report.retrying,
            FAILED: report.failed,
            None: report.waiting,
        }[outcome].append(entry.key)
    return report


async def _claim(engine: AsyncEngine, key: str, at: datetime) -> tuple[FileEntry, bool] | None:
    """The row of `key` claimed for one attempt, and whether an earlier one may have shared it."""
    async with locked_file(engine, key, wait=False) as (connection, entry):
        if entry is None or entry.status not in (PENDING, UPLOADING) or not entry.due(at):
            return None
        claimed = await write_file(
            connection,
            entry,
            status=UPLOADING,
            attempts=entry.attempts + 1,
            retry_at=at + LEASE,
        )
    return claimed, entry.status == UPLOADING


async def _upload(
    engine: AsyncEngine,
    client: AsyncWebClient,
    key: str,
    channel: str,
    thread_ts: str,
    at: datetime,
) -> str | None:
    """One attempt: "uploaded", "found", "retrying", `failed` or None (someone else's now)."""
    claimed = await _claim(engine, key, at)
    if claimed is None:
        return None
    entry, unsure = claimed
    method = "files.list"
    try:
        if unsure:
            found = await find_shared(client, channel, entry.filename, entry.created_at)
            if found is not None:
                return await _mark_done(engine, entry, found, at, "found")
        method = "files.upload"
        response = await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            file=await content_of(engine, key),
            filename=entry.filename,
            title=entry.title,
            alt_txt=entry.title,
        )
    except Exception as exc:
        if isinstance(exc, SlackRequestError):  # the bytes were refused: nothing was shared
            problem = Failure(f"Slack refused the upload: {exc}", False, False)
        elif is_call_failure(exc):
            problem = failure(exc, method)
        else:
            raise
        return await _mark_failed(engine, entry, problem, unsure or problem.maybe_done, at)
    file = response.get("file") or {}
    return await _mark_done(engine, entry, str(file.get("id") or ""), at, "uploaded")


async def find_shared(
    client: AsyncWebClient, channel: str, filename: str, since: datetime
) -> str | None:
    """The id of a file named `filename` shared in `channel` since `since`, if any."""
    oldest = int((since - CLOCK_SKEW).timestamp())
    for page in range(1, LIST_PAGES + 1):
        response = await client.files_list(channel=channel, ts_from=str(oldest), page=page)
        files: list[dict[str, Any]] = response.get("files") or []
        for file in files:
            if file.get("name") == filename:
                return str(file.get("id") or "")
        if page >= int((response.get("paging") or {}).get("pages") or 1):
            return None
    return None


async def _mark_done(
    engine: AsyncEngine, claimed: FileEntry, file_id: str, at: datetime, outcome: str
) -> str | None:
    async with locked_file(engine, claimed.key) as (connection, entry):
        if entry is None or entry.status != UPLOADING or entry.attempts != claimed.attempts:
            return None  # the lease ran out and another attempt owns the row now
        await write_file(
            connection,
            entry,
            status=DONE,
            file_id=file_id or None,
            uploaded_at=at,
            retry_at=None,
            last_error=None,
        )
    return outcome


async def _mark_failed(
    engine: AsyncEngine, claimed: FileEntry, problem: Failure, unsure: bool, at: datetime
) -> str | None:
    """Record a failed attempt: retry later (`uploading` if it may have been shared), or stop."""
    async with locked_file(engine, claimed.key) as (connection, entry):
        if entry is None or entry.status != UPLOADING or entry.attempts != claimed.attempts:
            return None
        error = problem.text + (" (it may have been shared once)" if unsure else "")
        if problem.permanent or entry.attempts >= MAX_ATTEMPTS:
            if not problem.permanent:
                error = f"gave up after {entry.attempts} attempts: {error}"
            await write_file(connection, entry, status=FAILED, last_error=error, retry_at=None)
            log.warning("outbox file %s: not uploaded: %s", entry.key, error)
            return FAILED
        wait = backoff(entry.attempts)
        if problem.retry_after is not None:
            wait = timedelta(seconds=problem.retry_after)
        status = UPLOADING if unsure else PENDING
        await write_file(
            connection, entry, status=status, last_error=error, retry_at=(at + wait).astimezone(UTC)
        )
    return "retrying"


async def _give_up(engine: AsyncEngine, claimed: FileEntry, why: str) -> None:
    async with locked_file(engine, claimed.key) as (connection, entry):
        if entry is not None and entry.status in (PENDING, UPLOADING):
            await write_file(connection, entry, status=FAILED, last_error=why, retry_at=None)
