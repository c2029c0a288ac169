"""`slabot sync`: what it prints, its JSON and its exit statuses, on both stores."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from bot.cli.agreement import NO_AGREEMENT
from tests.conftest import CLI, EXAMPLES

AT = "2027-03-01T09:00:00-06:00"
LEADS_HEADER = "id,owner_email,stage,entered_at,first_touch_at,disqualified_at,reason\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The example agreement and its data files in the test's working folder."""
    shutil.copy(EXAMPLES / "agreement.yaml", tmp_path / "agreement.yaml")
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    return tmp_path


def apply(cli: CLI, folder: Path) -> None:
    result = cli("agreement", "apply", str(folder / "agreement.yaml"), "--at", AT)
    assert result.code == 0, result.err


def test_sync_the_examples_twice(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    first = cli("sync", "--at", AT)
    assert first.code == 0, first.err
    assert first.out.splitlines() == [
        "traffic: 60 rows read, 60 new, 0 changed, 0 unchanged, 0 bad",
        "sheet: 79 rows read, 79 new, 0 changed, 0 unchanged, 0 bad",
        "deals: 8 rows read, 8 new, 0 changed, 0 unchanged, 0 bad",
    ]
    again = cli("sync", "--at", AT)
    assert again.code == 0
    assert "sheet: 79 rows read, 0 new, 0 changed, 79 unchanged, 0 bad" in again.out


def test_a_progress_bar_on_a_terminal_only(
    cli: CLI, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(cli, folder)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr("bot.cli.sync.console", terminal)
    result = cli("sync", "--at", AT)
    assert result.code == 0, result.err
    shown = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in shown  # the bar drew (and cleared) itself
    assert "deals: 8 rows read, 8 new, 0 changed, 0 unchanged, 0 bad" in shown
    # with --json the output stays plain JSON even on a terminal
    monkeypatch.setattr("bot.cli.sync.console", Console(file=io.StringIO(), force_terminal=True))
    assert json.loads(cli("sync", "--json", "--at", AT).out)["sources"][2]["unchanged"] == 8


def test_bad_rows_are_reported_and_the_exit_is_0(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    (folder / "data" / "leads.csv").write_text(
        LEADS_HEADER
        + "L-1,ana@example.com,mqls,2027-01-05T10:00:00-06:00,,,\n"
        + "L-2,ben@example.com,mqls,2027-01-05 10:00,,,\n"
        + "L-3,ben@example.com,sql,2027-01-05T10:00:00-06:00,,,\n"
    )
    result = cli("sync", "--source", "sheet", "--at", AT)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "data/leads.csv:3: entered_at: '2027-01-05 10:00' has no UTC offset; add one, "
        "e.g. 2027-01-04T09:15:00-06:00 (or Z for UTC)",
        "data/leads.csv:4: stage: 'sql' is not a stage of the funnel "
        "(visits, leads, mqls, sqls, proposals, customers); did you mean 'sqls'?",
        "sheet: 3 rows read, 1 new, 0 changed, 0 unchanged, 2 bad",
    ]
    assert not [line for line in result.err.splitlines() if line.startswith("error:")]


def test_only_twenty_bad_rows_are_printed(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    rows = "".join(f"2027-01-{day:02d},visits,n/a\n" for day in range(1, 26))
    (folder / "data" / "visits.csv").write_text("date,metric,value\n" + rows)
    result = cli("sync", "--source", "traffic", "--at", AT)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("data/visits.csv:2: value: 'n/a' is not a number")
    assert lines[19].startswith("data/visits.csv:21: value:")
    assert lines[20:] == [
        "… and 5 more bad rows",
        "traffic: 25 rows read, 0 new, 0 changed, 0 unchanged, 25 bad",
    ]


def test_a_missing_file_fails_its_source_only(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    (folder / "data" / "deals.csv").unlink()
    result = cli("sync", "--at", AT)
    assert result.code == 1
    assert "traffic: 60 rows read, 60 new" in result.out
    assert "sheet: 79 rows read, 79 new" in result.out
    missing = folder / "data" / "deals.csv"
    assert f"deals: failed: {missing}: no such file" in result.out
    assert f"error: source deals failed: {missing}: no such file" in result.err.splitlines()
    # what the other sources got was stored
    again = json.loads(cli("sync", "--source", "sheet", "--json", "--at", AT).out)
    assert again["sources"][0]["unchanged"] == 79


def test_json_shape(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    with (folder / "data" / "visits.csv").open("a") as out:
        out.write("2027-03-02,visits,many\n")
    (folder / "data" / "deals.csv").write_text("id,owner,amount\n")
    result = cli("sync", "--json", "--at", AT)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["at"] == "2027-03-01T15:00:00+00:00"
    traffic, sheet, deals = data["sources"]
    assert {key: traffic[key] for key in ("name", "kind", "fetched", "new", "changed")} == {
        "name": "traffic",
        "kind": "metrics_csv",
        "fetched": 61,
        "new": 60,
        "changed": 0,
    }
    assert (traffic["unchanged"], traffic["bad"], traffic["error"]) == (0, 1, None)
    assert traffic["bad_rows"] == [
        {
            "line": 62,
            "field": "value",
            "message": "'many' is not a number; write digits with an optional . for decimals, e.g. 182 or 0.5",
        }
    ]
    assert (sheet["new"], sheet["bad_rows"], sheet["error"]) == (79, [], None)
    assert deals["error"].endswith(
        "deals.csv:1: column 'owner' is not known (did you mean 'owner_email'?); "
        "column 'stage' is missing; column 'created_at' is missing; "
        "column 'closed_won_at' is missing "
        "(the header must be id,owner_email,amount,stage,created_at,closed_won_at)"
    )
    assert (deals["fetched"], deals["new"], deals["bad"]) == (0, 0, 0)
    for source in data["sources"]:
        assert {
            "name",
            "kind",
            "fetched",
            "new",
            "changed",
            "unchanged",
            "bad",
            "bad_rows",
            "error",
        } <= set(source)


def test_unknown_source_is_bad_input(cli: CLI, folder: Path) -> None:
    apply(cli, folder)
    result = cli("sync", "--source", "leads")
    assert result.code == 2
    assert (
        "--source: 'leads' is not a source of the agreement (its sources: traffic, sheet, deals)"
        in result.err.splitlines()
    )
    assert result.out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2027-03-01T09:00:00"], "--at: '2027-03-01T09:00:00' has no UTC offset"),
        (["--at", "monday"], "is not an ISO 8601 instant"),
        (["--frobnicate"], "No such option"),
    ],
)
def test_bad_options_exit_2(cli: CLI, folder: Path, args: list[str], message: str) -> None:
    apply(cli, folder)
    result = cli("sync", *args)
    assert result.code == 2
    assert message in result.err


def test_no_agreement_yet(sqlite_cli: CLI) -> None:
    result = sqlite_cli("sync")
    assert result.code == 1
    assert NO_AGREEMENT in result.err
