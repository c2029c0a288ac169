"""When each scheduled job is due, and the slot (its name for "this one time") at an instant.

Pure functions of the agreement and an instant. A slot names the work, not the moment it ran:
the weekly digest posted on Monday 2027-03-08 covers week `2027-W09`; the monthly report posted
on 2027-04-01 covers `2027-03`; an interval job's slot is the start of its interval in UTC. Two
replicas, a restart or a catch-up asking for the same slot get the same name, and the `job_run`
claim lets only one of them do the work.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.agreement import Agreement
from models.durations import parse_clock, parse_duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: interval slots are aligned to it


@dataclass(frozen=True)
class Slot:
    """One occurrence of a job: its name and the instant it became due."""

    name: str
    due_at: datetime


@dataclass(frozen=True)
class WeeklyTime:
    weekday: int  # 0 = Monday
    clock: time


@dataclass(frozen=True)
class MonthlyTime:
    day: int | None  # None: the last day of the month
    clock: time


def weekly_time(text: str) -> WeeklyTime:
    """`mon 09:00` as a weekday and a wall-clock time."""
    day, clock = text.split()
    return WeeklyTime(WEEKDAYS.index(day), parse_clock(clock))


def monthly_time(text: str) -> MonthlyTime:
    """`1 09:00` or `last 17:00` as a day of the month and a wall-clock time."""
    day, clock = text.split()
    return MonthlyTime(None if day == "last" else int(day), parse_clock(clock))


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day as an instant; a time skipped by DST moves forward with it."""
    # A wall time that does not exist (spring forward) is read with the offset before the
    # change (fold=0), which lands an hour later, after the gap; a repeated one takes the first.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_slot(agreement: Agreement, at: datetime) -> Slot:
    """The latest weekly digest due at or before `at`, named by the week it reports."""
    when = weekly_time(agreement.schedule.weekly_digest)
    zone = agreement.zone
    today = at.astimezone(zone).date()
    day = today - timedelta(days=(today.weekday() - when.weekday) % 7)
    due = _local(day, when.clock, zone)
    if due > at:
        day -= timedelta(days=7)
        due = _local(day, when.clock, zone)
    reported = day - timedelta(days=7)  # the full week before the digest's day
    return Slot(iso_week(reported - timedelta(days=reported.weekday())), due)


def _month_day(year: int, month: int, day: int | None) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day is None else min(day, last))


def monthly_slot(agreement: Agreement, at: datetime) -> Slot:
    """The latest monthly report due at or before `at`, named by the month it reports."""
    when = monthly_time(agreement.schedule.monthly_report)
    zone = agreement.zone
    local = at.astimezone(zone).date()
    year, month = local.year, local.month
    due = _local(_month_day(year, month, when.day), when.clock, zone)
    if due > at:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        due = _local(_month_day(year, month, when.day), when.clock, zone)
    # The report covers the last calendar month that ended by its due time (what the digest
    # builds): on the 1st, the month before; on the last day too, since that month has not ended.
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return Slot(f"{year}-{month:02d}", due)


def interval(text: str) -> timedelta:
    """`check_every` / `sync_every` as wall time (`d` is a calendar day here)."""
    span = parse_duration(text)
    return timedelta(days=span.days, minutes=span.minutes)


def interval_slot(every: timedelta, at: datetime) -> Slot:
    """The interval containing `at`, aligned to a fixed epoch, named by its start in UTC."""
    steps = (at - EPOCH) // every
    start = EPOCH + steps * every
    return Slot(start.strftime("%Y-%m-%dT%H:%M:%SZ"), start)
