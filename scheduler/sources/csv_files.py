"""Reads the CSV sources (daily metrics, lead stages, deals) row by row, checking every value.

Each reader is a generator: it yields a record for each good row and a `BadRow` (physical line,
column, message) for each bad one, and keeps reading. A file it cannot read as a whole (missing,
not UTF-8, empty, a wrong header) raises `CsvFileError` naming the file.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from models.ingest import DealRecord, LeadStageRecord, MetricRecord
from scheduler.sources import csv_values as cells
from scheduler.sources.csv_values import Invalid, Values

METRICS_COLUMNS = (("date", "metric", "value"), ("team",))
LEADS_COLUMNS = (
    ("id", "owner_email", "stage", "entered_at", "first_touch_at"),
    ("disqualified_at", "reason"),
)
DEALS_COLUMNS = (("id", "owner_email", "amount", "stage", "created_at", "closed_won_at"), ())


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
            day = cells.day(values, "date")
            metric = cells.identifier(values, "metric")
            value = cells.number(values, "value")
            team = cells.team(values, "team", teams)
        except Invalid as bad:
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
            lead_id = cells.required(values, "id", "the lead's id in the source")
            owner = cells.email(values, "owner_email")
            stage = cells.choice(values, "stage", stages, "a stage of the funnel")
            entered_at = cells.instant(values, "entered_at")
            first_touch_at = cells.optional_instant(values, "first_touch_at")
            disqualified_at = cells.optional_instant(values, "disqualified_at")
            reason = cells.reason(values, disqualified_at)
        except Invalid as bad:
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
            deal_id = cells.required(values, "id", "the deal's id in the source")
            owner = cells.email(values, "owner_email")
            amount = cells.amount(values, "amount")
            stage = values["stage"] or None
            created_at = cells.instant(values, "created_at")
            closed_won_at = cells.optional_instant(values, "closed_won_at")
        except Invalid as bad:
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
    file: str, line: int, titles: list[str], required: tuple[str, ...], optional: tuple[str, ...]
) -> list[str]:
    names = [title.lower() for title in titles]
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
            close = cells.closest(name, [c for c in known if c not in names and c not in suggested])
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
