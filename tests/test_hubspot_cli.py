"""`slabot sync` with a HubSpot source, against the fake portal (both stores)."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.sandbox.hubspot import FakeHubSpot
from tests.conftest import CLI, EXAMPLES

AT = "2027-03-01T09:00:00-06:00"
T0 = datetime(2027, 1, 4, 15, tzinfo=UTC)
CRM = "  - {name: crm, kind: hubspot, stages: {leads: lead, mqls: marketingqualifiedlead}}\n"


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        fake.add_contact(hubspot_owner_id="7", hs_lifecyclestage_lead_date=T0)
        fake.add_contact(
            hs_lifecyclestage_lead_date=T0, hs_lifecyclestage_marketingqualifiedlead_date="never"
        )
        fake.add_deal(amount="30000", hs_is_closed_won=True, closedate=T0)
        yield fake


@pytest.fixture
def applied(cli: CLI, tmp_path: Path) -> CLI:
    """The example agreement with a HubSpot source `crm` first, applied."""
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    text = (EXAMPLES / "agreement.yaml").read_text().replace("sources:\n", "sources:\n" + CRM)
    (tmp_path / "agreement.yaml").write_text(text)
    result = cli("agreement", "apply", str(tmp_path / "agreement.yaml"), "--at", AT)
    assert result.code == 0, result.err
    return cli


def reach(monkeypatch: pytest.MonkeyPatch, fake: FakeHubSpot, token: str | None = None) -> None:
    monkeypatch.setenv("HUBSPOT_API_URL", fake.url)
    monkeypatch.setenv("HUBSPOT_TOKEN", token or fake.token)


def test_sync_reads_hubspot_and_the_csv_sources(
    applied: CLI, portal: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    reach(monkeypatch, portal)
    result = applied("sync", "--at", AT)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:2] == [
        "crm: contact 102: hs_lifecyclestage_marketingqualifiedlead_date: "
        "'never' is not a date and time",
        "crm: 3 records read, 3 new, 0 changed, 0 unchanged, 1 bad",
    ]
    assert lines[2].startswith("traffic: 60 rows read, 60 new")
    assert portal.token not in result.out + result.err

    again = json.loads(applied("sync", "--source", "crm", "--json", "--at", AT).out)
    (crm,) = again["sources"]
    assert (crm["kind"], crm["status"], crm["fetched"], crm["unchanged"]) == ("hubspot", "ok", 3, 3)
    assert crm["bad_rows"] == [
        {
            "record": "contact 102",
            "field": "hs_lifecyclestage_marketingqualifiedlead_date",
            "message": "'never' is not a date and time",
        }
    ]


def test_without_a_token_it_is_bad_input_naming_hubspot_token(
    applied: CLI, portal: FakeHubSpot
) -> None:
    result = applied("sync", "--at", AT)
    assert result.code == 2
    assert result.err.startswith("HUBSPOT_TOKEN is not set: source crm is a HubSpot source")
    assert result.out == ""
    assert portal.requests == []
    # a CSV source alone needs no token
    assert applied("sync", "--source", "traffic", "--at", AT).code == 0


def test_a_refused_token_fails_the_source_without_showing_it(
    applied: CLI, portal: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "pat-na1-00000000-0000-0000-0000-badbadbadbad"
    reach(monkeypatch, portal, wrong)
    result = applied("sync", "--source", "crm", "--at", AT)
    assert result.code == 1
    assert (
        "error: source crm failed: HubSpot refused GET /crm/v3/properties/contacts/lifecyclestage "
        "with 401: Authentication credentials not found." in result.err
    )
    assert "check HUBSPOT_TOKEN" in result.err
    assert wrong not in result.out + result.err


def test_a_progress_bar_on_a_terminal(
    applied: CLI, portal: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    reach(monkeypatch, portal)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr("bot.cli.sync.console", terminal)
    result = applied("sync", "--source", "crm", "--at", AT)
    assert result.code == 0, result.err
    shown = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in shown
    assert "crm: 3 records read, 3 new, 0 changed, 0 unchanged, 1 bad" in shown
