"""Slack listeners, grouped by kind; each group has `register(app)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import actions, commands, events, middleware, views


def register_listeners(app: AsyncApp) -> None:
    """Every middleware and listener of the bot, in one place."""
    middleware.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)


__all__ = ["register_listeners"]
