"""Time for the HubSpot client (a clock tests can speed up) and the limiter that paces requests.

HubSpot limits search to 5 requests a second per account and every request to a rolling
ten-second budget that depends on the account's tier (100 on Free and Starter, 190 on
Professional and Enterprise, more with the API add-on). The limiter stays under both by design
(`RateLimiter`). The defaults (4 searches in any second, 90 requests in any ten seconds) leave
room for other apps of the same account; an account of a higher tier can pass its own budget.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and sleeping in them; "now" for the limiter and the back-off."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class SystemClock:
    """The wall clock, `speed` times faster (tests use 10 or 100 with a fake server that agrees)."""

    speed: float = 1.0

    def monotonic(self) -> float:
        return time.monotonic() * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


@dataclass(frozen=True)
class Limits:
    """The most requests the client lets leave: searches in any second, any in ten seconds."""

    search_per_second: int = 4
    per_ten_seconds: int = 90

    def __post_init__(self) -> None:
        if self.search_per_second < 1 or self.per_ten_seconds < 1:
            raise ValueError("HubSpot limits must be positive")


class RateLimiter:
    """Lets a request leave only while its rolling windows have room; `pause` holds them all.

    HubSpot counts a request when it arrives, which is some time after it was sent, so a request
    is counted here from when it is sent until a window's length after its answer came back.
    However late a request arrives, the ones that arrive within any window were then all
    counted at once, so no window at HubSpot holds more than the budget.
    """

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits, self.clock = limits, clock
        self._all = _Window(10.0, limits.per_ten_seconds)
        self._search = _Window(1.0, limits.search_per_second)
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()
        self._answered = asyncio.Event()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)

    @asynccontextmanager
    async def slot(self, *, search: bool) -> AsyncIterator[None]:
        """Hold a place for one request (a search one with `search`) while it is under way."""
        windows = [self._all, self._search] if search else [self._all]
        await self._acquire(windows)
        try:
            yield
        finally:
            now = self.clock.monotonic()
            for window in windows:
                window.under_way -= 1
                window.answered.append(now)
            self._answered.set()

    async def _acquire(self, windows: list[_Window]) -> None:
        async with self._lock:
            while True:
                now = self.clock.monotonic()
                ready, blocked = self._paused_until, False
                for window in windows:
                    free_at = window.free_at(now)
                    if free_at is None:
                        blocked = True
                    else:
                        ready = max(ready, free_at)
                if blocked:  # only answers to requests under way can make room
                    self._answered.clear()
                    await self._answered.wait()
                elif ready > now:
                    await self.clock.sleep(ready - now)
                else:
                    break
            for window in windows:
                window.under_way += 1


@dataclass
class _Window:
    seconds: float
    budget: int
    answered: deque[float] = field(default_factory=deque)
    under_way: int = 0

    def free_at(self, now: float) -> float | None:
        """When a request may leave (`now` or later), or None while the requests under way fill it."""
        while self.answered and self.answered[0] <= now - self.seconds:
            self.answered.popleft()
        if self.under_way + len(self.answered) < self.budget:
            return now
        if len(self.answered) == 0 or self.under_way >= self.budget:
            return None
        # the oldest answers leave the window one by one; enough of them must leave
        excess = self.under_way + len(self.answered) - self.budget
        return self.answered[excess] + self.seconds
