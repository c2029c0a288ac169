"""Waiting in a test for something another task, thread or process does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    condition: Callable[[], bool],
    seconds: float = 10.0,
    every: float = 0.02,
    *,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll `condition` until it holds; fail after `seconds` (with what `explain` says then,
    e.g. a process's log)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"waited {seconds} s in vain{detail}")
        await asyncio.sleep(every)
