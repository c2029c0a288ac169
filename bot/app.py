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
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack import slack_client
from bot.status_cache import StatusCache

log = logging.getLogger("slabot.app")


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


def deps_of(context: AsyncBoltContext) -> Deps:
    """The dependencies the middleware put in a listener's context."""
    deps = context.get("deps")
    assert isinstance(deps, Deps), "build the app with build_app(deps)"
    return deps


def build_app(deps: Deps, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """The Bolt app with every listener; HTTP and Socket Mode serve the same app."""
    settings = deps.settings
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client or slack_client(settings),
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode payloads are not signed; HTTP requests always are and are checked.
        request_verification_enabled=secret is not None,
        logger=logging.getLogger("slabot.bolt"),
        name="slabot",
    )

    async def inject(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["deps"] = deps
        return await next()

    app.middleware(inject)

    from handlers import register_listeners  # the listeners need the app only to register

    register_listeners(app)
    return app
