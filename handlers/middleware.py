"""Global listener middleware: a request Slack delivers again is applied once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.app import deps_of
from bot.request_kind import request_kind
from models.slack_requests import claim_request

log = logging.getLogger("slabot.requests")

# Command words that change something; the others only read and may safely run twice.
CHANGING_WORDS = frozenset({"kudos", "log", "ack", "snooze", "away"})


def request_key(body: dict[str, Any]) -> str | None:
    """The identity of a changing request, the same on every delivery of it; None if it reads."""
    if "command" in body:
        # `public` may come first (`/sla public kudos …`); the word after it is the command.
        words = [w for w in str(body.get("text") or "").split() if w.lower() != "public"]
        if not words or words[0].lower() not in CHANGING_WORDS:
            return None
        return f"command:{body.get('trigger_id')}" if body.get("trigger_id") else None
    kind = body.get("type")
    if kind == "event_callback":
        return f"event:{body['event_id']}" if body.get("event_id") else None
    if kind in ("block_actions", "view_submission"):
        actions = body.get("actions") or [{}]
        identity = body.get("trigger_id") or actions[0].get("action_ts")
        return f"{kind}:{identity}" if identity else None
    return None


async def once(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> Any:
    """Claim a changing request before its listener runs; a second delivery is only acked."""
    key = request_key(body)
    if key is not None:
        deps = deps_of(context)
        fresh = await claim_request(deps.engine, key=key, kind=request_kind(body), at=deps.now())
        if not fresh:
            log.info("ignored a repeated Slack request %s", key)
            deps.metrics.requests.labels(request_kind(body), "duplicate").inc()
            return BoltResponse(status=200, body="")
    return await next()


def register(app: AsyncApp) -> None:
    app.middleware(once)
