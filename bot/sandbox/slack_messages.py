"""The fake Slack's messaging and views methods: what the bot posts, edits and publishes.

Each is a handler for `FakeSlack.handlers`; they keep what was sent in `FakeSlack.messages` (by
channel), `FakeSlack.home` and `FakeSlack.modals`, tell `FakeSlack.watch` callbacks what became
visible, and refuse what Slack refuses (Block Kit limits, a missing `text` fallback, an unknown
message to update).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox.block_kit import BlockKitError, check_message, check_view
from bot.sandbox.shown import Kind, Shown
from bot.sandbox.slack_error import SlackError

if TYPE_CHECKING:
    from bot.sandbox.slack import FakeSlack


@dataclass
class Message:
    """A message as the fake channel holds it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str | None = None  # an ephemeral message's viewer
    metadata: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first
    thread_ts: str | None = None  # the thread's first message, for a reply


def _blocks(fake: FakeSlack, args: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return check_message(args)
    except BlockKitError as exc:
        code, _, detail = str(exc).partition(": ")
        raise SlackError(code, detail=detail) from None


def _channel(args: dict[str, Any]) -> str:
    channel = str(args.get("channel") or "")
    if not channel:
        raise SlackError("channel_not_found")
    return channel


def _metadata(args: dict[str, Any]) -> dict[str, Any] | None:
    value = args.get("metadata")
    if isinstance(value, str) and value:
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def post_message(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("chat:write")
    channel = _channel(args)
    if channel in fake.closed_channels:
        raise SlackError("not_in_channel")
    blocks = _blocks(fake, args)
    message = Message(channel, fake.next_ts(), str(args["text"]), blocks, None, _metadata(args))
    message.thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
    fake.messages.setdefault(channel, []).append(message)
    kind: Kind = "reply" if message.thread_ts else "message"
    fake.show(Shown(kind, channel, message.text, blocks, message.thread_ts, ts=message.ts))
    return {
        "channel": channel,
        "ts": message.ts,
        "message": {"text": message.text, "ts": message.ts},
    }


def post_ephemeral(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("chat:write")
    channel = _channel(args)
    user = str(args.get("user") or "")
    if not user:
        raise SlackError("user_not_in_channel")
    blocks = _blocks(fake, args)
    message = Message(channel, fake.next_ts(), str(args["text"]), blocks, user)
    fake.ephemeral.append(message)
    fake.show(Shown("ephemeral", channel, message.text, blocks, user=user, ts=message.ts))
    return {"message_ts": message.ts}


def update(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("chat:write")
    channel = _channel(args)
    ts = str(args.get("ts") or "")
    message = next((m for m in fake.messages.get(channel, []) if m.ts == ts), None)
    if message is None:
        raise SlackError("message_not_found")
    blocks = _blocks(fake, args)
    message.edits.append({"text": message.text, "blocks": message.blocks})
    message.text, message.blocks = str(args["text"]), blocks
    if _metadata(args) is not None:
        message.metadata = _metadata(args)
    fake.show(Shown("edit", channel, message.text, blocks, message.thread_ts, ts=ts))
    return {"channel": channel, "ts": ts, "text": message.text}


def _view(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    try:
        view = check_view(args.get("view"))
    except BlockKitError as exc:
        code, _, detail = str(exc).partition(": ")
        raise SlackError(code, detail=detail) from None
    return view


def _view_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return list(view.get("blocks") or [])


def _modal_shown(view: dict[str, Any], *, replaces: bool) -> Shown:
    title = str((view.get("title") or {}).get("text") or "")
    return Shown(
        "modal", None, blocks=_view_blocks(view), title=title, view=view, replaces=replaces
    )


def views_publish(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    user = str(args.get("user_id") or "")
    if not user:
        raise SlackError("invalid_arguments")
    view = _view(fake, args)
    if view["type"] != "home":
        raise SlackError("invalid_arguments", detail="views.publish takes a home view")
    fake.home[user] = view
    fake.show(Shown("home", user, blocks=_view_blocks(view), user=user, view=view))
    return {"view": {"id": f"V{user}", **view}}


def views_open(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("trigger_id"):
        raise SlackError("invalid_trigger_id")
    view = _view(fake, args)
    view_id = f"VMODAL{len(fake.modals) + 1:04d}"
    fake.modals[view_id] = view
    fake.show(_modal_shown(view, replaces=False))
    return {"view": {"id": view_id, **view}}


def views_update(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view_id = str(args.get("view_id") or "")
    if view_id not in fake.modals:
        raise SlackError("not_found")
    fake.modals[view_id] = _view(fake, args)
    fake.show(_modal_shown(fake.modals[view_id], replaces=True))
    return {"view": {"id": view_id, **fake.modals[view_id]}}


def users_info(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("users:read")
    wanted = str(args.get("user") or "")
    for user in fake.users.values():
        if user.id == wanted:
            return {"user": user.json()}
    raise SlackError("user_not_found")


METHODS = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "views.publish": views_publish,
    "views.open": views_open,
    "views.update": views_update,
    "users.info": users_info,
}
