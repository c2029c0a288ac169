"""CSV files, fuzzed (rows and raw bytes): read as records, or as `BadRow`s and `CsvFileError`s
naming the file and line; never a traceback."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from models.ingest import DealRecord, LeadStageRecord, MetricRecord
from scheduler.sources.csv_files import (
    BadRow,
    CsvFileError,
    read_deals,
    read_leads,
    read_metrics,
)
from tests.utils.fuzz import FUZZ, TEXT

STAGES = ["visits", "leads", "mqls", "sqls", "proposals", "customers"]
READERS: dict[str, Callable[[Path], Iterator[Any]]] = {
    "metrics": lambda path: read_metrics(path, teams=["marketing", "sales"]),
    "leads": lambda path: read_leads(path, stages=STAGES),
    "deals": read_deals,
}
DATES = ["2027-01-04", "2027-02-30", "9999-12-31", "0001-01-01", "２０２７-01-04", "2027-1-4"]
INSTANTS = [
    "2027-01-04T09:15:00-06:00", "2027-01-04T09:15:00Z", "2027-01-04 09:15", "2027-01-04",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2027-01-04T09:15:00+23:59",
    "2027-01-04T25:00:00Z", "2027-01-04T09:15:00",
]  # fmt: skip
NUMBERS = ["182", "-3", "0.5", ".5", "1e3", "1e308", "1e999", "-1e999", "nan", "inf", "١٢٣", "1,2"]
AMOUNTS = ["30000", "30000.12", "30000.12345", "-1", "1" * 16, "1" * 20, "1e3", "0"]
EMAILS = ["ana@example.com", "ANA@Example.com", "not-an-email", "a@b", "@x.io"]
NAMES = ["visits", "Visits", "mqls", "churned_customers", "1visits", "vis-its", "marketing", "ops"]
COLUMNS = {  # each column's plausible values, good and bad, by reader, in header order
    "metrics": {"date": DATES, "metric": NAMES, "value": NUMBERS, "team": ["", *NAMES]},
    "leads": {
        "id": ["L-1001", "L-1002", "sheet:L-1"],
        "owner_email": ["", *EMAILS],
        "stage": [*STAGES, "MQLS", "mql", "won"],
        "entered_at": INSTANTS,
        "first_touch_at": ["", *INSTANTS],
        "disqualified_at": ["", *INSTANTS],
        "reason": ["", "duplicate", "Not_A_Fit", "spam"],
    },
    "deals": {
        "id": ["D-1", "D-2", " D-1 "],
        "owner_email": ["", *EMAILS],
        "amount": AMOUNTS,
        "stage": ["", "closedwon", "lost"],
        "created_at": INSTANTS,
        "closed_won_at": ["", *INSTANTS],
    },
}
HEADERS = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}
ODD_CELLS = st.one_of(
    st.sampled_from(['"a,b"', '"open', '""', "\x00", "\ufeff", " padded ", "\u2028", "a\rb"]),
    TEXT.filter(lambda cell: "\n" not in cell),
)


@st.composite
def csv_rows(draw: st.DrawFn, kind: str) -> list[str]:
    """A row of `kind`: each column a plausible value (good or bad) or an odd one; sometimes a
    value short or one too many."""
    row = [
        draw(st.one_of(st.sampled_from(values), ODD_CELLS) if draw(st.integers(0, 5)) == 0
             else st.sampled_from(values))
        for values in COLUMNS[kind].values()
    ]  # fmt: skip
    cut = draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    return row[:cut] if cut < 0 else row + [draw(ODD_CELLS)] * cut


def check_read(kind: str, path: Path) -> None:
    """Every item a record with sane values or a bad row on a line of the file; or the file
    refused, naming it."""
    lines = path.read_bytes().count(b"\n") + 1
    refused: CsvFileError | None = None
    try:
        items = list(READERS[kind](path))
    except CsvFileError as error:  # any other exception fails the test
        items, refused = [], error
    if refused is not None:
        assert str(refused).startswith((f"{path}:", f"{path} "))
        assert refused.message.strip()
        assert refused.line is None or 1 <= refused.line <= lines
        return
    for item in items:
        if isinstance(item, BadRow):
            assert 2 <= item.line <= lines and item.field and item.message.strip()
            assert item.render(str(path)).startswith(f"{path}:{item.line}: ")
        elif isinstance(item, MetricRecord):
            assert math.isfinite(item.value), item
        elif isinstance(item, DealRecord):
            assert item.amount.is_finite() and Decimal(0) <= item.amount < Decimal(10) ** 16
            assert all(_aware(t) for t in (item.created_at, item.closed_won_at))
        else:
            assert isinstance(item, LeadStageRecord)
            assert all(_aware(t) for t in (item.entered_at, item.first_touch_at))


def _aware(instant: datetime | None) -> bool:
    return instant is None or instant.utcoffset() is not None


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-csv")


def written(folder: Path, content: bytes) -> Path:
    path = folder / f"{uuid.uuid4().hex[:8]}.csv"
    path.write_bytes(content)
    return path


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, the file's text): its header and up to eight rows."""
    kind = draw(st.sampled_from(sorted(READERS)))
    rows = draw(st.lists(csv_rows(kind), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return kind, bom + ending.join([HEADERS[kind], *(",".join(row) for row in rows)]) + ending


def leads_file(**changes: str) -> tuple[str, str]:
    row = {column: values[0] for column, values in COLUMNS["leads"].items()} | changes
    return "leads", f"{HEADERS['leads']}\n{','.join(row.values())}\n"


@FUZZ
@given(csv_files())
@example(leads_file(entered_at="0001-01-01T00:00:00+01:00"))
@example(leads_file(first_touch_at="9999-12-31T23:59:59-01:00"))
@example(("metrics", "date,metric,value\n2027-01-04,visits,1e999\n"))
@example(
    (
        "deals",
        "id,owner_email,amount,stage,created_at,closed_won_at\nD-1,,1,,0001-01-01T00:00:00+00:01,\n",
    )
)
def test_csv_rows_become_records_or_bad_rows(csv_folder: Path, file: tuple[str, str]) -> None:
    kind, text = file
    check_read(kind, written(csv_folder, text.encode()))


@FUZZ
@given(
    kind=st.sampled_from(sorted(READERS)),
    header=st.booleans(),
    content=st.binary(max_size=200),
)
def test_csv_bytes_become_records_bad_rows_or_a_file_error(
    csv_folder: Path, kind: str, header: bool, content: bytes
) -> None:
    head = (HEADERS[kind] + "\n").encode() if header else b""
    check_read(kind, written(csv_folder, head + content))


# --- what the fuzzing found, kept as plain cases -------------------------------------------------


@pytest.mark.parametrize(
    ("file", "field", "message"),
    [
        (leads_file(entered_at="0001-01-01T00:00:00+01:00"), "entered_at",
         "'0001-01-01T00:00:00+01:00' is outside the years 0001 to 9999 in UTC"),
        (("metrics", "date,metric,value\n2027-01-04,visits,1e999\n"), "value",
         "'1e999' is too large a number; e.g. 182 or 0.5"),
    ],
)  # fmt: skip
def test_csv_values_that_broke_the_readers_are_bad_rows(
    csv_folder: Path, file: tuple[str, str], field: str, message: str
) -> None:
    kind, text = file
    [bad] = list(READERS[kind](written(csv_folder, text.encode())))
    assert bad == BadRow(2, field, message)
