"""Which week or month a digest reports, and the agreement version that governed it.

The weekly digest covers the last ISO week (Monday to Sunday, local dates in the agreement's
time zone) that ended at or before `at`; the monthly report the last calendar month that ended
at or before `at`. Instants come from local midnights through zoneinfo, so a week holding a DST
change is 167 or 169 hours long. The version in force at the window's last instant governs it:
an agreement applied later, or one whose period starts after the window, leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.kpis import Window
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force

Kind = Literal["weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("weekly", "monthly")
_LAST = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReportWindow:
    """A reported calendar week or month: its label (`2027-W10`, `2027-02`) and local dates."""

    kind: Kind
    label: str
    first: date
    last: date

    @property
    def calendar(self) -> Window:
        return Window(self.first, self.last)

    def before(self) -> ReportWindow:
        """The week or month before this one (for week-over-week change)."""
        return window_ending(self.kind, self.first - timedelta(days=1))


def opening(zone: ZoneInfo, day: date) -> datetime:
    """The first instant of a local day."""
    return datetime.combine(day, time(), zone)


def closing(zone: ZoneInfo, day: date) -> datetime:
    """The last instant of a local day (a microsecond before the next local midnight)."""
    # In UTC: arithmetic on aware datetimes of one zone is wall-clock arithmetic.
    return (opening(zone, day + timedelta(days=1)).astimezone(UTC) - _LAST).astimezone(zone)


def window_ending(kind: Kind, day: date) -> ReportWindow:
    """The ISO week or calendar month that holds local date `day`."""
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        year, week, _ = monday.isocalendar()
        return ReportWindow(kind, f"{year}-W{week:02d}", monday, monday + timedelta(days=6))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return ReportWindow(kind, f"{first:%Y-%m}", first, following - timedelta(days=1))


def reported_window(kind: Kind, zone: ZoneInfo, at: datetime) -> ReportWindow:
    """The last week or month that ended at or before `at` (local dates in `zone`)."""
    today = at.astimezone(zone).date()
    current = window_ending(kind, today)
    return current.before()


def inside_period(agreement: Agreement, window: ReportWindow) -> Window | None:
    """The part of the window inside the agreement's period; None when they do not meet.

    The agreement's KPIs count only its own days: the first week of a period that starts on a
    Friday is three days long, measured against three days of targets.
    """
    first = max(window.first, agreement.period.start)
    last = min(window.last, agreement.period.end)
    return Window(first, last) if first <= last else None


async def governing_agreement(
    session: AsyncSession, kind: Kind, at: datetime
) -> tuple[Agreement, ReportWindow] | None:
    """The version in force at the end of the window reported at `at`, and that window.

    The window is found in the zone of the version in force at `at`; if the governing version
    has another zone, the window is found again in its zone.
    """
    current = await version_in_force(session, at)
    if current is None:
        return None
    agreement = agreement_of(current)
    window = reported_window(kind, agreement.zone, at)
    version = await version_in_force(session, closing(agreement.zone, window.last))
    assert version is not None  # there is at least one version
    governing = agreement_of(version)
    if governing.timezone != agreement.timezone:
        window = reported_window(kind, governing.zone, at)
    return governing, window
