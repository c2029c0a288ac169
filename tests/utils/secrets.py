"""Catching a leaked secret: the secret values the tests put in play, a detector for them and
for anything shaped like a token or a URL password, and everything a person or a log collector
could read (every log record, what Slack and HubSpot received, every row of the store)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.hubspot import TOKEN as PORTAL_TOKEN
from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.slack import APP_TOKEN, TOKEN, FakeSlack
from tests.utils.slack_bot import SIGNING_SECRET
from tests.utils.store import snapshot

REVOKED = "xoxb-2468013579-1357924680-revokedbottokenvalue"  # a bot token the fake refuses
WRONG_HUBSPOT = "pat-na1-0badc0de-1234-4321-abcd-00000000feed"
PASSWORD = "S3cretPassw0rd"
UNREACHABLE_DB = f"postgresql://slabot:{PASSWORD}@127.0.0.1:1/x"
SECRETS = (TOKEN, APP_TOKEN, REVOKED, SIGNING_SECRET, PORTAL_TOKEN, WRONG_HUBSPOT, PASSWORD)
SHAPES = (
    re.compile(r"xox[abprs]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"pat-[a-z0-9]+-[0-9a-f-]+"),
    # A URL with a password; `user:***@` is how a masked one is written, and is fine.
    re.compile(r"://[^:/\s'\"]+:(?!\*\*\*@)[^@/\s'\"]+@"),
)


def leaks(text: str) -> list[str]:
    """Each secret value, and each token- or password-shaped string, found in `text`."""
    found = [secret for secret in SECRETS if secret in text]
    return found + [match.group(0) for shape in SHAPES for match in shape.finditer(text)]


def assert_no_secret(**seen: str | Iterable[str]) -> None:
    """Fail naming where a secret showed (`seen` maps a place to what was read there)."""
    for place, texts in seen.items():
        text = texts if isinstance(texts, str) else "\n".join(texts)
        assert not leaks(text), f"{place} shows {leaks(text)}"


def slack_heard(fake: FakeSlack) -> list[str]:
    """Everything the fake Slack received but the Authorization header (where a token belongs)."""
    return [json.dumps(call.args, default=str) for call in fake.calls] + [
        json.dumps(response, default=str) for response in fake.responses
    ]


def hubspot_heard(portal: FakeHubSpot) -> list[str]:
    return [f"{seen.path} {seen.query} {json.dumps(seen.body)}" for seen in portal.requests]


async def stored_text(engine: AsyncEngine, *, dispose: bool = False) -> str:
    """Every row of the store as text: error columns (`last_error`) included."""
    try:
        return repr(await snapshot(engine))
    finally:
        if dispose:
            await engine.dispose()
