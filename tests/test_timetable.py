"""Slots of the scheduled jobs: due in the agreement's time zone, named by what they report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.agreement import Agreement
from scheduler.timetable import interval, interval_slot, monthly_slot, weekly_slot
from tests.utils.store import example, local


def _with(**schedule: str) -> Agreement:
    agreement = example()
    return agreement.model_copy(update={"schedule": agreement.schedule.model_copy(update=schedule)})


@pytest.mark.parametrize(
    ("at", "name", "due"),
    [
        ("2027-03-08 09:00", "2027-W09", "2027-03-08 09:00"),  # exactly due
        ("2027-03-08 08:59", "2027-W08", "2027-03-01 09:00"),  # a minute before: last week's
        ("2027-03-10 12:00", "2027-W09", "2027-03-08 09:00"),
        ("2027-03-14 23:00", "2027-W09", "2027-03-08 09:00"),  # DST Sunday
        ("2027-03-15 09:00", "2027-W10", "2027-03-15 09:00"),  # first Monday on CDT
        ("2027-11-08 09:00", "2027-W44", "2027-11-08 09:00"),  # first Monday back on CST
        ("2027-01-04 09:00", "2026-W53", "2027-01-04 09:00"),  # 2026 has 53 ISO weeks
    ],
)
def test_the_weekly_digest_slot(at: str, name: str, due: str) -> None:
    slot = weekly_slot(example(), local(at))
    assert (slot.name, slot.due_at) == (name, local(due))


def test_weekly_due_times_keep_wall_clock_across_dst() -> None:
    before = weekly_slot(example(), local("2027-03-09 12:00")).due_at
    after = weekly_slot(example(), local("2027-03-16 12:00")).due_at
    assert before.astimezone(UTC).hour == 15 and after.astimezone(UTC).hour == 14
    assert after - before == timedelta(days=7, hours=-1)


def test_a_digest_time_inside_the_spring_gap_moves_after_it() -> None:
    agreement = _with(weekly_digest="sun 02:30")
    slot = weekly_slot(agreement, local("2027-03-14 12:00"))
    assert slot.due_at == datetime(2027, 3, 14, 8, 30, tzinfo=UTC)  # 03:30 CDT


@pytest.mark.parametrize(
    ("schedule", "at", "name", "due"),
    [
        ("1 09:00", "2027-04-01 09:00", "2027-03", "2027-04-01 09:00"),
        ("1 09:00", "2027-04-01 08:00", "2027-02", "2027-03-01 09:00"),
        ("1 09:00", "2027-01-15 12:00", "2026-12", "2027-01-01 09:00"),
        ("28 17:00", "2027-02-28 17:00", "2027-01", "2027-02-28 17:00"),
        ("last 17:00", "2027-02-28 17:00", "2027-01", "2027-02-28 17:00"),
        ("last 17:00", "2028-02-28 17:00", "2027-12", "2028-01-31 17:00"),  # leap year
        ("last 17:00", "2028-02-29 17:30", "2028-01", "2028-02-29 17:00"),
    ],
)
def test_the_monthly_report_slot(schedule: str, at: str, name: str, due: str) -> None:
    slot = monthly_slot(_with(monthly_report=schedule), local(at))
    assert (slot.name, slot.due_at) == (name, local(due))


def test_interval_slots_are_aligned_and_named_in_utc() -> None:
    every = interval("5m")
    at = datetime(2027, 3, 3, 15, 7, 31, tzinfo=UTC)
    slot = interval_slot(every, at)
    assert (slot.name, slot.due_at) == ("2027-03-03T15:05:00Z", at.replace(minute=5, second=0))
    assert interval_slot(every, slot.due_at) == slot
    assert interval_slot(every, slot.due_at - timedelta(microseconds=1)).name == (
        "2027-03-03T15:00:00Z"
    )
    assert interval("1d") == timedelta(days=1) and interval("1h30m") == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("schedule", "at"),
    [
        ({"monthly_report": "1 09:00"}, "2027-04-01 09:00"),
        ({"monthly_report": "last 17:00"}, "2027-02-28 17:00"),
        ({"monthly_report": "15 08:00"}, "2027-11-15 08:00"),
        ({"weekly_digest": "mon 09:00"}, "2027-03-15 09:00"),
        ({"weekly_digest": "fri 16:00"}, "2027-03-12 16:00"),
        ({"weekly_digest": "sun 23:00"}, "2027-11-07 23:00"),
    ],
)
def test_a_slot_is_named_by_the_window_its_digest_reports(
    schedule: dict[str, str], at: str
) -> None:
    from bot.report_window import reported_window

    agreement = _with(**schedule)
    kind = "monthly" if "monthly_report" in schedule else "weekly"
    slot = (monthly_slot if kind == "monthly" else weekly_slot)(agreement, local(at))
    assert slot.due_at == local(at)
    assert reported_window(kind, agreement.zone, slot.due_at).label == slot.name
