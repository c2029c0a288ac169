"""The bot's listeners: `/slack/events` (HTTP mode), `/healthz` and `/metrics`, or Socket Mode.

In HTTP mode Slack posts every request to `/slack/events`, where Bolt checks its signature and
timestamp (401 otherwise). With `SLACK_APP_TOKEN`, requests come over Socket Mode instead and
the HTTP listener keeps only `/healthz` and `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import datetime

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import Deps
from bot.metrics import CONTENT_TYPE
from bot.request_kind import request_kind
from models.tables import SourceState

log = logging.getLogger("slabot.server")

EVENTS_PATH = "/slack/events"


async def dispatch(app: AsyncApp, deps: Deps, request: AsyncBoltRequest) -> BoltResponse:
    """Hand a request to Bolt; count it and time its acknowledgement."""
    started = time.perf_counter()
    response = await app.async_dispatch(request)
    elapsed = time.perf_counter() - started
    body = request.body if isinstance(request.body, dict) else {}
    kind = request_kind(body) if response.status != 401 else "unsigned"
    outcome = "ok" if response.status < 400 else str(response.status)
    deps.metrics.requests.labels(kind, outcome).inc()
    if response.status < 400:
        deps.metrics.ack_seconds.labels(kind).observe(elapsed)
    return response


def web_app(app: AsyncApp | None, deps: Deps) -> web.Application:
    """The HTTP side: `/slack/events` when `app` is given, and always `/healthz` and `/metrics`."""

    async def events(request: web.Request) -> web.Response:
        assert app is not None
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await dispatch(app, deps, bolt_request))

    async def healthz(_: web.Request) -> web.Response:
        try:
            async with deps.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            log.warning("health check: the store is unreachable: %s", type(exc).__name__)
            return web.json_response({"ok": False, "store": "unreachable"}, status=503)
        return web.json_response({"ok": True, "store": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        await _update_source_ages(deps, deps.now())
        return web.Response(body=deps.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    server = web.Application()
    if app is not None:
        server.router.add_post(EVENTS_PATH, events)
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", metrics)
    return server


async def _update_source_ages(deps: Deps, at: datetime) -> None:
    try:
        async with AsyncSession(deps.engine) as session:
            rows = (await session.exec(select(SourceState))).all()
    except (OSError, SQLAlchemyError):
        deps.metrics.errors.labels("metrics").inc()
        return
    for row in rows:
        if row.last_success_at is not None:
            age = (at - row.last_success_at).total_seconds()
            deps.metrics.source_age.labels(row.name).set(max(age, 0.0))


class TimedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode, counting and timing each request as the HTTP route does."""

    def __init__(self, app: AsyncApp, app_token: str, deps: Deps) -> None:
        super().__init__(app, app_token)
        self.deps = deps

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        await super().handle(client, req)
        kind = request_kind(req.payload if isinstance(req.payload, dict) else {})
        self.deps.metrics.requests.labels(kind, "ok").inc()
        self.deps.metrics.ack_seconds.labels(kind).observe(time.perf_counter() - started)


async def serve(app: AsyncApp, deps: Deps, *, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or `stop` is set), then close cleanly."""
    settings = deps.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    socket_mode = settings.slack_app_token is not None
    runner = web.AppRunner(web_app(None if socket_mode else app, deps), access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, host="0.0.0.0", port=settings.port
    )  # every interface: a container's listener
    await site.start()
    handler = None
    try:
        if settings.slack_app_token is not None:
            handler = TimedSocketModeHandler(app, settings.slack_app_token.get_secret_value(), deps)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info(
                "connected to Slack in Socket Mode; /healthz and /metrics on port %s", settings.port
            )
        else:
            log.info(
                "listening for Slack on port %s (%s, /healthz, /metrics)",
                settings.port,
                EVENTS_PATH,
            )
        await stop.wait()
    finally:
        log.info("stopping")
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
