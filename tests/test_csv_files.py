"""The CSV readers: good rows become records, bad rows are named by line and column."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest

from models.ingest import DealRecord, LeadStageRecord, MetricRecord
from scheduler.sources.csv_files import (
    BadRow,
    CsvFileError,
    read_deals,
    read_leads,
    read_metrics,
)

STAGES = ["visits", "leads", "mqls", "sqls", "proposals", "customers"]
T = TypeVar("T")
LEADS_HEADER = "id,owner_email,stage,entered_at,first_touch_at,disqualified_at,reason\n"
DEALS_HEADER = "id,owner_email,amount,stage,created_at,closed_won_at\n"


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def bad_rows(items: Sequence[object]) -> list[tuple[int, str]]:
    return [(item.line, item.field) for item in items if isinstance(item, BadRow)]


def good(items: Sequence[T | BadRow]) -> list[T]:
    return [item for item in items if not isinstance(item, BadRow)]


def only_bad(items: Sequence[object]) -> BadRow:
    found = [item for item in items if isinstance(item, BadRow)]
    assert len(found) == 1, found
    return found[0]


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_with_bom_crlf_quotes_blank_lines_and_whitespace(tmp_path: Path) -> None:
    content = (
        "\ufeffDate , Metric,value,team,\r\n"
        "2027-01-04,visits,612,,\r\n"
        "\r\n"
        '  2027-01-05 , "visits" , "1.5e3" ,marketing\r\n'
        ",,,\r\n"
        "2027-01-05,visits,-3.25,\r\n"
        '2027-01-06,"visits, web",1,\r\n'
    )
    items = list(read_metrics(write(tmp_path, content), teams=["marketing", "sales"]))
    assert bad_rows(items) == [(7, "metric")]
    assert good(items) == [
        MetricRecord(metric="visits", day=date(2027, 1, 4), value=612.0, team=""),
        MetricRecord(metric="visits", day=date(2027, 1, 5), value=1500.0, team="marketing"),
        MetricRecord(metric="visits", day=date(2027, 1, 5), value=-3.25, team=""),
    ]


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("2027-13-01,visits,1", "date", "'2027-13-01' is not a date; write YYYY-MM-DD"),
        ("01/04/2027,visits,1", "date", "is not a date"),
        ("20270104,visits,1", "date", "is not a date"),
        (",visits,1", "date", "is empty"),
        ("2027-01-04,,1", "metric", "is empty"),
        ("2027-01-04,web visits,1", "metric", "must be lower-case letters"),
        ("2027-01-04,visits,", "value", "is empty"),
        ("2027-01-04,visits,many", "value", "'many' is not a number"),
        ("2027-01-04,visits,nan", "value", "'nan' is not a number"),
        ("2027-01-04,visits,1_000", "value", "is not a number"),
        ("2027-01-04,visits,1,2", "row", "has 4 values but the header has 3 columns"),
        ("2027-01-04,visits", "value", "missing: the row has 2 values"),
    ],
)
def test_metrics_bad_rows(tmp_path: Path, row: str, field: str, message: str) -> None:
    content = f"date,metric,value\n2027-01-01,visits,10\n{row}\n2027-01-02,visits,11\n"
    items = list(read_metrics(write(tmp_path, content)))
    bad = only_bad(items)
    assert (bad.line, bad.field) == (3, field)
    assert message in bad.message
    assert len(good(items)) == 2  # the rest of the file is still read


def test_metrics_unknown_team_suggests_one(tmp_path: Path) -> None:
    content = "date,metric,value,team\n2027-01-04,visits,1,marketting\n"
    bad = only_bad(list(read_metrics(write(tmp_path, content), teams=["marketing", "sales"])))
    assert (bad.line, bad.field) == (2, "team")
    assert "not a team of the agreement (marketing, sales); did you mean 'marketing'?" in (
        bad.message
    )


def test_metrics_duplicates_name_the_earlier_line(tmp_path: Path) -> None:
    content = (
        "date,metric,value,team\n"
        "2027-01-04,visits,1,\n"
        "2027-01-04,visits,2,marketing\n"  # another team: not a duplicate
        "2027-01-05,visits,3,\n"
        "2027-01-04,visits,4,\n"
        "2027-01-04,Visits,5,marketing\n"
    )
    items = list(read_metrics(write(tmp_path, content)))
    assert bad_rows(items) == [(5, "date"), (6, "date")]
    messages = [item.message for item in items if isinstance(item, BadRow)]
    assert messages == [
        "duplicate: line 2 already gives visits on 2027-01-04",
        "duplicate: line 3 already gives visits on 2027-01-04 for team marketing",
    ]
    assert [r.value for r in good(items)] == [1.0, 2.0, 3.0]


# --- leads --------------------------------------------------------------------------------------


def test_leads_rows_become_stage_records(tmp_path: Path) -> None:
    content = (
        "id,owner_email,stage,entered_at,first_touch_at\n"
        "L-1,Ana@Example.com,leads,2027-01-04T09:00:00-06:00,\n"
        "L-1,ana@example.com,MQLs,2027-01-05 10:00-06:00,2027-01-05T09:30:00Z\n"
        "L-2,,mqls,2027-01-05T10:00:00+01:00,2027-01-04T08:00:00+00:00\n"
    )
    items = list(read_leads(write(tmp_path, content), stages=STAGES))
    assert items == [
        LeadStageRecord("L-1", "leads", datetime(2027, 1, 4, 15, tzinfo=UTC), "ana@example.com"),
        LeadStageRecord(
            "L-1",
            "mqls",
            datetime(2027, 1, 5, 16, tzinfo=UTC),
            "ana@example.com",
            first_touch_at=datetime(2027, 1, 5, 9, 30, tzinfo=UTC),
        ),
        # a first touch before the hand-off is kept: the follow-up engine flags it
        LeadStageRecord(
            "L-2",
            "mqls",
            datetime(2027, 1, 5, 9, tzinfo=UTC),
            None,
            first_touch_at=datetime(2027, 1, 4, 8, tzinfo=UTC),
        ),
    ]
    assert all(r.entered_at.tzinfo is UTC for r in items)  # type: ignore[union-attr]


def test_leads_disqualified_with_reason(tmp_path: Path) -> None:
    content = (
        LEADS_HEADER
        + "L-1,ana@example.com,mqls,2027-01-05T10:00:00-06:00,,2027-01-06T10:00:00-06:00,Not_A_Fit\n"
    )
    (record,) = read_leads(write(tmp_path, content), stages=STAGES)
    assert isinstance(record, LeadStageRecord)
    assert record.disqualified_at == datetime(2027, 1, 6, 16, tzinfo=UTC)
    assert record.disqualify_reason == "not_a_fit"


OK_LEAD = "L-9,ben@example.com,mqls,2027-01-05T10:00:00-06:00,2027-01-05T11:00:00-06:00,,"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (",ana@example.com,mqls,2027-01-05T10:00:00-06:00,,,", "id", "is empty"),
        ("L-1,ana,mqls,2027-01-05T10:00:00-06:00,,,", "owner_email", "'ana' is not an email"),
        (
            "L-1,ana@example.com,mql,2027-01-05T10:00:00-06:00,,,",
            "stage",
            "'mql' is not a stage of the funnel (visits, leads, mqls, sqls, proposals, customers); did you mean 'mqls'?",
        ),
        ("L-1,ana@example.com,,2027-01-05T10:00:00-06:00,,,", "stage", "is empty"),
        ("L-1,ana@example.com,mqls,,,,", "entered_at", "is empty; give an ISO 8601 instant"),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00,,,",
            "entered_at",
            "'2027-01-05T10:00:00' has no UTC offset; add one, e.g. 2027-01-04T09:15:00-06:00",
        ),
        ("L-1,ana@example.com,mqls,2027-01-05,,,", "entered_at", "has no UTC offset"),
        ("L-1,ana@example.com,mqls,yesterday,,,", "entered_at", "is not an ISO 8601 instant"),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,2027-01-05 11:00,,",
            "first_touch_at",
            "has no UTC offset",
        ),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,,2027-01-06T10:00:00Z,",
            "reason",
            "is empty; a disqualified lead needs a reason: bad_data, unreachable, not_a_fit, duplicate, other",
        ),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,,2027-01-06T10:00:00Z,spam",
            "reason",
            "'spam' is not a reason code",
        ),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,,,duplicate",
            "disqualified_at",
            "is empty but a reason is given",
        ),
        ("L-1,ana@example.com,mqls", "entered_at", "missing: the row has 3 values"),
        (
            "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,,,,extra",
            "row",
            "has 8 values but the header has 7 columns; put a value that contains a comma in double quotes",
        ),
    ],
)
def test_leads_bad_rows(tmp_path: Path, row: str, field: str, message: str) -> None:
    content = LEADS_HEADER + OK_LEAD + "\n" + row + "\n" + OK_LEAD.replace("L-9", "L-10") + "\n"
    items = list(read_leads(write(tmp_path, content), stages=STAGES))
    bad = only_bad(items)
    assert (bad.line, bad.field) == (3, field)
    assert message in bad.message
    assert [r.lead_id for r in good(items)] == ["L-9", "L-10"]


def test_leads_optional_columns_may_be_left_off(tmp_path: Path) -> None:
    content = LEADS_HEADER + "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,\n"
    (record,) = read_leads(write(tmp_path, content), stages=STAGES)
    assert isinstance(record, LeadStageRecord)
    assert record.disqualified_at is None


def test_leads_duplicate_stage_of_one_lead_names_the_earlier_line(tmp_path: Path) -> None:
    content = (
        LEADS_HEADER
        + "L-1,ana@example.com,leads,2027-01-04T10:00:00Z,,,\n"
        + "L-1,ana@example.com,mqls,2027-01-05T10:00:00Z,,,\n"
        + "L-2,ana@example.com,mqls,2027-01-05T10:00:00Z,,,\n"
        + "L-1,ana@example.com,mqls,2027-01-06T10:00:00Z,,,\n"
    )
    items = list(read_leads(write(tmp_path, content), stages=STAGES))
    bad = only_bad(items)
    assert (bad.line, bad.field) == (5, "stage")
    assert bad.message == "duplicate: line 3 already has lead L-1 entering mqls"


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    """A quoted value spanning lines, and blank lines, do not throw the line numbers off."""
    content = (
        "\n"
        "id,owner_email,amount,stage,created_at,closed_won_at\n"
        '"D-1",ana@example.com,"30000","closed,\nwon",2027-01-05T10:00:00Z,\n'
        "\n"
        "D-2,ben@example.com,-5,open,2027-01-05T10:00:00Z,\n"
    )
    items = list(read_deals(write(tmp_path, content)))
    assert bad_rows(items) == [(6, "amount")]
    assert isinstance(items[0], DealRecord)
    assert items[0].stage == "closed,\nwon"


# --- deals --------------------------------------------------------------------------------------


def test_deals_rows(tmp_path: Path) -> None:
    content = (
        DEALS_HEADER
        + "D-1,ana@example.com,30000.5,closedwon,2027-01-05T10:00:00-06:00,2027-02-01T12:00:00-06:00\n"
        + "D-2,,0,,2027-01-06T10:00:00-06:00,\n"
    )
    assert list(read_deals(write(tmp_path, content))) == [
        DealRecord(
            "D-1",
            Decimal("30000.5"),
            datetime(2027, 1, 5, 16, tzinfo=UTC),
            "ana@example.com",
            "closedwon",
            datetime(2027, 2, 1, 18, tzinfo=UTC),
        ),
        DealRecord("D-2", Decimal(0), datetime(2027, 1, 6, 16, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("D-1,ana@example.com,-1,open,2027-01-05T10:00:00Z,", "amount", "'-1' is negative"),
        ('D-1,ana@example.com,"$30,000",open,2027-01-05T10:00:00Z,', "amount", "is not an amount"),
        ("D-1,ana@example.com,1e5,open,2027-01-05T10:00:00Z,", "amount", "is not an amount"),
        ("D-1,ana@example.com,1.23456,open,2027-01-05T10:00:00Z,", "amount", "more than 4 decimal"),
        ("D-1,ana@example.com,,open,2027-01-05T10:00:00Z,", "amount", "is empty"),
        ("D-1,ana@example.com,5,open,,", "created_at", "is empty"),
        ("D-1,ana@example.com,5,open,2027-01-05T10:00:00Z,2027-02-01", "closed_won_at", "offset"),
        (
            "D-7,ana@example.com,5,open,2027-01-05T10:00:00Z,",
            "id",
            "duplicate: line 2 already has deal D-7",
        ),
    ],
)
def test_deals_bad_rows(tmp_path: Path, row: str, field: str, message: str) -> None:
    content = DEALS_HEADER + "D-7,ana@example.com,5,open,2027-01-05T10:00:00Z,\n" + row + "\n"
    bad = only_bad(list(read_deals(write(tmp_path, content))))
    assert (bad.line, bad.field) == (3, field)
    assert message in bad.message


# --- whole-file errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", ":"),
        ("\ufeff\r\n\r\n", ":"),
        (
            "date,metrc,value\n",
            ":1: column 'metrc' is not known (did you mean 'metric'?) (the header must be date,metric,value, optionally followed by team)",
        ),
        ("date,value\n", ":1: column 'metric' is missing"),
        ("date,metric,value,source\n", ":1: column 'source' is not known (the header"),
        ("date,metric,value,date\n", ":1: column 'date' appears twice"),
        ("date,,metric,value\n", ":1: column 2 has no name"),
    ],
)
def test_header_problems_refuse_the_whole_file(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CsvFileError) as caught:
        list(read_metrics(path))
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    if not content.strip("\ufeff\r\n"):
        assert "is empty; its first line must be the header date,metric,value" in str(caught.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CsvFileError, match=r"nowhere\.csv: no such file$"):
        list(read_leads(tmp_path / "nowhere.csv", stages=STAGES))
    with pytest.raises(CsvFileError, match="is a folder, not a CSV file"):
        list(read_deals(tmp_path))


def test_not_utf8_names_the_line_and_is_found_while_streaming(tmp_path: Path) -> None:
    rows = "".join(f"2027-01-{day:02d},visits,{day}\n" for day in range(1, 31))
    path = write(
        tmp_path, b"date,metric,value\n" + rows.encode() + b"2027-02-01,visits,\xe9t\xe9\n"
    )
    reader = read_metrics(path)
    first = next(reader)  # the reader streams: it yields before it has seen the whole file
    assert first == MetricRecord("visits", date(2027, 1, 1), 1.0)
    with pytest.raises(CsvFileError) as caught:
        list(reader)
    assert str(caught.value) == (
        f"{path}:32: is not UTF-8 text (byte 0xe9 at column 19); "
        "save it as UTF-8 (in Excel: CSV UTF-8)"
    )


def test_latin1_header_is_a_whole_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "id,owner_émail\n".encode("latin-1"))
    with pytest.raises(CsvFileError, match=r":1: is not UTF-8 text"):
        list(read_leads(path, stages=STAGES))


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert list(read_deals(write(tmp_path, DEALS_HEADER))) == []
