"""Durations (`30m`, `4h`, `2d`, `1d4h`) and wall-clock times (`09:00`) as written in agreements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
_CLOCK = re.compile(r"^(?P<h>[01]\d|2[0-3]):(?P<m>[0-5]\d)$")


@dataclass(frozen=True, order=True)
class Duration:
    """A span of `days` (business days where business time is meant) plus `minutes`."""

    days: int
    minutes: int

    def total_minutes(self, day_minutes: int) -> int:
        """Minutes in all, counting a day as `day_minutes` (a business day's length)."""
        return self.days * day_minutes + self.minutes

    def __str__(self) -> str:
        parts = []
        if self.days:
            parts.append(f"{self.days}d")
        hours, minutes = divmod(self.minutes, 60)
        if hours:
            parts.append(f"{hours}h")
        if minutes or not parts:
            parts.append(f"{minutes}m")
        return "".join(parts)


def parse_duration(text: str) -> Duration:
    """Parse `30m`, `4h`, `2d` or a combination such as `1d4h30m`; raise ValueError otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not text.strip():
        raise ValueError(
            f"{text!r} is not a duration; write a number with m, h or d, e.g. 30m, 4h, 2d or 1h30m"
        )
    days = int(match["d"] or 0)
    minutes = int(match["h"] or 0) * 60 + int(match["m"] or 0)
    if days == 0 and minutes == 0:
        raise ValueError(f"{text!r} is zero; a duration must be longer than that")
    return Duration(days=days, minutes=minutes)


def parse_clock(text: str) -> time:
    """Parse a 24-hour wall-clock time `HH:MM`; raise ValueError otherwise."""
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"{text!r} is not a time of day; write HH:MM on a 24-hour clock, e.g. 08:00"
        )
    return time(int(match["h"]), int(match["m"]))
