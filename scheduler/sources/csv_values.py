"""Checks of single CSV cells (dates, numbers, instants, emails, choices) with precise messages."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from models.agreement import REASON_CODES

INSTANT_EXAMPLE = "2027-01-04T09:15:00-06:00"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Invalid(Exception):
    """A cell is not acceptable: its column and why."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


Values = dict[str, str]


def closest(value: str, choices: Sequence[str]) -> list[str]:
    return difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)


def guess(value: str, choices: Sequence[str]) -> str:
    close = closest(value, choices)
    return f"; did you mean {close[0]!r}?" if close else ""


def required(values: Values, column: str, what: str) -> str:
    text = values[column]
    if not text:
        raise Invalid(column, f"is empty; give {what}")
    return text


def day(values: Values, column: str) -> date:
    text = required(values, column, "a date as YYYY-MM-DD, e.g. 2027-01-04")
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            column, f"{text!r} is not a date; write YYYY-MM-DD, e.g. 2027-01-04"
        ) from None


def identifier(values: Values, column: str) -> str:
    text = required(values, column, "a name such as visits").lower()
    if not _IDENTIFIER.fullmatch(text):
        raise Invalid(
            column,
            f"{text!r} must be lower-case letters, digits and _, starting with a letter (e.g. visits)",
        )
    return text


def number(values: Values, column: str) -> float:
    text = required(values, column, "a number, e.g. 182")
    if not _NUMBER.fullmatch(text):
        raise Invalid(
            column,
            f"{text!r} is not a number; write digits with an optional . for decimals, e.g. 182 or 0.5",
        )
    value = float(text)
    if not math.isfinite(value):  # `1e999` has the shape of a number but no float holds it
        raise Invalid(column, f"{text!r} is too large a number; e.g. 182 or 0.5")
    return value


def team(values: Values, column: str, teams: Collection[str] | None) -> str:
    text = values.get(column, "").lower()
    if text and teams is not None and text not in teams:
        known = ", ".join(sorted(teams))
        raise Invalid(
            column,
            f"{text!r} is not a team of the agreement ({known}){guess(text, sorted(teams))}",
        )
    return text


def choice(values: Values, column: str, choices: Sequence[str], what: str) -> str:
    text = required(values, column, what).lower()
    if text not in choices:
        raise Invalid(
            column, f"{text!r} is not {what} ({', '.join(choices)}){guess(text, choices)}"
        )
    return text


def email(values: Values, column: str) -> str | None:
    text = values[column].lower()
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise Invalid(column, f"{text!r} is not an email address, e.g. ana@example.com")
    return text


def instant(values: Values, column: str) -> datetime:
    instant = optional_instant(values, column)
    if instant is None:
        raise Invalid(
            column, f"is empty; give an ISO 8601 instant with offset, e.g. {INSTANT_EXAMPLE}"
        )
    return instant


def optional_instant(values: Values, column: str) -> datetime | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            column, f"{text!r} is not an ISO 8601 instant; e.g. {INSTANT_EXAMPLE}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(
            column,
            f"{text!r} has no UTC offset; add one, e.g. {INSTANT_EXAMPLE} (or Z for UTC)",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise Invalid(column, f"{text!r} is outside the years 0001 to 9999 in UTC") from None


def reason(values: Values, disqualified_at: datetime | None) -> str | None:
    text = values.get("reason", "").lower()
    codes = ", ".join(REASON_CODES)
    if not text:
        if disqualified_at is not None:
            raise Invalid("reason", f"is empty; a disqualified lead needs a reason: {codes}")
        return None
    if text not in REASON_CODES:
        raise Invalid(
            "reason",
            f"{text!r} is not a reason code; use one of {codes}{guess(text, REASON_CODES)}",
        )
    if disqualified_at is None:
        raise Invalid(
            "disqualified_at", "is empty but a reason is given; give when the lead was disqualified"
        )
    return text


def amount(values: Values, column: str) -> Decimal:
    text = required(values, column, "the deal's amount, e.g. 30000 (0 if not known yet)")
    if not _AMOUNT.fullmatch(text):
        raise Invalid(
            column,
            f"{text!r} is not an amount; write digits with an optional . for cents, e.g. 30000 or 30000.50",
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise Invalid(column, f"{text!r} is not an amount") from None
    if amount < 0:
        raise Invalid(column, f"{text!r} is negative; an amount is 0 or more")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise Invalid(column, f"{text!r} has more than 4 decimal places")
    if amount >= Decimal(10) ** 16:
        raise Invalid(column, f"{text!r} is too large (at most 16 digits before the point)")
    return amount
