"""The business clock, exact to the minute across DST, weekends and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import BusinessClock

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def clock(
    zone: ZoneInfo = CHICAGO,
    days: tuple[int, ...] = (0, 1, 2, 3, 4),
    opening: time = time(8),
    closing: time = time(17),
    country: str | None = "US",
    subdivision: str | None = "WI",
    extra: tuple[date, ...] = (date(2027, 12, 24),),
) -> BusinessClock:
    return BusinessClock(
        zone=zone,
        weekdays=frozenset(days),
        opening=opening,
        closing=closing,
        country=country,
        subdivision=subdivision,
        extra_holidays=frozenset(extra),
    )


def local(text: str, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def wall(at: datetime, zone: ZoneInfo = CHICAGO) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("handoff", "span", "deadline"),
    [
        ("2027-03-08 08:00", 4 * H, "2027-03-08 12:00"),  # exactly at opening
        ("2027-03-08 07:59", 1 * H, "2027-03-08 09:00"),  # one minute before opening
        ("2027-03-08 16:00", 1 * H, "2027-03-08 17:00"),  # ends exactly at closing
        ("2027-03-08 17:00", 1 * H, "2027-03-09 09:00"),  # exactly at closing: starts tomorrow
        ("2027-03-08 16:59", 2 * M, "2027-03-09 08:01"),
        ("2027-03-13 10:00", 4 * H, "2027-03-15 12:00"),  # Saturday hand-off
        ("2027-03-14 23:30", 1 * H, "2027-03-15 09:00"),  # Sunday night
        # Chicago springs forward on Sunday 2027-03-14: Friday 16:00 + 4h is Monday 11:00 CDT.
        ("2027-03-12 16:00", 4 * H, "2027-03-15 11:00"),
        # ... and falls back on Sunday 2027-11-07.
        ("2027-11-05 16:00", 4 * H, "2027-11-08 11:00"),
        # Memorial Day, Monday 2027-05-31, is a holiday.
        ("2027-05-28 15:00", 4 * H, "2027-06-01 10:00"),
        # Wisconsin: Christmas Eve (Thursday) and Christmas Day (Friday 2026-12-25) are off.
        ("2026-12-23 16:30", 1 * H, "2026-12-28 08:30"),
        # A hand-off on a holiday starts at the next opening.
        ("2026-12-24 10:00", 1 * H, "2026-12-28 09:00"),
        # 2027: Christmas Eve observed on Thursday 12-23, Christmas observed on Friday 12-24.
        ("2027-12-22 16:00", 4 * H, "2027-12-27 11:00"),
        # Two business days (9h each) from Monday noon: Wednesday noon.
        ("2027-03-08 12:00", 18 * H, "2027-03-10 12:00"),
    ],
)
def test_deadlines_chicago(handoff: str, span: timedelta, deadline: str) -> None:
    c = clock()
    start = local(handoff)
    end = c.add(start, span)
    assert wall(end) == deadline
    assert c.between(start, end) == span


@pytest.mark.parametrize(
    ("handoff", "span", "deadline"),
    [
        # Berlin springs forward on Sunday 2026-03-29 and falls back on Sunday 2027-10-31.
        ("2026-03-27 16:00", 4 * H, "2026-03-30 11:00"),
        ("2027-10-29 16:00", 4 * H, "2027-11-01 11:00"),
        ("2026-03-28 09:00", 1 * H, "2026-03-30 09:00"),
        # 2027: Good Friday (03-26) and Easter Monday (03-29) around the spring-forward Sunday.
        ("2027-03-25 16:00", 4 * H, "2027-03-30 11:00"),
    ],
)
def test_deadlines_berlin(handoff: str, span: timedelta, deadline: str) -> None:
    c = clock(zone=BERLIN, country="DE", subdivision=None, extra=())
    end = c.add(local(handoff, BERLIN), span)
    assert wall(end, BERLIN) == deadline


def test_dst_inside_business_hours_keeps_wall_clock() -> None:
    # A Sunday shift from 01:00 to 04:00: on the spring-forward night it is 2 real hours long,
    # on the fall-back night 4; the wall clock still opens at 01:00 and closes at 04:00.
    c = clock(days=(6,), opening=time(1), closing=time(4), country=None, extra=())
    spring = local("2027-03-14 01:00")
    assert wall(c.add(spring, 2 * H)) == "2027-03-14 04:00"
    assert c.between(spring, local("2027-03-14 05:00")) == 2 * H
    fall = local("2027-11-07 01:00")
    assert c.between(fall, local("2027-11-07 05:00")) == 4 * H
    assert wall(c.add(fall, 3 * H)) == "2027-11-07 03:00"


def test_next_opening_and_is_open() -> None:
    c = clock()
    assert c.next_opening(local("2027-03-08 10:00")) == local("2027-03-08 10:00")
    assert wall(c.next_opening(local("2027-03-08 17:00"))) == "2027-03-09 08:00"
    assert wall(c.next_opening(local("2027-05-29 12:00"))) == "2027-06-01 08:00"  # Sat, holiday Mon
    assert c.is_open(local("2027-03-08 08:00"))
    assert not c.is_open(local("2027-03-08 17:00"))
    assert not c.is_open(local("2027-05-31 10:00"))


def test_between_is_zero_when_backwards_and_counts_off_hours_as_nothing() -> None:
    c = clock()
    assert c.between(local("2027-03-09 10:00"), local("2027-03-08 10:00")) == timedelta(0)
    assert c.between(local("2027-03-13 00:00"), local("2027-03-14 23:59")) == timedelta(0)
    assert c.between(local("2027-03-08 00:00"), local("2027-03-15 00:00")) == 45 * H


def test_a_calendar_without_working_days_is_refused() -> None:
    c = clock(days=(5,), country=None, extra=())
    c.extra_holidays = frozenset(date(2027, 1, 1) + timedelta(days=i) for i in range(0, 20 * 366))
    with pytest.raises(ValueError, match="no working day"):
        c.add(local("2027-01-01 09:00"), H)


def test_long_spans_are_computed_day_by_day() -> None:
    c = clock()
    start = local("2027-01-04 08:00")
    end = c.add(start, 500 * 9 * H)  # 500 business days
    assert c.between(start, end) == 500 * 9 * H
    assert c.add(start, 499 * 9 * H + 8 * H) < end


def test_extra_holidays_count_like_official_ones() -> None:
    c = clock(subdivision=None, extra=(date(2027, 11, 26),))  # the Friday after Thanksgiving
    assert wall(c.add(local("2027-11-24 16:00"), 4 * H)) == "2027-11-29 11:00"
    assert not c.is_business_day(date(2027, 11, 26))
    assert clock(subdivision=None, extra=()).is_business_day(date(2027, 11, 26))


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
spans = st.integers(min_value=1, max_value=5 * 9 * 60).map(lambda m: timedelta(minutes=m))
CLOCKS = {
    "chicago": clock(),
    "berlin": clock(zone=BERLIN, country="DE", subdivision="BY", extra=()),
}


def in_hours(c: BusinessClock, at: datetime) -> bool:
    start, end = c.day_bounds(at.astimezone(c.zone).date())
    return c.is_business_day(at.astimezone(c.zone).date()) and start <= at <= end


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(CLOCKS)), at=instants, a=spans, b=spans)
def test_clock_properties(name: str, at: datetime, a: timedelta, b: timedelta) -> None:
    c = CLOCKS[name]
    end = c.add(at, a)
    assert in_hours(c, end)  # never lands outside hours
    assert c.between(at, end) == a
    assert c.add(end, b) == c.add(at, a + b)
    assert c.add(at, min(a, b)) <= c.add(at, max(a, b))  # monotonic in the span
    assert c.add(at, a) <= c.add(at + b, a)  # and in the start
    assert in_hours(c, c.next_opening(at)) and c.next_opening(at) >= at


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(CLOCKS)), at=instants, a=spans, b=spans)
def test_add_each_matches_add(name: str, at: datetime, a: timedelta, b: timedelta) -> None:
    c = CLOCKS[name]
    assert c.add_each(at, [a, timedelta(0), b]) == [
        c.add(at, a),
        c.add(at, timedelta(0)),
        c.add(at, b),
    ]
