"""Reads the CSV sources (daily metrics, lead stages, deals) row by row, checking every value.

Each reader is a generator: it yields a record for each good row and a `BadRow` (physical line,
column, message) for each bad one, and keeps reading. A file it cannot read as a whole (missing,
not UTF-8, empty, a wrong header) raises `CsvFileError` naming the file.
"""

from __future__ import annotations

import csv
import difflib
import re
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from models.agreement import REASON_CODES
from models.ingest import DealRecord, LeadStageRecord, MetricRecord

METRICS_COLUMNS = (("date", "metric", "value"), ("team",))
LEADS_COLUMNS = (
    ("id", "owner_email", "stage", "entered_at", "first_touch_at"),
    ("disqualified_at", "reason"),
)
DEALS_COLUMNS = (("id", "owner_email", "amount", "stage", "created_at", "closed_won_at"), ())
INSTANT_EXAMPLE = "2027-01-04T09:15:00-06:00"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that was not taken: its physical line in the file (from 1), its column, and why."""

    line: int
    field: str
    message: str

    def render(self, file: str) -> str:
        return f"{file}:{self.line}: {self.field}: {self.message}"


class CsvFileError(ValueError):
    """The file cannot be read at all; nothing of it should be stored."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file, self.message, self.line = file, message, line
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


Values = dict[str, str]


def read_metrics(
    path: str | Path, *, teams: Collection[str] | None = None
) -> Iterator[MetricRecord | BadRow]:
    """Daily metric values: `date,metric,value[,team]`; `teams`, when given, are the valid teams."""
    seen: dict[tuple[str, str], dict[int, int]] = {}  # (metric, team) -> day number -> line
    for line, values in _rows(path, *METRICS_COLUMNS):
        if isinstance(values, BadRow):
            yield values
            continue
        try:
            day = _day(values, "date")
            metric = _identifier(values, "metric")
            value = _number(values, "value")
            team = _team(values, "team", teams)
        except _Invalid as bad:
            yield BadRow(line, bad.field, bad.message)
            continue
        days = seen.setdefault((metric, team), {})
        earlier = days.get(day.toordinal())
        if earlier:
            of_team = f" for team {team}" if team else ""
            message = f"duplicate: line {earlier} already gives {metric} on {day}{of_team}"
            yield BadRow(line, "date", message)
            continue
        days[day.toordinal()] = line
        yield MetricRecord(metric=metric, day=day, value=value, team=team)


def read_leads(path: str | Path, *, stages: Sequence[str]) -> Iterator[LeadStageRecord | BadRow]:
    """Lead stage entries: `id,owner_email,stage,entered_at,first_touch_at[,disqualified_at,reason]`."""
    seen = _StageLines(stages)
    for line, values in _rows(path, *LEADS_COLUMNS):
        if isinstance(values, BadRow):
            yield values
            continue
        try:
            lead_id = _required(values, "id", "the lead's id in the source")
            owner = _email(values, "owner_email")
            stage = _choice(values, "stage", stages, "a stage of the funnel")
            entered_at = _instant(values, "entered_at")
            first_touch_at = _optional_instant(values, "first_touch_at")
            disqualified_at = _optional_instant(values, "disqualified_at")
            reason = _reason(values, disqualified_at)
        except _Invalid as bad:
            yield BadRow(line, bad.field, bad.message)
            continue
        earlier = seen.line_of(lead_id, stage)
        if earlier:
            yield BadRow(
                line,
                "stage",
                f"duplicate: line {earlier} already has lead {lead_id} entering {stage}",
            )
            continue
        seen.add(lead_id, stage, line)
        yield LeadStageRecord(
            lead_id=lead_id,
            stage=stage,
            entered_at=entered_at,
            owner_email=owner,
            first_touch_at=first_touch_at,  # before entered_at is kept: the engine flags it
            disqualified_at=disqualified_at,
            disqualify_reason=reason,
        )


class _StageLines:
    """The line where each lead entered each stage: one small slot per lead, not one per row.

    Keeping (lead, stage) -> line pairs costs about 250 bytes a row; a flat array of lines, one
    row of it per lead, keeps a million-row file's index in a few dozen megabytes.
    """

    def __init__(self, stages: Sequence[str]) -> None:
        self._columns = {stage: n for n, stage in enumerate(stages)}
        self._slots: dict[str, int] = {}
        self._lines = array("L")

    def line_of(self, lead_id: str, stage: str) -> int:
        slot = self._slots.get(lead_id)
        return 0 if slot is None else self._lines[slot + self._columns[stage]]

    def add(self, lead_id: str, stage: str, line: int) -> None:
        slot = self._slots.get(lead_id)
        if slot is None:
            slot = self._slots[lead_id] = len(self._lines)
            self._lines.extend([0] * len(self._columns))
        self._lines[slot + self._columns[stage]] = line


def read_deals(path: str | Path) -> Iterator[DealRecord | BadRow]:
    """Deals: `id,owner_email,amount,stage,created_at,closed_won_at` (empty = not won)."""
    seen: dict[str, int] = {}
    for line, values in _rows(path, *DEALS_COLUMNS):
        if isinstance(values, BadRow):
            yield values
            continue
        try:
            deal_id = _required(values, "id", "the deal's id in the source")
            owner = _email(values, "owner_email")
            amount = _amount(values, "amount")
            stage = values["stage"] or None
            created_at = _instant(values, "created_at")
            closed_won_at = _optional_instant(values, "closed_won_at")
        except _Invalid as bad:
            yield BadRow(line, bad.field, bad.message)
            continue
        if deal_id in seen:
            yield BadRow(line, "id", f"duplicate: line {seen[deal_id]} already has deal {deal_id}")
            continue
        seen[deal_id] = line
        yield DealRecord(
            deal_id=deal_id,
            amount=amount,
            created_at=created_at,
            owner_email=owner,
            stage=stage,
            closed_won_at=closed_won_at,
        )


# --- the file: lines, header, rows --------------------------------------------------------------


def _rows(
    path: str | Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[tuple[int, Values | BadRow]]:
    """Each non-blank data row's first physical line and its stripped values by column."""
    file = str(path)
    with _open(file) as handle:
        reader = csv.reader(_lines(handle, file), skipinitialspace=True)
        header: list[str] | None = None
        start = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise CsvFileError(file, f"is not valid CSV: {exc}", reader.line_num) from None
            line, start = start, reader.line_num + 1
            cells = [cell.strip() for cell in fields]
            if not any(cells):
                continue  # a blank line (or one of empty cells only)
            if header is None:
                header = _header(file, line, cells, required, optional)
                continue
            yield line, _values(line, header, cells, required)
        if header is None:
            raise CsvFileError(
                file, f"is empty; its first line must be the header {_expected(required, optional)}"
            )


def _open(file: str) -> BinaryIO:
    try:
        return Path(file).open("rb")
    except FileNotFoundError:
        raise CsvFileError(file, "no such file") from None
    except IsADirectoryError:
        raise CsvFileError(file, "is a folder, not a CSV file") from None
    except OSError as exc:
        raise CsvFileError(file, f"cannot be read: {exc.strerror or exc}") from None


def _lines(handle: BinaryIO, file: str) -> Iterator[str]:
    # Decoding line by line gives the exact line of a byte that is not UTF-8.
    for number, raw in enumerate(handle, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                file,
                f"is not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                "save it as UTF-8 (in Excel: CSV UTF-8)",
                number,
            ) from None


def _header(
    file: str, line: int, cells: list[str], required: tuple[str, ...], optional: tuple[str, ...]
) -> list[str]:
    names = [cell.lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # trailing empty columns, as spreadsheets sometimes export them
    known = required + optional
    problems: list[str] = []
    suggested: set[str] = set()
    for position, name in enumerate(names, 1):
        if not name:
            problems.append(f"column {position} has no name")
        elif names.index(name) != position - 1:
            problems.append(f"column {name!r} appears twice")
        elif name not in known:
            close = _closest(name, [c for c in known if c not in names and c not in suggested])
            suggested.update(close)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"column {name!r} is not known{guess}")
    for name in required:
        if name not in names and name not in suggested:
            problems.append(f"column {name!r} is missing")
    if problems:
        raise CsvFileError(
            file,
            "; ".join(problems) + f" (the header must be {_expected(required, optional)})",
            line,
        )
    return names


def _expected(required: tuple[str, ...], optional: tuple[str, ...]) -> str:
    text = ",".join(required)
    return f"{text}, optionally followed by {','.join(optional)}" if optional else text


def _values(
    line: int, header: list[str], cells: list[str], required: tuple[str, ...]
) -> Values | BadRow:
    if len(cells) > len(header):
        if any(cells[len(header) :]):
            return BadRow(
                line,
                "row",
                f"has {len(cells)} values but the header has {len(header)} columns; "
                "put a value that contains a comma in double quotes",
            )
        cells = cells[: len(header)]
    if len(cells) < len(header):
        missing = [name for name in header[len(cells) :] if name in required]
        if missing:
            return BadRow(
                line,
                missing[0],
                f"missing: the row has {len(cells)} values but the header has {len(header)} columns",
            )
        cells = cells + [""] * (len(header) - len(cells))
    return dict(zip(header, cells, strict=True))


# --- values -------------------------------------------------------------------------------------


def _closest(value: str, choices: Sequence[str]) -> list[str]:
    return difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)


def _guess(value: str, choices: Sequence[str]) -> str:
    close = _closest(value, choices)
    return f"; did you mean {close[0]!r}?" if close else ""


def _required(values: Values, column: str, what: str) -> str:
    text = values[column]
    if not text:
        raise _Invalid(column, f"is empty; give {what}")
    return text


def _day(values: Values, column: str) -> date:
    text = _required(values, column, "a date as YYYY-MM-DD, e.g. 2027-01-04")
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _Invalid(
            column, f"{text!r} is not a date; write YYYY-MM-DD, e.g. 2027-01-04"
        ) from None


def _identifier(values: Values, column: str) -> str:
    text = _required(values, column, "a name such as visits").lower()
    if not _IDENTIFIER.fullmatch(text):
        raise _Invalid(
            column,
            f"{text!r} must be lower-case letters, digits and _, starting with a letter (e.g. visits)",
        )
    return text


def _number(values: Values, column: str) -> float:
    text = _required(values, column, "a number, e.g. 182")
    if not _NUMBER.fullmatch(text):
        raise _Invalid(
            column,
            f"{text!r} is not a number; write digits with an optional . for decimals, e.g. 182 or 0.5",
        )
    return float(text)


def _team(values: Values, column: str, teams: Collection[str] | None) -> str:
    text = values.get(column, "").lower()
    if text and teams is not None and text not in teams:
        known = ", ".join(sorted(teams))
        raise _Invalid(
            column,
            f"{text!r} is not a team of the agreement ({known}){_guess(text, sorted(teams))}",
        )
    return text


def _choice(values: Values, column: str, choices: Sequence[str], what: str) -> str:
    text = _required(values, column, what).lower()
    if text not in choices:
        raise _Invalid(
            column, f"{text!r} is not {what} ({', '.join(choices)}){_guess(text, choices)}"
        )
    return text


def _email(values: Values, column: str) -> str | None:
    text = values[column].lower()
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise _Invalid(column, f"{text!r} is not an email address, e.g. ana@example.com")
    return text


def _instant(values: Values, column: str) -> datetime:
    instant = _optional_instant(values, column)
    if instant is None:
        raise _Invalid(
            column, f"is empty; give an ISO 8601 instant with offset, e.g. {INSTANT_EXAMPLE}"
        )
    return instant


def _optional_instant(values: Values, column: str) -> datetime | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(
            column, f"{text!r} is not an ISO 8601 instant; e.g. {INSTANT_EXAMPLE}"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Invalid(
            column,
            f"{text!r} has no UTC offset; add one, e.g. {INSTANT_EXAMPLE} (or Z for UTC)",
        )
    return value.astimezone(UTC)


def _reason(values: Values, disqualified_at: datetime | None) -> str | None:
    text = values.get("reason", "").lower()
    codes = ", ".join(REASON_CODES)
    if not text:
        if disqualified_at is not None:
            raise _Invalid("reason", f"is empty; a disqualified lead needs a reason: {codes}")
        return None
    if text not in REASON_CODES:
        raise _Invalid(
            "reason",
            f"{text!r} is not a reason code; use one of {codes}{_guess(text, REASON_CODES)}",
        )
    if disqualified_at is None:
        raise _Invalid(
            "disqualified_at", "is empty but a reason is given; give when the lead was disqualified"
        )
    return text


def _amount(values: Values, column: str) -> Decimal:
    text = _required(values, column, "the deal's amount, e.g. 30000 (0 if not known yet)")
    if not _AMOUNT.fullmatch(text):
        raise _Invalid(
            column,
            f"{text!r} is not an amount; write digits with an optional . for cents, e.g. 30000 or 30000.50",
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise _Invalid(column, f"{text!r} is not an amount") from None
    if amount < 0:
        raise _Invalid(column, f"{text!r} is negative; an amount is 0 or more")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise _Invalid(column, f"{text!r} has more than 4 decimal places")
    if amount >= Decimal(10) ** 16:
        raise _Invalid(column, f"{text!r} is too large (at most 16 digits before the point)")
    return amount
