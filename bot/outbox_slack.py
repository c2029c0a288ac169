"""What the outbox asks of Slack: where a message goes, whether it is already there, why a call
failed and whether retrying it could post twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import slack_error
from models.outbox import Entry

EVENT_TYPE = "slabot_outbox"  # the metadata that lets a posted message be found again
HISTORY_PAGE = 200
HISTORY_PAGES = 10  # bounded: at most 2,000 messages since the message was recorded
CLOCK_SKEW = timedelta(minutes=10)  # between our clock (created_at) and Slack's (ts)
UPDATE_FIELDS = ("text", "blocks", "attachments", "metadata")
# Answers with HTTP 200 that mean "try later", not "never"; the 5xx ones may come after Slack
# did the work.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@dataclass(frozen=True)
class Failure:
    """Why a call failed, for people (never a token), and what that means for the next try."""

    text: str
    permanent: bool  # retrying cannot help (a refusal: no such channel, bad blocks, …)
    maybe_done: bool  # Slack may have done it anyway (5xx, time-out, dropped connection)
    retry_after: float | None = None  # seconds Slack asked us to wait (429)


def posting_client(client: AsyncWebClient) -> AsyncWebClient:
    """`client` retrying only rate limits: a 5xx or a dropped connection may come after Slack
    stored the message, so those are left to the outbox, which looks before posting again."""
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        headers={k: v for k, v in client.headers.items() if k != "User-Agent"},
        logger=client.logger,
        team_id=client.default_params.get("team_id"),
        retry_handlers=[
            handler
            for handler in client.retry_handlers
            if isinstance(handler, AsyncRateLimitErrorRetryHandler)
        ],
    )


def metadata(entry: Entry) -> dict[str, Any]:
    """The message's metadata, carrying its outbox key (the caller's own fields are kept)."""
    given = entry.message.get("metadata") or {}
    return {
        "event_type": given.get("event_type") or EVENT_TYPE,
        "event_payload": {**(given.get("event_payload") or {}), "key": entry.key},
    }


def post_arguments(entry: Entry, conversation: str) -> dict[str, Any]:
    """`chat.postMessage`'s arguments for `entry`."""
    return {**entry.message, "channel": conversation, "metadata": metadata(entry)}


def update_arguments(entry: Entry) -> dict[str, Any]:
    """`chat.update`'s arguments: the message's content replaces the posted one, blocks too."""
    assert entry.conversation is not None and entry.ts is not None
    content = {name: entry.message[name] for name in UPDATE_FIELDS if name in entry.message}
    content["blocks"] = entry.message.get("blocks", [])
    return {**content, "channel": entry.conversation, "ts": entry.ts, "metadata": metadata(entry)}


async def conversation_for(client: AsyncWebClient, channel: str, opened: dict[str, str]) -> str:
    """The conversation id to post to: a user id (`U…`, `W…`) becomes the DM with that user."""
    if not channel.startswith(("U", "W")):
        return channel
    if channel not in opened:
        response = await client.conversations_open(users=channel)
        opened[channel] = str(response["channel"]["id"])
    return opened[channel]


async def find_posted(
    client: AsyncWebClient, entry: Entry, conversation: str
) -> dict[str, Any] | None:
    """The message of `entry` if it is already in `conversation` (its thread, for a reply),
    looking back to when it was recorded."""
    wanted = metadata(entry)
    thread = entry.message.get("thread_ts")
    arguments: dict[str, Any] = {
        "channel": conversation,
        "oldest": f"{(entry.created_at - CLOCK_SKEW).timestamp():.6f}",
        "include_all_metadata": True,
        "limit": HISTORY_PAGE,
    }
    for _ in range(HISTORY_PAGES):
        if thread:
            response = await client.conversations_replies(ts=str(thread), **arguments)
        else:
            response = await client.conversations_history(**arguments)
        for message in response.get("messages") or []:
            if _carries(message, wanted):
                return dict(message)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None
        arguments["cursor"] = cursor
    return None


def _carries(message: dict[str, Any], wanted: dict[str, Any]) -> bool:
    found = message.get("metadata") or {}
    payload = found.get("event_payload") or {}
    return bool(
        found.get("event_type") == wanted["event_type"]
        and payload.get("key") == wanted["event_payload"]["key"]
    )


def failure(exc: BaseException, method: str) -> Failure:
    """What a failed call of `method` means for the message (see `Failure`)."""
    text = slack_error(exc, method)
    if not isinstance(exc, SlackApiError):
        return Failure(text, permanent=False, maybe_done=True)  # unreachable, reset, time-out
    status, data = exc.response.status_code, exc.response.data
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    if status == 429 or code == "ratelimited":
        return Failure(text, permanent=False, maybe_done=False, retry_after=_retry_after(exc))
    if status >= 500 or code in TRANSIENT:
        return Failure(text, permanent=False, maybe_done=True)
    return Failure(text, permanent=True, maybe_done=False)


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(first))
            except ValueError:
                return None
    return None
