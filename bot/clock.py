"""The business clock: business time between instants, added to an instant, and the next opening.

A business day runs from the opening to the closing wall-clock time in the agreement's time zone
on a working day that is not a holiday. Its length is the real time between those two wall-clock
instants, so a day that contains a DST change is an hour shorter or longer only if the change
falls inside business hours. The business days of each year are laid out once as a timeline;
every question after that is a binary search (never minute or day stepping).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from models.agreement import WEEKDAYS, Agreement
from models.durations import Duration

ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A guard against a calendar with no business day at all (every day a holiday).
_MAX_YEARS = 10


_CLOCKS: dict[str, BusinessClock] = {}


def _us(at: datetime) -> int:
    """An aware instant as whole microseconds since the epoch (exact, unlike a float)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: the business clock needs aware instants")
    return (at - _EPOCH) // _MICROSECOND


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass
class BusinessClock:
    """Business hours of one agreement; every method takes and returns aware instants."""

    zone: ZoneInfo
    weekdays: frozenset[int]
    opening: time
    closing: time
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    _years: dict[int, frozenset[date]] = field(default_factory=dict, repr=False)
    _span: tuple[int, int] | None = field(default=None, repr=False)
    _opens: list[int] = field(default_factory=list, repr=False)
    _closes: list[int] = field(default_factory=list, repr=False)
    _before: list[int] = field(default_factory=lambda: [0], repr=False)

    @classmethod
    def of(cls, agreement: Agreement) -> BusinessClock:
        """The clock of an agreement's business hours, shared by every caller (its timeline of
        business days is built once, lazily)."""
        key = agreement.timezone + agreement.business_hours.model_dump_json()
        clock = _CLOCKS.get(key)
        if clock is None:
            clock = _CLOCKS[key] = cls._build(agreement)
        return clock

    @classmethod
    def _build(cls, agreement: Agreement) -> BusinessClock:
        hours = agreement.business_hours
        return cls(
            zone=agreement.zone,
            weekdays=frozenset(WEEKDAYS.index(day) for day in hours.days),
            opening=hours.opening,
            closing=hours.closing,
            country=hours.holidays.country if hours.holidays else None,
            subdivision=hours.holidays.subdivision if hours.holidays else None,
            extra_holidays=frozenset(hours.holidays.extra) if hours.holidays else frozenset(),
        )

    # -- days ---------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        if self.country is None:
            return False
        if day.year not in self._years:
            calendar = holiday_calendars.country_holidays(
                self.country, subdiv=self.subdivision, years=day.year
            )
            self._years[day.year] = frozenset(calendar.keys())
        return day in self._years[day.year]

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and not self.is_holiday(day)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing instants (UTC) of `day`, whether or not it is a business day."""
        start = datetime.combine(day, self.opening, self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closing, self.zone).astimezone(UTC)
        return start, end

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    # -- the timeline --------------------------------------------------------------------------
    # Business days as segments [open, close) in epoch microseconds, with the business time
    # elapsed before each: adding and measuring are a binary search, whatever the span.

    def _load(self, first: int, last: int) -> None:
        """Make the timeline cover local years `first`..`last` (it only ever grows)."""
        if self._span is not None:
            first, last = min(first, self._span[0]), max(last, self._span[1])
            if (first, last) == self._span:
                return
        opens: list[int] = []
        closes: list[int] = []
        for year in range(first, last + 1):
            day = date(year, 1, 1)
            while day.year == year:
                if self.is_business_day(day):
                    start, end = self.day_bounds(day)
                    if end > start:
                        opens.append(_us(start))
                        closes.append(_us(end))
                day += timedelta(days=1)
        before = [0]
        for opening, closing in zip(opens, closes, strict=True):
            before.append(before[-1] + closing - opening)
        self._opens, self._closes, self._before = opens, closes, before
        self._span = (first, last)

    def _cover(self, at: int) -> None:
        year = _from_us(at).astimezone(self.zone).year
        if self._span is None or not self._span[0] <= year <= self._span[1] - 1:
            self._load(year - 1, year + 1)

    def _position(self, at: int) -> int:
        """Business time (microseconds) from the timeline's start to `at`."""
        self._cover(at)
        index = bisect_right(self._opens, at) - 1
        if index < 0:
            return 0
        return self._before[index] + min(at, self._closes[index]) - self._opens[index]

    def _instant(self, position: int) -> int:
        """The first instant at which the timeline's business time reaches `position`."""
        while position > self._before[-1]:
            assert self._span is not None
            if self._span[1] - self._span[0] > _MAX_YEARS:
                raise ValueError("the business calendar has no working day in ten years")
            self._load(self._span[0], self._span[1] + 1)
        index = max(bisect_left(self._before, position) - 1, 0)
        return self._opens[index] + position - self._before[index]

    # -- instants -----------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """True inside business hours (the opening instant included, the closing one excluded)."""
        day = self._local_date(at)
        if not self.is_business_day(day):
            return False
        start, end = self.day_bounds(day)
        return start <= at < end

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when the clock runs then; otherwise the next instant it starts running."""
        moment = _us(at)
        self._cover(moment)
        index = bisect_right(self._opens, moment) - 1
        if index >= 0 and moment < self._closes[index]:
            return _from_us(moment)
        following = self._instant(self._position(moment) + 1) - 1
        return _from_us(following)

    def add(self, at: datetime, span: timedelta) -> datetime:
        """The instant when `span` of business time has run from `at` (which may be off hours).

        The clock starts at `next_opening(at)`. A span that ends exactly at a closing time ends
        there (a deadline of 17:00 is met by a touch at 17:00), not at the next opening.
        """
        if span < ZERO:
            raise ValueError("business time cannot be negative")
        if span == ZERO:
            return self.next_opening(at)
        return _from_us(self._instant(self._position(_us(at)) + span // _MICROSECOND))

    def add_each(self, at: datetime, spans: Iterable[timedelta]) -> list[datetime]:
        """`add(at, span)` for several spans from one start (one search for the start)."""
        origin = self._position(_us(at))
        out = []
        for span in spans:
            if span <= ZERO:
                out.append(self.add(at, span))
            else:
                out.append(_from_us(self._instant(origin + span // _MICROSECOND)))
        return out

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when `end` is not after `start`)."""
        if end <= start:
            return ZERO
        elapsed = self._position(_us(end)) - self._position(_us(start))
        return timedelta(microseconds=elapsed)

    def span(self, duration: Duration) -> timedelta:
        """An agreement duration as business time: a `d` is one business day's length."""
        return timedelta(minutes=duration.total_minutes(self.business_day_minutes))

    @property
    def business_day_minutes(self) -> int:
        """Nominal length of a business day (what a `d` means), from the wall-clock hours."""
        return (self.closing.hour * 60 + self.closing.minute) - (
            self.opening.hour * 60 + self.opening.minute
        )

    def business_days(self, start: date, end: date) -> Iterable[date]:
        """Business days in [start, end]."""
        day = start
        while day <= end:
            if self.is_business_day(day):
                yield day
            day += timedelta(days=1)
