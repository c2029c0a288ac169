"""Numbers and spans written for people: `3h 20m`, `$1.2M`, `95%`."""

from __future__ import annotations

from datetime import timedelta


def span(value: timedelta, *, days: bool = False) -> str:
    """A span as hours and minutes (`27h 20m`, `45m`, `0m`), or with calendar days (`2d 3h`).

    Business time is shown in hours: a "day" of it would be ambiguous.
    """
    minutes = int(value.total_seconds() // 60)
    whole_days, minutes = divmod(minutes, 24 * 60) if days else (0, minutes)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{whole_days}d"] if whole_days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return " ".join(parts)


def percent(value: float | None, digits: int = 0) -> str:
    """`0.953` -> `95%` (`-` when there is no value)."""
    return "-" if value is None else f"{value:.{digits}%}"
