"""The agreement schema: what a sales & marketing SLA file may say, checked field by field."""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from models.durations import Duration, parse_clock, parse_duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REASON_CODES = ("bad_data", "unreachable", "not_a_fit", "duplicate", "other")


class Strict(BaseModel):
    """Base of every agreement part: unknown keys are refused, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _exact_decimal(value: Any) -> Any:
    # YAML gives 0.3 as a binary float; go through its shortest repr so the chain stays exact.
    if isinstance(value, bool):
        raise ValueError("expected a number such as 0.25 or 1200000, not true/false")
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _rate(value: Decimal) -> Decimal:
    if not (0 < value <= 1):
        hint = f"; if you mean {value}%, write {value / 100}" if 1 < value <= 100 else ""
        raise ValueError(
            f"a rate is a share between 0 (excluded) and 1, e.g. 0.25; got {value}{hint}"
        )
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"must be greater than 0; got {value}")
    return value


def _check_duration(value: Any) -> Any:
    # Before the str check, so `within: 4` is told how to write a duration, not "expected text".
    if value is None:
        raise ValueError("has no value; write a duration such as 30m, 4h or 2d")
    parse_duration(value)
    return value


def _check_clock(value: Any) -> Any:
    if value is None:
        raise ValueError('has no value; write a time of day in quotes, e.g. "08:00"')
    parse_clock(value)
    return value


def _check_currency(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        hint = (
            f"; did you mean {value.upper()!r}?"
            if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value)
            else ""
        )
        raise ValueError(
            f"{value!r} is not a currency code; write its three upper-case letters "
            f"(ISO 4217), e.g. USD or EUR{hint}"
        )
    return value


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a known IANA time zone; write e.g. America/Chicago or Europe/Berlin"
        ) from None
    return value


def _identifier(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits and _, starting with a letter"
        )
    return value


def _slack_user(value: str) -> str:
    if not re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
        raise ValueError(f"{value!r} is not a Slack user id (U… or W…, e.g. U01SALESLEAD)")
    return value


def _slack_channel(value: str) -> str:
    if not re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
        raise ValueError(f"{value!r} is not a Slack channel id (C… or G…, e.g. C01ALERTS)")
    return value


Number = Annotated[Decimal, BeforeValidator(_exact_decimal)]
Rate = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_rate)]
Money = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_positive)]
DurationText = Annotated[str, BeforeValidator(_check_duration)]
ClockText = Annotated[str, BeforeValidator(_check_clock)]
Identifier = Annotated[str, AfterValidator(_identifier)]
SlackUser = Annotated[str, AfterValidator(_slack_user)]
SlackChannel = Annotated[str, AfterValidator(_slack_channel)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Period(Strict):
    start: date
    end: date


class Team(Strict):
    lead: SlackUser
    channel: SlackChannel | None = None


class FunnelStage(Strict):
    stage: Identifier
    team: str
    rate: Rate | None = None


_TARGET = re.compile(r"^\s*(?P<op><=|>=|<|>|==)?\s*(?P<num>-?\d+(?:\.\d+)?)\s*$")


def _check_target(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a target such as '<= 0.02' or 0.3, not true/false")
    if isinstance(value, int | float | Decimal):
        return str(_exact_decimal(value))
    if isinstance(value, str) and _TARGET.match(value):
        return value.strip()
    raise ValueError(f"{value!r} is not a target; write a number (at least) or e.g. '<= 0.02'")


class Kpi(Strict):
    id: Identifier
    team: str
    metric: Identifier
    per: Identifier | None = None
    target: Annotated[str, BeforeValidator(_check_target)]
    every: Literal["day", "week", "month", "quarter", "period"] = "period"

    @property
    def comparison(self) -> tuple[str, Decimal]:
        """The operator (`>=` when none was written) and the number of the target."""
        match = _TARGET.match(self.target)
        assert match is not None  # validated on load
        return match["op"] or ">=", Decimal(match["num"])


def _check_country(value: str) -> str:
    if value not in supported_countries():
        hint = (
            f"; did you mean {value.upper()!r}?" if value.upper() in supported_countries() else ""
        )
        raise ValueError(
            f"{value!r} is not a country the holidays package knows; write its ISO 3166 "
            f"two-letter code, e.g. US, DE or GB{hint}"
        )
    return value


@cache
def supported_countries() -> dict[str, list[str]]:
    """Holiday countries and their subdivisions, as the `holidays` package knows them."""
    return dict(holidays.list_supported_countries())


class Holidays(Strict):
    country: Annotated[str, AfterValidator(_check_country)]
    subdivision: str | None = None
    extra: list[date] = Field(default_factory=list)


class BusinessHours(Strict):
    days: list[Weekday] = Field(min_length=1)
    start: ClockText
    end: ClockText
    holidays: Holidays | None = None

    @property
    def opening(self) -> time:
        return parse_clock(self.start)

    @property
    def closing(self) -> time:
        return parse_clock(self.end)

    @property
    def day_minutes(self) -> int:
        """Length of one business day in minutes (what a `d` means in business time)."""
        return (self.closing.hour * 60 + self.closing.minute) - (
            self.opening.hour * 60 + self.opening.minute
        )


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits, - and _, e.g. mql-first-touch"
        )
    return value


class FollowupRule(Strict):
    name: Annotated[str, AfterValidator(_slug)]
    stage: str
    within: DurationText
    warn_before: DurationText | None = None
    escalate_after: DurationText | None = None
    escalate_to: list[SlackUser] = Field(default_factory=list)
    # Wall-clock time between reminders of a lead still breached (posted in business hours).
    remind_every: DurationText = "4h"
    target: Rate

    @property
    def within_duration(self) -> Duration:
        return parse_duration(self.within)


class Channels(Strict):
    progress: SlackChannel
    alerts: SlackChannel
    wins: SlackChannel


def _slot(value: Any, what: str, example: str) -> tuple[str, str]:
    """Split a schedule slot into its day and its `HH:MM` time, or say how to write it."""
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not a {what}; {example}")
    try:
        parse_clock(parts[1])
    except ValueError:
        raise ValueError(
            f"{value!r}: {parts[1]!r} is not a time of day (HH:MM, 24-hour clock); {example}"
        ) from None
    return parts[0], parts[1]


def _check_weekly(value: Any) -> str:
    example = "write a weekday (mon, tue, wed, thu, fri, sat or sun) and a time, e.g. 'mon 09:00'"
    day, clock = _slot(value, "weekly slot", example)
    if day not in WEEKDAYS:
        raise ValueError(f"{value!r}: {day!r} is not a weekday; {example}")
    return f"{day} {clock}"


def _check_monthly(value: Any) -> str:
    example = "write a day of the month 1-28 (or last) and a time, e.g. '1 09:00' or 'last 17:00'"
    day, clock = _slot(value, "monthly slot", example)
    if day != "last" and not (day.isdigit() and 1 <= int(day) <= 28):
        why = "is not in every month" if day.isdigit() and int(day) > 28 else "is not a day"
        raise ValueError(f"{value!r}: day {day!r} {why}; {example}")
    return f"{day} {clock}"


class Schedule(Strict):
    weekly_digest: Annotated[str, BeforeValidator(_check_weekly)] = "mon 09:00"
    monthly_report: Annotated[str, BeforeValidator(_check_monthly)] = "1 09:00"
    check_every: DurationText = "5m"
    sync_every: DurationText = "15m"


class HubspotSource(Strict):
    name: Identifier
    kind: Literal["hubspot"]
    stages: dict[str, str] = Field(default_factory=dict)
    # The account's budget per rolling ten seconds (100 on Free/Starter, 190 on Professional
    # and Enterprise); the client keeps under 90% of it. Default: 100.
    requests_per_ten_seconds: Annotated[int, Field(ge=10, le=10_000)] = 100


class MetricsCsvSource(Strict):
    name: Identifier
    kind: Literal["metrics_csv"]
    path: str


class LeadsCsvSource(Strict):
    name: Identifier
    kind: Literal["leads_csv"]
    path: str


class DealsCsvSource(Strict):
    name: Identifier
    kind: Literal["deals_csv"]
    path: str


_PATH = re.compile(r"^[A-Za-z_][\w-]*(?:\[\d+\])*(?:\.[A-Za-z_][\w-]*(?:\[\d+\])*)*$")
_HEADER = re.compile(r"^[A-Za-z0-9-]+$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _check_path(value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(
            f"{value!r} is not a JSON path; write keys joined by dots with [N] for list items, "
            "e.g. data.rows or metrics[0].value"
        )
    return value


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _check_headers(value: dict[str, str]) -> dict[str, str]:
    for header, env in value.items():
        if not _HEADER.match(header):
            raise ValueError(f"{header!r} is not an HTTP header name")
        if not _ENV_NAME.match(env):
            raise ValueError(
                f"{header}: {env!r} must be the NAME of an environment variable holding the "
                "value (e.g. ANALYTICS_TOKEN), never the secret itself"
            )
    return value


JsonPath = Annotated[str, AfterValidator(_check_path)]


class HttpJsonSource(Strict):
    """Daily metric values read from a JSON document over HTTP (GET)."""

    name: Identifier
    kind: Literal["http_json"]
    url: Annotated[str, AfterValidator(_check_url)]
    headers: Annotated[dict[str, str], AfterValidator(_check_headers)] = Field(default_factory=dict)
    records: JsonPath | None = None
    date: JsonPath
    values: dict[Identifier, JsonPath] = Field(min_length=1)
    team: str | None = None


Source = Annotated[
    HubspotSource | MetricsCsvSource | LeadsCsvSource | DealsCsvSource | HttpJsonSource,
    Field(discriminator="kind"),
]
CSV_SOURCE_KINDS = ("metrics_csv", "leads_csv", "deals_csv")


class Agreement(Strict):
    """One version of the agreement, as validated from its YAML file."""

    name: Annotated[str, Field(min_length=1)]
    period: Period
    timezone: Annotated[str, AfterValidator(_check_zone)]
    currency: Annotated[str, BeforeValidator(_check_currency)]
    revenue_goal: Money
    average_deal_size: Money
    teams: dict[Identifier, Team] = Field(min_length=1)
    funnel: list[FunnelStage] = Field(min_length=1)
    kpis: list[Kpi] = Field(default_factory=list)
    business_hours: BusinessHours
    followup: list[FollowupRule] = Field(default_factory=list)
    channels: Channels
    schedule: Schedule = Field(default_factory=Schedule)
    admins: list[SlackUser] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def stage_names(self) -> list[str]:
        return [stage.stage for stage in self.funnel]

    def stage(self, name: str) -> FunnelStage:
        for stage in self.funnel:
            if stage.stage == name:
                return stage
        raise KeyError(name)

    @property
    def days(self) -> int:
        """Calendar days in the period, both ends included."""
        return (self.period.end - self.period.start).days + 1
