"""Where an agreement's period stands on a day: not started, in force with N days left, ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

State = Literal["not_started", "in_force", "ended"]


@dataclass(frozen=True)
class PeriodProgress:
    state: State
    days_left: int  # days of the period from `today` on, today included
    days_total: int
    today: date


def period_progress(start: date, end: date, today: date) -> PeriodProgress:
    """The period [start, end] (inclusive local dates) seen on local date `today`."""
    total = (end - start).days + 1
    if today < start:
        return PeriodProgress("not_started", total, total, today)
    if today > end:
        return PeriodProgress("ended", 0, total, today)
    return PeriodProgress("in_force", (end - today).days + 1, total, today)
