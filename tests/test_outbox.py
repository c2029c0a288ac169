"""The outbox on a real store and the fake Slack: record once, post once, edit in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import deliver, edit
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_history import dm_channel
from models.db import session_scope
from models.outbox import enqueue, find
from models.tables import OutboxMessage
from tests.utils.outbox import AT, CHANNEL, message, record, slack_client

KEY = "breach:mql-first-touch:L-1001:breached"


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_a_second_enqueue_of_a_key_keeps_the_first_row(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        first = await enqueue(session, KEY, CHANNEL, message("first"), at=AT)
        again = await enqueue(session, KEY, "C0OTHER", message("second"), at=AT + timedelta(1))
    assert again.id == first.id
    assert (again.channel, again.payload["text"], again.status) == (CHANNEL, "first", "pending")
    assert await rows(engine) == 1


async def test_enqueue_joins_the_callers_transaction(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        await enqueue(session, KEY, CHANNEL, message("x"), at=AT)
        assert await rows(engine) == 0  # not committed yet: another connection cannot see it
        await session.rollback()  # the caller's state change failed
    assert await rows(engine) == 0


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"blocks": []}, "a message needs a text fallback"),
        ({"text": "x", "chanel": "C1"}, "unknown message fields chanel"),
        ({"text": "x", "metadata": "key"}, "metadata is {event_type, event_payload"),
    ],
)
async def test_a_malformed_message_is_refused_by_name(
    engine: AsyncEngine, payload: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        async with session_scope(engine) as session:
            await enqueue(session, KEY, CHANNEL, payload, at=AT)
    assert await rows(engine) == 0


async def test_deliver_posts_once_with_the_key_in_metadata_and_keeps_the_ts(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY, metadata={"event_type": "slabot_breach", "event_payload": {"l": 1}})
    client = slack_client(fake_slack)
    report = await deliver(engine, client, at=AT)
    assert report.sent == [KEY]
    again = await deliver(engine, client, at=AT + timedelta(minutes=1))
    assert (again.sent, again.waiting) == ([], [])

    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.args["channel"] == CHANNEL
    assert call.args["metadata"] == {
        "event_type": "slabot_breach",
        "event_payload": {"l": 1, "key": KEY},
    }
    [posted] = fake_slack.messages[CHANNEL]
    entry = await find(engine, KEY)
    assert entry is not None
    assert (entry.status, entry.ts, entry.sent_at, entry.attempts) == ("sent", posted.ts, AT, 1)
    assert entry.conversation == CHANNEL
    assert entry.last_error is None


async def test_messages_go_out_oldest_first_and_threads_are_kept(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, "digest:weekly:2027-W02", "Week 2")
    await record(engine, "win:deal:D-7", "A win", thread_ts="1799999999.000001")
    await deliver(engine, slack_client(fake_slack), at=AT)
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["Week 2", "A win"]
    assert calls[1].args["thread_ts"] == "1799999999.000001"
    assert calls[0].args["metadata"]["event_type"] == "slabot_outbox"


async def test_a_message_to_a_user_goes_to_their_dm(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, "remind:U0ANA:L-1", channel="U0ANA")
    await record(engine, "remind:U0ANA:L-2", channel="U0ANA")
    await deliver(engine, slack_client(fake_slack), at=AT)
    assert len(fake_slack.calls_to("conversations.open")) == 1  # once per delivery and user
    assert len(fake_slack.messages[dm_channel("U0ANA")]) == 2
    entry = await find(engine, "remind:U0ANA:L-1")
    assert entry is not None
    assert (entry.channel, entry.conversation) == ("U0ANA", dm_channel("U0ANA"))


async def test_edit_updates_the_posted_message_in_place(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY, "Lead L-1001 breached")
    client = slack_client(fake_slack)
    await deliver(engine, client, at=AT)
    entry = await edit(engine, client, KEY, message("Lead L-1001 acknowledged"), at=AT)

    (update,) = fake_slack.calls_to("chat.update")
    [posted] = fake_slack.messages[CHANNEL]
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, posted.ts)
    assert update.args["metadata"]["event_payload"] == {"key": KEY}
    assert (posted.text, posted.edits[0]["text"]) == (
        "Lead L-1001 acknowledged",
        "Lead L-1001 breached",
    )
    assert (entry.status, entry.ts, entry.message["text"]) == ("sent", posted.ts, posted.text)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_an_edit_before_posting_changes_what_will_be_posted(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY, "Lead L-1001 breached")
    client = slack_client(fake_slack)
    entry = await edit(engine, client, KEY, message("Lead L-1001 escalated"), at=AT)
    assert (entry.status, entry.message["text"]) == ("pending", "Lead L-1001 escalated")
    assert fake_slack.calls == []
    await deliver(engine, client, at=AT)
    assert [m.text for m in fake_slack.messages[CHANNEL]] == ["Lead L-1001 escalated"]
    assert fake_slack.calls_to("chat.update") == []


async def test_a_failed_edit_is_retried_by_the_next_delivery(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await record(engine, KEY, "breached")
    client = slack_client(fake_slack)
    await deliver(engine, client, at=AT)
    fake_slack.inject("server_error", times=3, method="chat.update", status=500)
    entry = await edit(engine, client, KEY, message("acknowledged"), at=AT)
    assert (entry.status, entry.last_error) == ("edit", "Slack refused chat.update: internal_error")
    assert fake_slack.messages[CHANNEL][0].text == "breached"

    report = await deliver(engine, client, at=AT + timedelta(minutes=1))
    assert report.edited == [KEY]
    assert fake_slack.messages[CHANNEL][0].text == "acknowledged"
    entry = await find(engine, KEY)
    assert entry is not None
    assert (entry.status, entry.last_error) == ("sent", None)


async def test_editing_an_unknown_key_says_so(engine: AsyncEngine, fake_slack: FakeSlack) -> None:
    with pytest.raises(LookupError, match="no outbox message with key 'nope'"):
        await edit(engine, slack_client(fake_slack), "nope", message("x"), at=AT)
