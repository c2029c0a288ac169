"""Slack views listeners: the modals' submissions."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.views import agreement, owners


def register(app: AsyncApp) -> None:
    agreement.register(app)
    owners.register(app)
