"""The composition root of the Slack side: the Bolt app, its dependencies and its listeners.

Handlers never import this module; they receive what they need through `context["deps"]`,
filled by a middleware here, so each handler can be driven by the real Bolt dispatch in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.logger.messages import warning_token_skipped
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack import slack_client
from bot.slack_identity import BotIdentity
from bot.status_cache import StatusCache

log = logging.getLogger("slabot.app")
NO_IDENTITY = (
    ":warning: I could not ask Slack who I am just now, so I did nothing. Try again in a minute; "
    "if it keeps happening, the bot's log says why (often SLACK_BOT_TOKEN or Slack itself)."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """What every listener may use: the store, the clock, the settings and the metrics."""

    engine: AsyncEngine
    settings: Settings
    now: Callable[[], datetime] = utc_now  # the only clock the handlers read; tests fix it
    metrics: Metrics = field(default_factory=Metrics)
    status: StatusCache = field(default_factory=StatusCache)  # kept fresh by `run_bot`
    identity: BotIdentity | None = None  # the bot's auth.test, set by `build_app`


def _not_token_skipped(record: logging.LogRecord) -> bool:
    """Bolt warns that the client's token is "ignored" when `authorize` is given; it is not (the
    authorize result carries it), and the warning would send operators looking for a problem."""
    return record.getMessage() != warning_token_skipped()


def deps_of(context: AsyncBoltContext) -> Deps:
    """The dependencies the middleware put in a listener's context."""
    deps = context.get("deps")
    assert isinstance(deps, Deps), "build the app with build_app(deps)"
    return deps


def build_app(deps: Deps, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """The Bolt app with every listener; HTTP and Socket Mode serve the same app."""
    settings = deps.settings
    secret = settings.slack_signing_secret
    client = client or slack_client(settings)
    deps.identity = BotIdentity(client)
    bolt_log = logging.getLogger("slabot.bolt")
    bolt_log.addFilter(_not_token_skipped)
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode payloads are not signed; HTTP requests always are and are checked.
        request_verification_enabled=secret is not None,
        # One auth.test per process, not one per request until the first answer.
        authorize=deps.identity.authorize,
        user_facing_authorize_error_message=NO_IDENTITY,
        logger=bolt_log,
        name="slabot",
    )

    async def inject(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["deps"] = deps
        return await next()

    app.middleware(inject)

    from handlers import register_listeners  # the listeners need the app only to register

    register_listeners(app)
    return app
