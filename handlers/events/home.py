"""`app_home_opened`: publish the viewer's dashboard (once per event, redeliveries included)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import deps_of
from bot.blocks.home import home_view, no_agreement_home
from bot.home import home_of
from handlers.common import agreement_at
from models.db import session_scope


async def home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab opens too; it has nothing to publish
    deps = deps_of(context)
    viewer, at = str(event["user"]), deps.now()
    async with session_scope(deps.engine) as session:
        agreement = await agreement_at(session, at)
        if agreement is None:
            view = no_agreement_home()
        else:
            view = home_view(await home_of(session, agreement, viewer=viewer, at=at))
    await client.views_publish(user_id=viewer, view=view)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
