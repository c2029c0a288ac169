"""Shared by the fuzz tests: their hypothesis settings, their text, and a live bot that a
(synchronous) hypothesis test can send one request after another."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.slack import FakeSlack
from models.db import create_engine
from tests.utils.alerts import store_with_leads
from tests.utils.commands import AT as BOT_AT
from tests.utils.slack_bot import SlackBot, settings_for

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T = TypeVar("T")
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=14)  # no lone surrogates


class LiveBot:
    """The real listener on a SQLite store, served by an event loop in a thread of its own, so
    a (synchronous) hypothesis test can send it one request after another."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeSlack().start()
        self.engine = self.run(self._engine(database_url))
        settings_ = settings_for(database_url, self.fake)
        self.bot = SlackBot(fake=self.fake, engine=self.engine, settings=settings_, at=BOT_AT)
        self.run(self.bot.start())
        self.run(store_with_leads(self.bot))

    @staticmethod
    async def _engine(url: str) -> AsyncEngine:
        return create_engine(url)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def say(self, text: str, user: str) -> tuple[int, dict[str, Any]]:
        """`/sla text` by `user`: the HTTP status and the reply (in the ack, or sent after it)."""
        return self.run(self._say(text, user))

    async def _say(self, text: str, user: str) -> tuple[int, dict[str, Any]]:
        sent = await self.bot.command(text, user=user)
        if sent.status != 200 or (sent.json() or {}).get("text"):
            return sent.status, sent.json() or {}
        [reply] = await self.bot.replies(sent)
        return sent.status, reply

    def close(self) -> None:
        self.run(self.bot.stop())
        self.run(self.engine.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.fake.stop()
