"""Delivering the outbox: post each recorded message once, retry what failed, edit in place.

`models.outbox.enqueue` records a message under its idempotency key in the caller's transaction;
`deliver` posts what is due, `edit` changes a message (the posted one through `chat.update`).
Each attempt first claims its row (see `models.outbox.locked`), so several processes can deliver
at once and a key is posted once. An attempt whose outcome is unknown (a 5xx, a time-out, a
crash between posting and marking) leaves the row `sending`; the next attempt first looks for
the message in the channel by its metadata and marks it sent if it is there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox_slack import (
    Failure,
    conversation_for,
    failure,
    find_posted,
    post_arguments,
    posting_client,
    update_arguments,
)
from bot.slack import is_call_failure
from models import outbox
from models.outbox import EDIT, FAILED, PENDING, SENDING, SENT, UPDATING, Entry, locked, write

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # then `failed`; with the back-off below, about 16 minutes of trying
BACKOFF = timedelta(seconds=30)  # doubled after each failed attempt
MAX_BACKOFF = timedelta(minutes=10)
# How long an attempt in flight keeps its row: longer than any call (30 s, a few rate-limit
# waits), so a row still claimed after it belongs to a process that died.
LEASE = timedelta(minutes=10)


@dataclass
class Delivery:
    """The keys one `deliver` call dealt with, by outcome."""

    sent: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # already in Slack: marked, not posted again
    edited: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not due yet, or claimed elsewhere


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    wait: timedelta = BACKOFF * 2 ** max(attempts - 1, 0)
    return min(wait, MAX_BACKOFF)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def deliver(
    engine: AsyncEngine,
    client: AsyncWebClient,
    *,
    at: datetime,
    keys: list[str] | None = None,
    limit: int = 100,
) -> Delivery:
    """Post (or edit) the due messages, `limit` at most, of `keys` or of all; safe to run in
    several processes at once."""
    report = Delivery()
    poster = posting_client(client)
    opened: dict[str, str] = {}  # DM conversations by user
    for entry in await outbox.active(engine, keys=keys):
        if not entry.due(at) or len(report.sent) + len(report.edited) >= limit:
            report.waiting.append(entry.key)
        elif entry.status in (PENDING, SENDING):
            status = await _post(engine, client, poster, entry.key, at=at, opened=opened)
            _count(report, entry.key, status)
            if status == EDIT:  # edited while it was being posted: show the newest content
                _count(report, entry.key, await _update(engine, client, entry.key, at=at))
        else:
            _count(report, entry.key, await _update(engine, client, entry.key, at=at))
    return report


def _count(report: Delivery, key: str, outcome: str | None) -> None:
    lists = {
        "posted": report.sent,
        "found": report.found,
        "updated": report.edited,
        "retrying": report.retrying,
        FAILED: report.failed,
        None: report.waiting,
    }
    if outcome in lists:
        lists[outcome].append(key)


async def edit(
    engine: AsyncEngine,
    client: AsyncWebClient,
    key: str,
    payload: dict[str, Any],
    *,
    at: datetime,
) -> Entry:
    """Change the message of `key`: the posted one is edited in Slack now (or at the next
    `deliver` if that fails); one not posted yet will be posted with the new content."""
    message = outbox.check_message(payload)
    async with locked(engine, key) as (connection, entry):
        if entry is None:
            raise LookupError(f"no outbox message with key {key!r}")
        if entry.status in (SENT, EDIT, UPDATING):
            fresh = {"retry_at": None, "edit_attempts": 0}  # due now, with its own attempts
            entry = await write(connection, entry, message=message, status=EDIT, delivery=fresh)
        else:  # not posted yet (or given up): the post will carry the new content
            entry = await write(connection, entry, message=message)
    if entry.status == EDIT:
        await _update(engine, client, key, at=at)
    found = await outbox.find(engine, key)
    assert found is not None
    return found


# --- posting ---------------------------------------------------------------------------------


async def _claim_post(engine: AsyncEngine, key: str, at: datetime) -> tuple[Entry, bool] | None:
    """The row of `key`, claimed for one attempt, and whether an earlier one may have posted."""
    async with locked(engine, key, wait=False) as (connection, entry):
        if entry is None or entry.status not in (PENDING, SENDING) or not entry.due(at):
            return None
        claimed = await write(
            connection,
            entry,
            status=SENDING,
            attempts=entry.attempts + 1,
            delivery={"retry_at": _iso(at + LEASE)},
        )
    return claimed, entry.status == SENDING


async def _post(
    engine: AsyncEngine,
    client: AsyncWebClient,
    poster: AsyncWebClient,
    key: str,
    *,
    at: datetime,
    opened: dict[str, str],
) -> str | None:
    """One attempt at posting `key`: "posted", "found", "retrying", `failed`, `edit` or None."""
    claimed = await _claim_post(engine, key, at)
    if claimed is None:
        return None
    entry, unsure = claimed
    conversation, method = entry.conversation, "conversations.open"
    try:
        conversation = conversation or await conversation_for(client, entry.channel, opened)
        if unsure:
            method = "conversations.history"
            posted = await find_posted(client, entry, conversation)
            if posted is not None:
                same = posted.get("text") == entry.message.get("text")
                status = await _mark_sent(engine, entry, posted, conversation, same, at=at)
                return "found" if status == SENT else status
        method = "chat.postMessage"
        response = await poster.chat_postMessage(**post_arguments(entry, conversation))
    except Exception as exc:
        if not is_call_failure(exc):
            raise
        problem = failure(exc, method)
        unsure = unsure or (method == "chat.postMessage" and problem.maybe_done)
        return await _mark_failed(engine, entry, problem, conversation, unsure, at=at)
    answer = {"ts": response["ts"]}
    status = await _mark_sent(engine, entry, answer, str(response["channel"]), True, at=at)
    return "posted" if status == SENT else status


async def _mark_sent(
    engine: AsyncEngine,
    claimed: Entry,
    posted: dict[str, Any],
    conversation: str,
    shown_current: bool,
    *,
    at: datetime,
) -> str:
    """Record the posted message's ts; `edit` if the row's content changed meanwhile."""
    async with locked(engine, claimed.key) as (connection, entry):
        assert entry is not None
        if entry.status not in (PENDING, SENDING):
            if entry.ts != posted["ts"]:
                log.warning("outbox %s: posted again as %s (kept %s)", entry.key, posted, entry.ts)
            return entry.status
        current = shown_current and entry.message == claimed.message
        await write(
            connection,
            entry,
            status=SENT if current else EDIT,
            ts=str(posted["ts"]),
            sent_at=at,
            last_error=None,
            delivery={"retry_at": None, "channel": conversation, "edit_attempts": 0},
        )
    return SENT if current else EDIT


async def _mark_failed(
    engine: AsyncEngine,
    claimed: Entry,
    problem: Failure,
    conversation: str | None,
    unsure: bool,
    *,
    at: datetime,
) -> str | None:
    """Record a failed attempt: retry later (`sending` if it may have posted), or give up."""
    async with locked(engine, claimed.key) as (connection, entry):
        if entry is None or entry.status != SENDING or entry.attempts != claimed.attempts:
            return None  # the lease ran out and another attempt owns the row now
        error = problem.text + (" (it may have been posted once)" if unsure else "")
        changes: dict[str, Any] = {"delivery": {"retry_at": None, "channel": conversation}}
        if problem.permanent or entry.attempts >= MAX_ATTEMPTS:
            if not problem.permanent:
                error = f"gave up after {entry.attempts} attempts: {error}"
            await write(connection, entry, status=FAILED, last_error=error, **changes)
            log.warning("outbox %s: not delivered: %s", entry.key, error)
            return FAILED
        wait = backoff(entry.attempts)
        if problem.retry_after is not None:
            wait = timedelta(seconds=problem.retry_after)  # Slack said when
        changes["delivery"]["retry_at"] = _iso(at + wait)
        status = SENDING if unsure else PENDING
        await write(connection, entry, status=status, last_error=error, **changes)
    return "retrying"


# --- editing ---------------------------------------------------------------------------------


async def _update(
    engine: AsyncEngine, client: AsyncWebClient, key: str, *, at: datetime
) -> str | None:
    """One attempt at showing the row's content in the posted message: "updated", "retrying"."""
    async with locked(engine, key, wait=False) as (connection, entry):
        if entry is None or entry.status not in (EDIT, UPDATING) or not entry.due(at):
            return None
        delivery = {"retry_at": _iso(at + LEASE), "edit_attempts": entry.edit_attempts + 1}
        claimed = await write(connection, entry, status=UPDATING, delivery=delivery)
    try:
        await client.chat_update(**update_arguments(claimed))
    except Exception as exc:
        if not is_call_failure(exc):
            raise
        return await _update_failed(engine, claimed, failure(exc, "chat.update"), at=at)
    async with locked(engine, key) as (connection, entry):
        if entry is None or entry.status != UPDATING:
            return "updated"  # edited again meanwhile: the next delivery shows that
        status = SENT if entry.message == claimed.message else EDIT
        delivery = {"retry_at": None, "edit_attempts": 0}
        await write(connection, entry, status=status, last_error=None, delivery=delivery)
    return "updated"


async def _update_failed(
    engine: AsyncEngine, claimed: Entry, problem: Failure, *, at: datetime
) -> str | None:
    async with locked(engine, claimed.key) as (connection, entry):
        if entry is None or entry.status != UPDATING:
            return None
        if problem.permanent or entry.edit_attempts >= MAX_ATTEMPTS:
            error = f"the edit is not shown: {problem.text}"
            reset = {"retry_at": None, "edit_attempts": 0}
            await write(connection, entry, status=SENT, last_error=error, delivery=reset)
            log.warning("outbox %s: %s", entry.key, error)
            return FAILED
        wait = backoff(entry.edit_attempts)
        if problem.retry_after is not None:
            wait = timedelta(seconds=problem.retry_after)
        delivery: dict[str, Any] = {"retry_at": _iso(at + wait)}
        await write(connection, entry, status=EDIT, last_error=problem.text, delivery=delivery)
    return "retrying"
