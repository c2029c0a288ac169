"""The fake Slack's reading methods: a channel's history, a thread's replies, opening a DM.

Each is a handler for `FakeSlack.handlers`. Messages come back as Slack gives them: newest first
(`conversations.history`) or oldest first (`conversations.replies`), between `oldest` and
`latest` (exclusive unless `inclusive`), `limit` at a time with a `next_cursor`, and with their
`metadata` when `include_all_metadata` is set. A reply in a thread is not in the channel's
history, as in Slack. Stricter than Slack: metadata is never given without the flag.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from bot.sandbox.slack_error import SlackError
from bot.sandbox.slack_messages import Message

if TYPE_CHECKING:
    from bot.sandbox.slack import FakeSlack

DEFAULT_LIMIT = 100
MAX_LIMIT = 999


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _ts(args: dict[str, Any], name: str) -> Decimal | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SlackError("invalid_ts_" + name) from None


def _limit(args: dict[str, Any]) -> int:
    try:
        limit = int(args.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise SlackError("invalid_limit") from None
    return max(1, min(limit, MAX_LIMIT))


def _cursor(args: dict[str, Any]) -> int:
    cursor = str(args.get("cursor") or "")
    if not cursor:
        return 0
    if not cursor.startswith("offset:") or not cursor[7:].isdigit():
        raise SlackError("invalid_cursor")
    return int(cursor[7:])


def _in_window(message: Message, args: dict[str, Any]) -> bool:
    ts, oldest, latest = Decimal(message.ts), _ts(args, "oldest"), _ts(args, "latest")
    inclusive = _flag(args.get("inclusive"))
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return latest is None or ts < latest or (ts == latest and inclusive)


def message_json(fake: FakeSlack, message: Message, *, metadata: bool) -> dict[str, Any]:
    """A stored message as Slack's reading methods return it."""
    from bot.sandbox.slack import BOT_USER_ID

    body: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": "B0FAKEBOT1",
        "text": message.text,
        "ts": message.ts,
        "blocks": message.blocks,
    }
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    if message.edits:
        body["edited"] = {"user": BOT_USER_ID, "ts": message.ts}
    if metadata and message.metadata is not None:
        body["metadata"] = message.metadata
    return body


def _page(fake: FakeSlack, args: dict[str, Any], messages: list[Message]) -> dict[str, Any]:
    start, limit = _cursor(args), _limit(args)
    chosen = [m for m in messages if _in_window(m, args)]
    page = chosen[start : start + limit]
    more = start + limit < len(chosen)
    metadata = _flag(args.get("include_all_metadata"))
    return {
        "messages": [message_json(fake, m, metadata=metadata) for m in page],
        "has_more": more,
        "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""},
    }


def _channel_messages(fake: FakeSlack, args: dict[str, Any]) -> list[Message]:
    channel = str(args.get("channel") or "")
    if not channel:
        raise SlackError("channel_not_found")
    if channel in fake.closed_channels:
        raise SlackError("not_in_channel")
    return list(fake.messages.get(channel, []))


def conversations_history(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    messages = _channel_messages(fake, args)
    top_level = [m for m in messages if m.thread_ts in (None, m.ts)]
    return _page(fake, args, sorted(top_level, key=lambda m: Decimal(m.ts), reverse=True))


def conversations_replies(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    messages = _channel_messages(fake, args)
    thread = str(args.get("ts") or "")
    if not any(m.ts == thread for m in messages):
        raise SlackError("thread_not_found")
    in_thread = [m for m in messages if m.ts == thread or m.thread_ts == thread]
    return _page(fake, args, sorted(in_thread, key=lambda m: Decimal(m.ts)))


def dm_channel(user: str) -> str:
    """The DM channel id the fake gives the conversation with `user`."""
    return "D" + user.lstrip("UW")


def conversations_open(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1:
        raise SlackError("invalid_arguments", detail="the fake opens one-to-one DMs only")
    if not users[0].startswith(("U", "W")):
        raise SlackError("user_not_found")
    channel = dm_channel(users[0])
    return {"channel": {"id": channel, "is_im": True, "user": users[0]}}


METHODS = {
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.open": conversations_open,
}
