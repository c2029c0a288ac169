"""CRM owners matched to Slack users through the fake Slack, on both stores; sync and status."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.sandbox.hubspot import FakeHubSpot, PortalLimits
from bot.sandbox.slack import FakeSlack, users_lookup_by_email
from bot.settings import Settings
from bot.slack import SERVER_ERROR_RETRIES, slack_client
from models.agreement import HubspotSource
from models.db import session_scope
from models.tables import Owner
from scheduler.owners import MatchResult, match_owners, unmatched_owners
from scheduler.sources.hubspot_client import HubSpotConfig
from scheduler.sync import sync_sources
from tests.conftest import CLI, EXAMPLES
from tests.utils.store import example

AT = datetime(2027, 3, 1, 15, tzinfo=UTC)
WRONG = "xoxb-0000000000-0000000000-wrongwrongwrong"
LOOKUP = "users.lookupByEmail"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("ana@example.com", "ana", user_id="U0ANA")
        fake.add_user("ben@example.com", "ben", user_id="U0BEN")
        yield fake


def client(fake: FakeSlack, token: str | None = None) -> AsyncWebClient:
    settings = Settings(**{"SLACK_BOT_TOKEN": token or fake.token, "SLACK_API_URL": fake.url})
    return slack_client(settings, retry_interval=FixedValueRetryIntervalCalculator(0.01))


async def add(engine: AsyncEngine, *owners: Owner) -> None:
    async with session_scope(engine) as session:
        session.add_all(owners)


def owner(external_id: str, email: str | None, **fields: Any) -> Owner:
    return Owner(source=fields.pop("source", "crm"), external_id=external_id, email=email, **fields)


async def match(
    engine: AsyncEngine, fake: FakeSlack, at: datetime = AT, token: str | None = None
) -> MatchResult:
    async with session_scope(engine) as session:
        return await match_owners(session, client(fake, token), at=at)


async def stored(engine: AsyncEngine) -> dict[str, tuple[str | None, datetime | None]]:
    """External id -> (Slack user, when it was looked up)."""
    async with session_scope(engine) as session:
        rows = await session.exec(select(Owner).order_by(col(Owner.id)))
        return {o.external_id: (o.slack_user_id, o.slack_checked_at) for o in rows.all()}


def asked(fake: FakeSlack) -> list[str]:
    return [call.args["email"] for call in fake.calls_to(LOOKUP)]


async def test_an_owner_is_matched_by_email_and_kept(engine: AsyncEngine, slack: FakeSlack) -> None:
    await add(engine, owner("7", " Ana@Example.com"))
    result = await match(engine, slack)
    assert (result.looked_up, result.matched, result.not_found, result.error) == (1, 1, 0, None)
    assert result.summary() == "Slack: 1 owner matched"
    assert await stored(engine) == {"7": ("U0ANA", AT)}
    (call,) = slack.calls_to(LOOKUP)
    assert call.args == {"email": "ana@example.com"}
    assert call.headers["authorization"] == f"Bearer {slack.token}"
    # matched owners are not asked about again
    assert (await match(engine, slack, AT + timedelta(days=9))).summary() is None
    assert len(slack.calls) == 1


async def test_no_slack_user_is_remembered_for_a_day(engine: AsyncEngine, slack: FakeSlack) -> None:
    await add(engine, owner("9", "zoe@example.com"))
    result = await match(engine, slack)
    assert (result.looked_up, result.matched, result.not_found) == (1, 0, 1)
    assert result.summary() == "Slack: 0 owners matched, 1 with no Slack user"
    assert await stored(engine) == {"9": (None, AT)}

    later = AT + timedelta(hours=23, minutes=59)
    assert (await match(engine, slack, later)).looked_up == 0
    assert asked(slack) == ["zoe@example.com"]

    slack.add_user("zoe@example.com", "zoe", user_id="U0ZOE")  # she joined Slack meanwhile
    day = AT + timedelta(hours=24)
    assert (await match(engine, slack, day)).matched == 1
    assert asked(slack) == ["zoe@example.com", "zoe@example.com"]
    assert await stored(engine) == {"9": ("U0ZOE", day)}


async def test_a_rate_limit_is_waited_out(engine: AsyncEngine, slack: FakeSlack) -> None:
    await add(engine, owner("7", "ana@example.com"))
    slack.inject("rate_limited", times=1, method=LOOKUP, retry_after=1)
    result = await match(engine, slack)
    assert (result.matched, result.error) == (1, None)
    refused, retried = slack.calls_to(LOOKUP)
    assert (refused.status, refused.error, retried.status) == (429, "ratelimited", 200)
    assert retried.at - refused.at >= 1.0  # Retry-After: 1 was honoured
    assert await stored(engine) == {"7": ("U0ANA", AT)}


async def test_a_refused_token_stops_with_a_clear_error(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    await add(engine, owner("7", "ana@example.com"), owner("8", "ben@example.com"))
    result = await match(engine, slack, token=WRONG)
    assert result.error == (
        "Slack refused users.lookupByEmail: invalid_auth; "
        "check SLACK_BOT_TOKEN (the bot token of the installed app)"
    )
    assert (result.looked_up, result.left) == (0, 2)
    assert WRONG not in (result.summary() or "")
    assert len(slack.calls) == 1  # stopped at the first refusal
    assert await stored(engine) == {"7": (None, None), "8": (None, None)}  # asked again next time


async def test_a_missing_scope_is_named(engine: AsyncEngine, slack: FakeSlack) -> None:
    slack.scopes.discard("users:read.email")
    await add(engine, owner("7", "ana@example.com"))
    result = await match(engine, slack)
    assert result.error == (
        "Slack refused users.lookupByEmail: missing_scope; "
        "the Slack app needs the users:read.email scope (reinstall it after adding)"
    )


async def test_an_outage_keeps_what_was_found_before_it(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    def lookup_then_fail(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
        fake.inject("server_error", times=99, method=LOOKUP)  # from the next call on
        return users_lookup_by_email(fake, args)

    slack.handlers[LOOKUP] = lookup_then_fail
    await add(engine, owner("7", "ana@example.com"), owner("8", "ben@example.com"))
    result = await match(engine, slack)
    assert result.error == "Slack refused users.lookupByEmail: service_unavailable"
    assert (result.matched, result.left) == (1, 1)
    assert result.summary() == (
        "Slack users not matched: Slack refused users.lookupByEmail: service_unavailable "
        "(1 owner left for the next sync)"
    )
    assert [c.status for c in slack.calls] == [200] + [503] * (SERVER_ERROR_RETRIES + 1)
    assert await stored(engine) == {"7": ("U0ANA", AT), "8": (None, None)}


async def test_a_shared_email_is_looked_up_once(engine: AsyncEngine, slack: FakeSlack) -> None:
    await add(
        engine,
        owner("7", "ana@example.com"),
        owner("17", "ANA@example.com", source="other"),
        owner("9", "zoe@example.com"),
        owner("19", "zoe@example.com", source="other"),
    )
    result = await match(engine, slack)
    assert (result.looked_up, result.matched, result.not_found) == (2, 2, 2)
    assert sorted(asked(slack)) == ["ana@example.com", "zoe@example.com"]
    assert await stored(engine) == {
        "7": ("U0ANA", AT),
        "17": ("U0ANA", AT),
        "9": (None, AT),
        "19": (None, AT),
    }


async def test_an_email_matched_before_needs_no_lookup(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    await add(engine, owner("7", "ana@example.com", slack_user_id="U0ANA"))
    await add(engine, owner("17", "ana@example.com", source="other"))
    result = await match(engine, slack)
    assert (result.looked_up, result.matched) == (0, 1)
    assert slack.calls == []
    assert (await stored(engine))["17"] == ("U0ANA", AT)


async def test_archived_and_email_less_owners_are_skipped(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    await add(
        engine,
        owner("7", "ana@example.com", archived=True),
        owner("8", None),
        owner("9", ""),
        owner("10", "ben@example.com"),
    )
    result = await match(engine, slack)
    assert (result.looked_up, result.matched) == (1, 1)
    assert asked(slack) == ["ben@example.com"]
    assert (await stored(engine))["7"] == (None, None)


async def test_a_deactivated_member_or_a_bot_is_no_match(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    slack.add_user("old@example.com", "old", deleted=True)
    slack.add_user("robot@example.com", "robot", is_bot=True)
    await add(engine, owner("1", "old@example.com"), owner("2", "robot@example.com"))
    result = await match(engine, slack)
    assert (result.looked_up, result.matched, result.not_found) == (2, 0, 2)


async def test_unmatched_owners_are_the_active_ones_with_an_email(
    engine: AsyncEngine, slack: FakeSlack
) -> None:
    await add(
        engine,
        owner("1", "zoe@example.com", name="Zoe Park"),
        owner("2", "ana@example.com", slack_user_id="U0ANA"),
        owner("3", "old@example.com", archived=True),
        owner("4", None),
        owner("5", "bea@example.com", slack_checked_at=AT),
    )
    async with session_scope(engine) as session:
        found = await unmatched_owners(session)
    assert [(o.email, o.name) for o in found] == [
        ("bea@example.com", None),
        ("zoe@example.com", "Zoe Park"),
    ]


# --- within a HubSpot sync ---------------------------------------------------------------------


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(speed=50.0, limits=PortalLimits(None, None, None)) as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        fake.add_owner("9", "zoe@example.com", "Zoe", "Park")
        fake.add_owner("8", "ben@example.com", "Ben", "Okafor", archived=True)
        yield fake


def crm_agreement() -> Any:
    crm = HubspotSource(name="crm", kind="hubspot", stages={"leads": "lead"})
    return example().model_copy(update={"sources": [crm]})


async def test_a_hubspot_sync_matches_its_owners_when_given_slack(
    engine: AsyncEngine, slack: FakeSlack, portal: FakeHubSpot
) -> None:
    hub = HubSpotConfig(token=portal.token, base_url=portal.url)
    (plain,) = await sync_sources(engine, crm_agreement(), at=AT, hubspot=hub)
    assert (plain.status, plain.note) == ("ok", None)
    assert slack.calls == []  # no Slack client, no lookup

    (result,) = await sync_sources(engine, crm_agreement(), at=AT, hubspot=hub, slack=client(slack))
    assert result.status == "ok"
    assert result.note == "Slack: 1 owner matched, 1 with no Slack user"
    assert sorted(asked(slack)) == ["ana@example.com", "zoe@example.com"]  # not archived Ben
    assert await stored(engine) == {"7": ("U0ANA", AT), "9": (None, AT), "8": (None, None)}


async def test_slack_failing_does_not_fail_the_sync(
    engine: AsyncEngine, slack: FakeSlack, portal: FakeHubSpot
) -> None:
    hub = HubSpotConfig(token=portal.token, base_url=portal.url)
    (result,) = await sync_sources(
        engine, crm_agreement(), at=AT, hubspot=hub, slack=client(slack, WRONG)
    )
    assert (result.status, result.error) == ("ok", None)
    assert result.note is not None
    assert result.note.startswith("Slack users not matched: Slack refused users.lookupByEmail")
    assert WRONG not in result.note


# --- through the command line --------------------------------------------------------------------

CLI_AT = "2027-03-01T09:00:00-06:00"
CRM = "  - {name: crm, kind: hubspot, stages: {leads: lead, mqls: marketingqualifiedlead}}\n"


@pytest.fixture
def applied(cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, portal: FakeHubSpot) -> CLI:
    """The example agreement with a HubSpot source `crm`, applied, and HubSpot reachable."""
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    text = (EXAMPLES / "agreement.yaml").read_text().replace("sources:\n", "sources:\n" + CRM)
    (tmp_path / "agreement.yaml").write_text(text)
    assert cli("agreement", "apply", str(tmp_path / "agreement.yaml"), "--at", CLI_AT).code == 0
    monkeypatch.setenv("HUBSPOT_API_URL", portal.url)
    monkeypatch.setenv("HUBSPOT_TOKEN", portal.token)
    return cli


def test_sync_matches_owners_and_status_lists_the_rest(
    applied: CLI, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.url.rstrip("/"))  # no trailing slash: normalised
    synced = applied("sync", "--source", "crm", "--at", CLI_AT)
    assert synced.code == 0, synced.err
    assert "; Slack: 1 owner matched, 1 with no Slack user" in synced.out
    assert slack.token not in synced.out + synced.err

    status = applied("status", "--json", "--at", CLI_AT)
    assert status.code == 0, status.err
    assert json.loads(status.out)["unmatched_owners"] == [
        {"email": "zoe@example.com", "name": "Zoe Park"}
    ]
    text = applied("status", "--at", CLI_AT)
    assert text.code == 0, text.err
    assert "No Slack user for: zoe@example.com; add them to Slack or map them (admins)" in text.out


def test_without_a_slack_token_sync_asks_slack_nothing(applied: CLI, slack: FakeSlack) -> None:
    synced = applied("sync", "--source", "crm", "--at", CLI_AT)
    assert synced.code == 0, synced.err
    assert "Slack" not in synced.out
    assert slack.calls == []
    status = json.loads(applied("status", "--json", "--at", CLI_AT).out)
    assert [o["email"] for o in status["unmatched_owners"]] == [
        "ana@example.com",
        "zoe@example.com",
    ]


def test_a_refused_slack_token_is_a_note_not_a_failure(
    applied: CLI, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", WRONG)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    synced = applied("sync", "--source", "crm", "--json", "--at", CLI_AT)
    assert synced.code == 0, synced.err
    (crm,) = json.loads(synced.out)["sources"]
    assert crm["status"] == "ok"
    assert "invalid_auth; check SLACK_BOT_TOKEN" in crm["note"]
    assert WRONG not in synced.out + synced.err
