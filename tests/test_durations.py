"""Durations (`30m`, `4h`, `2d`, `1d4h30m`) and 24-hour clock times as agreements write them."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from models.durations import Duration, parse_clock, parse_duration


@pytest.mark.parametrize(
    ("text", "days", "minutes"),
    [
        pytest.param("30m", 0, 30, id="minutes"),
        pytest.param("4h", 0, 240, id="hours"),
        pytest.param("2d", 2, 0, id="days"),
        pytest.param("1d4h30m", 1, 270, id="all-three"),
        pytest.param("1h30m", 0, 90, id="hours-and-minutes"),
        pytest.param("90m", 0, 90, id="minutes-over-an-hour"),
        pytest.param(" 4h ", 0, 240, id="surrounding-spaces"),
    ],
)
def test_durations(text: str, days: int, minutes: int) -> None:
    assert parse_duration(text) == Duration(days=days, minutes=minutes)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("0m", "is zero", id="zero"),
        pytest.param("0d0h", "is zero", id="zero-parts"),
        pytest.param("4", "is not a duration", id="no-unit"),
        pytest.param("h", "is not a duration", id="no-number"),
        pytest.param("-1h", "is not a duration", id="negative"),
        pytest.param("4 h", "is not a duration", id="space-inside"),
        pytest.param("4H", "is not a duration", id="upper-case"),
        pytest.param("30m4h", "is not a duration", id="wrong-order"),
        pytest.param("1.5h", "is not a duration", id="fraction"),
        pytest.param("", "is not a duration", id="empty"),
        pytest.param(4, "is not a duration", id="a-number"),
    ],
)
def test_malformed_durations(text: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)
    if fragment == "is not a duration":
        assert "write a number with m, h or d, e.g. 30m, 4h, 2d or 1h30m" in str(caught.value)


@pytest.mark.parametrize(
    ("duration", "day_minutes", "total"),
    [
        pytest.param("2d", 9 * 60, 18 * 60, id="business-days"),
        pytest.param("1d4h30m", 8 * 60, 12 * 60 + 30, id="mixed"),
        pytest.param("45m", 8 * 60, 45, id="no-days"),
    ],
)
def test_total_minutes_count_a_day_as_a_business_day(
    duration: str, day_minutes: int, total: int
) -> None:
    assert parse_duration(duration).total_minutes(day_minutes) == total


@pytest.mark.parametrize("text", ["30m", "4h", "2d", "1d4h30m", "1h30m"])
def test_a_duration_prints_as_written(text: str) -> None:
    assert str(parse_duration(text)) == text


def test_durations_order_by_length_within_a_day() -> None:
    assert (
        parse_duration("30m") < parse_duration("4h") < parse_duration("1d") < parse_duration("1d1m")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("00:00", time(0, 0), id="midnight"),
        pytest.param("08:00", time(8, 0), id="morning"),
        pytest.param("23:59", time(23, 59), id="last-minute"),
        pytest.param("17:30", time(17, 30), id="half-past"),
    ],
)
def test_clock_times(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("24:00", id="hour-24"),
        pytest.param("8:00", id="one-digit-hour"),
        pytest.param("08:60", id="minute-60"),
        pytest.param("8am", id="am-pm"),
        pytest.param("0800", id="no-colon"),
        pytest.param("08:00:00", id="seconds"),
        pytest.param("", id="empty"),
        pytest.param(800, id="a-number"),
    ],
)
def test_malformed_clock_times(text: Any) -> None:
    with pytest.raises(ValueError, match="is not a time of day; write HH:MM on a 24-hour clock"):
        parse_clock(text)
