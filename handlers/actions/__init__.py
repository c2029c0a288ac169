"""Slack actions listeners: an alert's lead buttons and the buttons that open modals."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.actions import leads, modals


def register(app: AsyncApp) -> None:
    leads.register(app)
    modals.register(app)
