"""The running bot: the Slack listener, and the scheduler while this replica is the leader.

`run_bot` serves Slack (`bot.server.serve`), keeps the status ready (`bot.status_cache`) and,
beside them in the same process, tries for leadership (`scheduler.leader.Leader`); the leader's `Runner` starts when leadership is gained
and stops at once when it is lost. SIGTERM (or `stop`) ends the listener, then leadership is
given up and the scheduler stopped, so another replica takes over within a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from slack_bolt.async_app import AsyncApp

from bot.app import Deps
from bot.server import serve
from bot.status_cache import keep_fresh
from scheduler.jobs import Jobs
from scheduler.leader import Leader, holder_id
from scheduler.runner import Runner
from scheduler.sources.hubspot_client import HubSpotConfig

log = logging.getLogger("slabot.service")


def jobs_for(app: AsyncApp, deps: Deps, holder: str) -> Jobs:
    """The scheduled jobs of this replica, on the app's Slack client and the store."""
    settings = deps.settings
    hubspot = None
    if settings.hubspot_token is not None:
        token = settings.hubspot_token.get_secret_value()
        hubspot = HubSpotConfig(token=token, base_url=settings.hubspot_api_url)
    return Jobs(
        engine=deps.engine,
        client=app.client,
        holder=holder,
        hubspot=hubspot,
        metrics=deps.metrics,
    )


async def _warm(deps: Deps) -> None:
    if deps.identity is not None:
        await deps.identity.warm()


async def run_bot(
    app: AsyncApp, deps: Deps, *, stop: asyncio.Event | None = None, holder: str | None = None
) -> None:
    """Serve Slack and run the scheduler while leader, until SIGTERM/SIGINT or `stop`."""
    holder = holder or holder_id()
    runner = Runner(jobs_for(app, deps, holder), clock=deps.now)
    leader = Leader(deps.engine, holder)

    async def gained() -> None:
        log.info("leader: %s leads; starting the scheduler", holder)
        try:
            await runner.start()
        except Exception as exc:  # keep serving; the next check retries as a follower would
            log.warning("scheduler did not start: %s: %s", type(exc).__name__, exc)
            await leader.release()

    def lost() -> None:
        log.info("leader: %s no longer leads; scheduler stopped", holder)
        runner.stop()

    # Ask auth.test beside the listener's start: the first requests wait for that one answer.
    warming = asyncio.create_task(_warm(deps), name="slabot-identity")
    leading = asyncio.create_task(leader.run(gained, lost), name="slabot-leader")
    fresh = asyncio.Event()
    keeping = asyncio.create_task(
        keep_fresh(deps.status, deps.engine, deps.now, fresh), name="slabot-status"
    )
    try:
        await serve(app, deps, stop=stop)
    finally:
        warming.cancel()
        with suppress(asyncio.CancelledError):
            await warming
        fresh.set()
        with suppress(asyncio.CancelledError):
            await keeping
        leader.stop()
        with suppress(asyncio.CancelledError):
            await leading
        runner.stop()
