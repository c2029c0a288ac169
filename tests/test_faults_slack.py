"""Slack failing on every Web API call the outbox makes: a 429 storm with `Retry-After`, a 5xx
and a time-out (the fake stalls, having done the work) on each of them. The outbox waits as
documented (the `Retry-After` for a 429; back-off of 30 s doubling for the rest), looks before
posting again when the outcome is unknown, and ends with exactly one message (one edit, one
file) in Slack and its row marked; when Slack keeps refusing it gives up cleanly, the row left
to retry. Calls made by handlers (outside the outbox) are in `test_faults_slack_handlers.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerting import deliver_alerts
from bot.outbox import backoff, deliver, edit
from bot.outbox_files import upload_files
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_files import files_of
from bot.sandbox.slack_history import dm_channel
from bot.slack import SERVER_ERROR_RETRIES, retry_handlers
from models import outbox
from models.db import session_scope
from models.outbox_files import active_files, enqueue_file
from models.outbox_files import files_of as file_rows
from tests.utils.outbox import AT, CHANNEL, message, record
from tests.utils.waiting import until

KEY = "breach:U0ANA:2027-01-15T07:59Z"
PARENT = "digest:weekly:2027-W02"
USER = "U0ANA"
CHART = "funnel-2027-W02.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RETRY_AFTER = 45  # seconds: distinct from every back-off step, so a wait says which rule chose it
RETRY = timedelta(seconds=RETRY_AFTER)
TIMEOUT = 0.3  # the client's, in seconds; a stall outlasts it
STALL = 0.7

# Calls through `posting_client` are never retried on a 5xx inside the call (Slack may have
# done the work); the others are retried SERVER_ERROR_RETRIES times before the outbox sees it.
POSTING = {
    "chat.postMessage",
    "files.getUploadURLExternal",
    "files.upload",
    "files.completeUploadExternal",
}


def bot_client(fake: FakeSlack) -> AsyncWebClient:
    """The bot's client (`bot.slack`'s retry handlers, quick back-off, a short time-out) less the
    in-call rate-limit waits, so each 429 reaches the outbox (those waits: test_slack_fake)."""
    handlers = [
        handler
        for handler in retry_handlers(FixedValueRetryIntervalCalculator(0.01))
        if not isinstance(handler, AsyncRateLimitErrorRetryHandler)
    ]
    return AsyncWebClient(token=TOKEN, base_url=fake.url, timeout=TIMEOUT, retry_handlers=handlers)


# --- what each case records, and what Slack must hold afterwards ------------------------------


Arm = Callable[[], None]
"""Injects the case's fault: the preparation calls it once the earlier calls are made."""


@dataclass
class Case:
    """A message (and maybe a file) recorded so that delivering it reaches `method`."""

    method: str
    prepare: Callable[[AsyncEngine, FakeSlack, AsyncWebClient, Arm], Awaitable[None]]
    channel: str = CHANNEL
    file: bool = False
    text: str = "Lead L-1001 breached"


async def _message(engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm) -> None:
    await record(engine, KEY)
    arm()


async def _direct(engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm) -> None:
    await record(engine, KEY, channel=USER)  # a user id: the DM is opened first
    arm()


async def _lost(engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm) -> None:
    """Posted, but the answer lost: the next attempt looks in the channel first."""
    await record(engine, KEY)
    fake.inject("lost_response", method="chat.postMessage", status=500)
    arm()


async def _lost_reply(
    engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm
) -> None:
    """A reply posted into a thread, its answer lost: the thread is looked through."""
    await record(engine, PARENT, "Week 2")
    await deliver(engine, client, at=AT)
    [parent] = fake.messages[CHANNEL]
    await record(engine, KEY, thread_ts=parent.ts)
    fake.inject("lost_response", method="chat.postMessage", status=500)
    arm()


async def _edited(engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm) -> None:
    """Posted, then edited (the edit is tried at once, and meets the fault)."""
    await record(engine, KEY)
    await deliver(engine, client, at=AT)
    arm()
    await edit(engine, client, KEY, message("Lead L-1001 contacted"), at=AT)


async def _with_chart(
    engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm
) -> None:
    async with session_scope(engine) as session:
        await outbox.enqueue(session, KEY, CHANNEL, message("Lead L-1001 breached"), at=AT)
        await enqueue_file(
            session, f"{KEY}:file", KEY, filename=CHART, title="Funnel", content=PNG, at=AT
        )
    arm()


async def _chart_lost(
    engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, arm: Arm
) -> None:
    """The chart shared, but the answer lost: the next attempt looks through `files.list`."""
    await _with_chart(engine, fake, client, lambda: None)
    fake.inject("lost_response", method="files.completeUploadExternal", status=500)
    arm()


CASES = [
    Case("chat.postMessage", _message),
    Case("conversations.open", _direct, channel=dm_channel(USER)),
    Case("conversations.history", _lost),
    Case("conversations.replies", _lost_reply),
    Case("chat.update", _edited, text="Lead L-1001 contacted"),
    Case("files.getUploadURLExternal", _with_chart, file=True),
    Case("files.upload", _with_chart, file=True),
    Case("files.completeUploadExternal", _with_chart, file=True),
    Case("files.list", _chart_lost, file=True),
]
FAULTS: dict[str, Callable[[str], dict[str, Any]]] = {
    # two 429s in a row, each asking for RETRY_AFTER seconds
    "rate_limited": lambda method: {"times": 2, "retry_after": RETRY_AFTER},
    # one failed attempt: as many 503s as the attempt's call makes
    "server_error": lambda method: {
        "times": 1 if method in POSTING else 1 + SERVER_ERROR_RETRIES,
        "status": 503,
    },
    # served, then the answer held past the client's time-out
    "stall": lambda method: {"times": 1, "seconds": STALL},
}
# The fake's upload URL (`slack_files.receive_upload`) has no stall: it answers a stall as a 503.
MATRIX = [
    pytest.param(case, fault, id=f"{case.method}-{fault}")
    for case in CASES
    for fault in FAULTS
    if (case.method, fault) != ("files.upload", "stall")
]


async def _rows(engine: AsyncEngine) -> dict[str, tuple[str, int, datetime | None]]:
    found = {
        e.key: (e.status, e.attempts + e.edit_attempts, e.retry_at)
        for e in await outbox.active(engine)
    }
    for f in await active_files(engine):
        found[f.key] = (f.status, f.attempts, f.retry_at)
    return found


async def drive(
    engine: AsyncEngine, fake: FakeSlack, client: AsyncWebClient, start: datetime
) -> set[timedelta]:
    """Deliver (messages, then files) at `start`, then at each next retry instant until nothing
    is left, checking a second before each that Slack is not called early; returns the waits
    the failed attempts set."""
    waits: set[timedelta] = set()
    at = start
    for _ in range(12):
        before = await _rows(engine)
        await deliver(engine, client, at=at)
        await upload_files(engine, client, at=at)
        after = await _rows(engine)
        for key, (_, attempts, retry_at) in after.items():
            if retry_at is not None and attempts > before.get(key, ("", 0, None))[1]:
                waits.add(retry_at - at)
        due = [retry_at for _, _, retry_at in after.values() if retry_at is not None]
        if not after:
            return waits
        assert due, f"rows left with nothing due: {after}"
        calls = len(fake.calls)
        early = min(due) - timedelta(seconds=1)
        if early > at:
            await deliver(engine, client, at=early)
            await upload_files(engine, client, at=early)
            assert len(fake.calls) == calls, "Slack was called before the retry instant"
        at = max(at, min(due))
    raise AssertionError(f"still undelivered: {await _rows(engine)}")


def _key(m: Any) -> str | None:
    return (m.metadata or {}).get("event_payload", {}).get("key")


@pytest.mark.parametrize(("case", "fault"), MATRIX)
async def test_each_outbox_call_survives_a_429_storm_a_5xx_and_a_time_out(
    engine: AsyncEngine, fake_slack: FakeSlack, case: Case, fault: str
) -> None:
    client = bot_client(fake_slack)
    faults_before = 0

    def arm() -> None:
        nonlocal faults_before
        faults_before = len(fake_slack.calls_to(case.method))
        fake_slack.inject(fault, method=case.method, **FAULTS[fault](case.method))

    await case.prepare(engine, fake_slack, client, arm)

    waits = await drive(engine, fake_slack, client, AT)
    expected_calls = expected_statuses(case.method, fault)
    calls = faults_before + len(expected_calls)  # a stalled call is recorded once answered
    await until(lambda: len(fake_slack.calls_to(case.method)) >= calls)

    # Slack holds the message once (and the chart once, in its thread), as it should read.
    messages = {
        channel: [(_key(m), m.text) for m in found if m.thread_ts in (None, m.ts) or _key(m) == KEY]
        for channel, found in fake_slack.messages.items()
    }
    expected = [(PARENT, "Week 2")] if case.method == "conversations.replies" else []
    assert messages == {case.channel: [*expected, (KEY, case.text)]}
    [posted] = [m for m in fake_slack.messages[case.channel] if _key(m) == KEY]
    if case.method == "chat.update":
        assert [e.get("text") for e in posted.edits] == ["Lead L-1001 breached"] + (
            ["Lead L-1001 contacted"] if fault == "stall" else []  # the stalled edit was made
        )
    shared = files_of(fake_slack).shared
    assert [(f.filename, f.channel, f.thread_ts) for f in shared] == (
        [(CHART, CHANNEL, posted.ts)] if case.file else []
    )

    # The store: the row sent with Slack's ts, the file done with Slack's id.
    entry = await outbox.find(engine, KEY)
    assert entry is not None
    assert (entry.status, entry.ts, entry.conversation) == ("sent", posted.ts, case.channel)
    assert [(r.status, r.file_id) for r in await file_rows(engine, KEY)] == (
        [("done", shared[0].id)] if case.file else []
    )

    # The faults were met, and each wait was the documented one.
    statuses = [c.status for c in fake_slack.calls_to(case.method)][faults_before:]
    assert statuses == expected_calls
    if case.method == "chat.postMessage":  # a 429 posted nothing; after the rest, look first
        lookups = len(fake_slack.calls_to("conversations.history"))
        assert lookups == (0 if fault == "rate_limited" else 1)
    backoffs = {backoff(n) for n in range(1, 7)}
    if fault == "rate_limited" and case.method != "files.upload":
        assert RETRY in waits  # Slack said when: not a back-off
        assert waits <= backoffs | {RETRY}
    else:  # back-off only (slack_sdk gives no Retry-After of the upload URL's 429)
        assert waits <= backoffs


def expected_statuses(method: str, fault: str) -> list[int]:
    """What the faulted method answered, attempt after attempt, until it worked."""
    if fault == "rate_limited":
        return [429, 429, 200]  # no retry inside the call here: each 429 is the outbox's
    if fault == "server_error":
        return [503] * int(FAULTS[fault](method)["times"]) + [200]
    # A stalled call was served: a post or a share is then found by looking, not made again;
    # anything else is simply asked again.
    return [200] if method in ("chat.postMessage", "files.completeUploadExternal") else [200, 200]


async def test_a_storm_longer_than_the_checks_patience_leaves_the_row_to_the_next_check(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY)
    client = bot_client(fake_slack)
    fake_slack.inject("rate_limited", method="chat.postMessage", retry_after=120)

    first = await deliver_alerts(engine, client, [KEY], now=lambda: AT)  # patience: 60 s
    assert (first.sent, first.retrying) == ([], [KEY])
    entry = await outbox.find(engine, KEY)
    assert entry is not None and (entry.status, entry.attempts) == ("pending", 1)
    assert entry.retry_at == AT + timedelta(seconds=120)  # for the next check, as Slack asked
    assert fake_slack.messages == {}

    early = await deliver_alerts(engine, client, [], now=lambda: AT + timedelta(seconds=119))
    assert early.sent == [] and len(fake_slack.calls) == 1
    later = await deliver_alerts(engine, client, [], now=lambda: AT + timedelta(seconds=120))
    assert later.sent == [KEY]  # an earlier check's leftover, posted by this one
    assert [(_key(m), m.text) for m in fake_slack.messages[CHANNEL]] == [
        (KEY, "Lead L-1001 breached")
    ]
    entry = await outbox.find(engine, KEY)
    assert entry is not None and (entry.status, entry.attempts, entry.last_error) == (
        "sent",
        2,
        None,
    )
