"""Slack events listeners: the App Home."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.events import home


def register(app: AsyncApp) -> None:
    home.register(app)
