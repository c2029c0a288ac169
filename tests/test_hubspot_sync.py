"""Syncing a HubSpot source from the fake portal into the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import delete, func, select

from bot.sandbox.hubspot import FakeHubSpot
from models.agreement import Agreement, HubspotSource
from models.db import session_scope
from models.tables import Deal, Lead, LeadStage, Owner, SourceState
from scheduler.sources import hubspot
from scheduler.sources.hubspot_client import HubSpotConfig, SystemClock
from scheduler.sync import SourceResult, sync_sources
from tests.utils.store import example

SPEED = 50.0
AT = datetime(2027, 3, 1, 15, tzinfo=UTC)
T0 = datetime(2027, 1, 4, 15, tzinfo=UTC)
STAGES = {"leads": "lead", "mqls": "marketingqualifiedlead", "customers": "customer"}


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(speed=SPEED) as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        fake.add_owner("8", "ben@example.com", "Ben", "Okafor", archived=True)
        yield fake


def reach(fake: FakeHubSpot, **changes: Any) -> HubSpotConfig:
    clock = SystemClock(SPEED)
    return HubSpotConfig(token=fake.token, base_url=fake.url, clock=clock, **changes)


def agreement(stages: dict[str, str] | None = None) -> Agreement:
    crm = HubspotSource(name="crm", kind="hubspot", stages=STAGES if stages is None else stages)
    return example().model_copy(update={"sources": [crm]})


async def sync(
    engine: AsyncEngine,
    fake: FakeHubSpot,
    stages: dict[str, str] | None = None,
    config: HubSpotConfig | None = None,
) -> SourceResult:
    hub = config or reach(fake)
    (result,) = await sync_sources(engine, agreement(stages), at=AT, hubspot=hub)
    return result


def contact(fake: FakeHubSpot, n: int, **properties: Any) -> str:
    """A lead that became an MQL an hour later (odd ones), owned by Ana."""
    entered = T0 + timedelta(minutes=n)
    stages = {"hs_lifecyclestage_lead_date": entered}
    if n % 2:
        stages["hs_lifecyclestage_marketingqualifiedlead_date"] = entered + timedelta(hours=1)
    return fake.add_contact(**{"hubspot_owner_id": "7", **stages, **properties})


async def rows(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with session_scope(engine) as session:
        return list((await session.exec(statement)).all())


async def count(engine: AsyncEngine, table: Any) -> int:
    (n,) = await rows(engine, select(func.count()).select_from(table))
    return int(n)


async def snapshot(engine: AsyncEngine) -> dict[str, Any]:
    """Everything the sync stores, by natural keys (ids and sync instants left out)."""
    leads = await rows(
        engine, select(Lead.external_id, Lead.owner_email, Lead.stage, Lead.first_touch_at)
    )
    entries = await rows(
        engine,
        select(Lead.external_id, LeadStage.stage, LeadStage.entered_at).join(
            LeadStage, LeadStage.lead_id == Lead.id
        ),
    )
    deals = await rows(
        engine,
        select(Deal.external_id, Deal.amount, Deal.stage, Deal.owner_email, Deal.closed_won_at),
    )
    owners = await rows(engine, select(Owner.external_id, Owner.email, Owner.archived))
    (cursor,) = await rows(engine, select(SourceState.cursor))
    return {
        "leads": sorted(leads),
        "entries": sorted(entries),
        "deals": sorted(deals),
        "owners": sorted(owners),
        "cursor": cursor,
    }


async def test_contacts_deals_and_owners_are_stored(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    touched = T0 + timedelta(hours=3)
    one = contact(portal, 1, hs_sa_first_engagement_date=touched, notes_last_contacted=T0)
    two = contact(portal, 2, notes_last_contacted=touched, hubspot_owner_id="8")
    portal.add_contact(hs_lifecyclestage_subscriber_date=T0)  # no mapped stage: no lead
    won = portal.add_deal(
        amount="32000",
        hs_is_closed_won=True,
        closedate=T0,
        dealstage="closedwon",
        hubspot_owner_id="7",
        createdate=T0 - timedelta(days=30),
    )
    open_ = portal.add_deal(amount="1234.56789", hs_is_closed_won=False, dealstage="qualifiedtobuy")

    result = await sync(engine, portal)
    assert (result.status, result.error) == ("ok", None)
    assert (result.fetched, result.new, result.bad) == (5, 5, 0)  # 3 contacts, 2 deals read

    leads = {lead.external_id: lead for lead in await rows(engine, select(Lead))}
    assert set(leads) == {one, two}
    assert (leads[one].stage, leads[one].owner_email, leads[one].first_touch_at) == (
        "mqls",
        "ana@example.com",
        touched,
    )
    assert (leads[two].stage, leads[two].owner_email, leads[two].first_touch_at) == (
        "leads",
        "ben@example.com",  # an archived owner still names the lead's owner
        touched,
    )
    deals = {deal.external_id: deal for deal in await rows(engine, select(Deal))}
    assert (deals[won].amount, deals[won].closed_won_at, deals[won].owner_email) == (
        Decimal(32000),
        T0,
        "ana@example.com",
    )
    assert deals[won].created_at == T0 - timedelta(days=30) and deals[won].stage == "closedwon"
    assert (deals[open_].amount, deals[open_].closed_won_at) == (Decimal("1234.5679"), None)
    owners = await rows(engine, select(Owner.external_id, Owner.email, Owner.name, Owner.archived))
    assert sorted(owners) == [
        ("7", "ana@example.com", "Ana Lopez", False),
        ("8", "ben@example.com", "Ben Okafor", True),
    ]
    (state,) = await rows(engine, select(SourceState))
    assert (state.kind, state.last_success_at, state.fetched, state.stored) == ("hubspot", AT, 5, 5)
    assert (
        state.cursor["contacts"]["key"]
        == "customers=customer,leads=lead,mqls=marketingqualifiedlead"
    )

    again = await sync(engine, portal)
    assert (again.fetched, again.new, again.changed, again.unchanged) == (5, 0, 0, 5)


async def test_25000_contacts_then_only_what_changed(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    portal.limits.per_ten_seconds = None  # the client's own budget is what keeps it under
    ids = [contact(portal, n) for n in range(25_000)]
    first = await sync(engine, portal)
    assert (first.status, first.fetched, first.new, first.bad) == ("ok", 25_000, 37_500, 0)
    assert await count(engine, Lead) == 25_000
    assert await count(engine, LeadStage) == 37_500
    searches = portal.searches("contacts")
    assert len(searches) <= 127  # 200 a page, less the last instant of each page
    assert {s.status for s in portal.requests} == {200}

    portal.now += timedelta(hours=1)
    for lead_id in ids[:30]:
        portal.modify("contacts", lead_id, hs_sa_first_engagement_date=T0 + timedelta(days=1))
    before = len(portal.requests)
    second = await sync(engine, portal)
    assert second.status == "ok"
    # the 30 changed contacts, and the 601 changed in the 10 minutes before the cursor again
    assert (second.fetched, second.new, second.changed, second.unchanged) == (631, 0, 30, 917)
    assert len(portal.requests) - before == 10  # stages, owners x2, deals, archived x2: 6
    since = portal.searches("contacts")[len(searches)].filters[0]
    assert (since["propertyName"], since["operator"]) == ("lastmodifieddate", "GTE")
    last_change = datetime(2027, 1, 4, 12, tzinfo=UTC) + timedelta(seconds=24_999)
    assert int(since["value"]) == int((last_change - timedelta(minutes=10)).timestamp() * 1000)
    (touched,) = await rows(
        engine, select(func.count()).where(Lead.first_touch_at == T0 + timedelta(days=1))
    )
    assert touched == 30


@pytest.mark.parametrize("crash", ["store", "network"])
async def test_a_crash_then_a_resume_ends_with_the_same_store(
    engine: AsyncEngine, portal: FakeHubSpot, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    for n in range(1_500):
        contact(portal, n)
    for n in range(450):
        portal.add_deal(amount=str(100 + n), hs_is_closed_won=n % 3 == 0, closedate=T0)

    upserts = 0
    real = hubspot.upsert_leads

    async def failing(**kwargs: Any) -> Any:
        nonlocal upserts
        upserts += 1
        counts = await real(**kwargs)
        if upserts == 4:  # the fourth page is written, then the store fails before commit
            raise OSError("disk full")
        return counts

    if crash == "store":
        monkeypatch.setattr(hubspot, "upsert_leads", failing)
    else:
        portal.inject("status", times=10_000, status=503, path="/deals/search")
    broken = await sync(engine, portal, config=reach(portal, retry_for=10.0))
    assert broken.status == "failed"
    stored = await count(engine, Lead)
    if crash == "store":
        assert broken.error == "OSError: disk full"
        assert 0 < stored < 1_500 and stored == broken.fetched  # 3 pages, less their last instant
    else:
        assert broken.error is not None and "POST /crm/v3/objects/deals/search" in broken.error
        assert stored == 1_500 and await count(engine, Deal) == 0
    (state,) = await rows(engine, select(SourceState))
    assert state.last_error == broken.error and state.cursor is not None

    monkeypatch.undo()
    portal.clear_faults()
    resumed = await sync(engine, portal)
    assert resumed.status == "ok"
    after_resume = await snapshot(engine)

    async with session_scope(engine) as session:
        for table in (LeadStage, Lead, Deal, Owner, SourceState):
            await session.exec(delete(table))
    clean = await sync(engine, portal)
    assert clean.status == "ok" and clean.fetched == 1_950
    assert await snapshot(engine) == after_resume


async def test_more_records_at_one_instant_than_a_page(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    for n in range(450):
        contact(portal, n, modified=T0)  # one bulk import: every contact at the same instant
    for n in range(450, 700):
        contact(portal, n)
    result = await sync(engine, portal)
    assert (result.fetched, await count(engine, Lead)) == (700, 700)
    tied = [s for s in portal.searches("contacts") if s.filters[0]["operator"] == "EQ"]
    assert len(tied) == 3  # 450 read by id, 200 a page


async def test_custom_stages_mapped_by_id_or_label(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    portal.add_stage("1234567", "Trial")
    portal.add_stage("7654321", "Proposal sent")
    lead = portal.add_contact(
        hs_lifecyclestage_1234567_date=T0, hs_lifecyclestage_7654321_date=T0 + timedelta(days=2)
    )
    result = await sync(engine, portal, {"sqls": "1234567", "proposals": "proposal SENT"})
    assert result.status == "ok", result.error
    entries = await rows(engine, select(LeadStage.stage, LeadStage.entered_at))
    assert sorted(entries) == [("proposals", T0 + timedelta(days=2)), ("sqls", T0)]
    (asked,) = portal.searches("contacts")
    assert set(asked.body["properties"]) >= {
        "hs_lifecyclestage_1234567_date",
        "hs_lifecyclestage_7654321_date",
    }
    assert [lead] == await rows(engine, select(Lead.external_id))


async def test_a_stage_the_portal_lacks_fails_clearly(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    contact(portal, 1)
    result = await sync(engine, portal, {"leads": "lead", "mqls": "marketingqualified"})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(
        "source crm: stages.mqls: 'marketingqualified' is not a lifecycle stage of the HubSpot "
        "portal; did you mean 'marketingqualifiedlead'? (the portal's stages: subscriber "
        "(Subscriber), lead (Lead),"
    )
    assert await count(engine, Lead) == 0 and portal.searches() == []


async def test_a_new_stage_mapping_reads_every_contact_again(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    for n in range(5):
        contact(portal, n, hs_lifecyclestage_customer_date=T0 + timedelta(days=9))
    await sync(engine, portal, {"leads": "lead"})
    assert await count(engine, LeadStage) == 5
    result = await sync(engine, portal, {"leads": "lead", "customers": "customer"})
    assert (result.fetched, result.new, result.unchanged) == (5, 5, 5)
    assert portal.searches("contacts")[-1].filters[0]["value"] == "0"


async def test_archived_records_are_not_counted(engine: AsyncEngine, portal: FakeHubSpot) -> None:
    kept, gone, never = contact(portal, 1), contact(portal, 3), contact(portal, 5)
    deal = portal.add_deal(amount="10", hs_is_closed_won=True, closedate=T0)
    portal.archive("contacts", never)  # archived before any sync: never stored
    first = await sync(engine, portal)
    assert (first.fetched, first.note) == (3, None)
    portal.archive("contacts", gone)
    portal.archive("deals", deal)
    second = await sync(engine, portal)
    assert second.note == "removed 2 archived records"
    assert await rows(engine, select(Lead.external_id)) == [kept]
    assert await count(engine, LeadStage) == 2  # the archived lead's entries went with it
    assert await count(engine, Deal) == 0


async def test_a_search_result_without_an_id_is_counted_bad_and_the_rest_stored(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    """Nothing can be stored or paged by a result without an id; it must not vanish silently."""
    first, second, third = contact(portal, 1), contact(portal, 3), contact(portal, 5)
    portal.inject("no_id", path="contacts/search")
    result = await sync(engine, portal)
    assert (result.status, result.fetched, result.bad) == ("ok", 3, 1)
    (bad,) = result.bad_rows
    assert (bad.field, bad.message) == ("id", "a search result without an id (skipped)")
    assert sorted(await rows(engine, select(Lead.external_id))) == sorted([second, third])
    again = await sync(engine, portal)  # the next sync reads it whole
    assert again.bad == 0
    assert sorted(await rows(engine, select(Lead.external_id))) == sorted([first, second, third])


async def test_missing_and_malformed_values_are_counted_not_fatal(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    good = contact(portal, 1)
    odd = contact(
        portal,
        3,
        hubspot_owner_id="99",
        hs_sa_first_engagement_date="yesterday",
        notes_last_contacted="99999999999999999999",  # epoch ms past any calendar
    )
    portal.modify("contacts", odd, hs_lifecyclestage_marketingqualifiedlead_date="2027-13-01")
    portal.add_deal(amount="12k", hs_is_closed_won=True, closedate=T0)
    portal.add_deal(amount=None, hs_is_closed_won=True, closedate=T0)
    portal.add_deal(amount="5", hs_is_closed_won=True)
    portal.add_deal(amount="5", hs_is_closed_won="maybe")
    fine = portal.add_deal(amount="7.5", hs_is_closed_won=False, closedate="soon")
    huge = portal.add_deal(amount="1e30")

    result = await sync(engine, portal)
    assert result.status == "ok"
    assert (result.fetched, result.bad) == (8, 7)
    problems = sorted((b.record, b.field, b.message) for b in result.bad_rows)
    assert problems == sorted(
        [
            (f"contact {odd}", "hubspot_owner_id", "'99' is not an owner with an email"),
            (f"contact {odd}", "hs_sa_first_engagement_date", "'yesterday' is not a date and time"),
            (
                f"contact {odd}",
                "notes_last_contacted",
                "'99999999999999999999' is not a date and time",
            ),
            (
                f"contact {odd}",
                "hs_lifecyclestage_marketingqualifiedlead_date",
                "'2027-13-01' is not a date and time",
            ),
            ("deal 101", "amount", "'12k' is not an amount"),
            ("deal 102", "amount", "a won deal without an amount (stored as 0)"),
            ("deal 103", "closedate", "a won deal without a close date"),
            ("deal 104", "hs_is_closed_won", "'maybe' is not true or false"),
            (f"deal {fine}", "closedate", "'soon' is not a date and time"),
            (f"deal {huge}", "amount", "'1e30' is too large for an amount"),
        ]
    )
    assert result.bad_rows[0].render("crm").startswith(f"crm: contact {odd}: ")
    leads = {lead.external_id: lead for lead in await rows(engine, select(Lead))}
    assert set(leads) == {good, odd}
    assert (leads[odd].owner_email, leads[odd].first_touch_at, leads[odd].stage) == (
        None,
        None,
        "leads",  # the malformed MQL date is left out, the lead date kept
    )
    deals = sorted(await rows(engine, select(Deal.external_id, Deal.amount)))
    assert deals == [("102", Decimal(0)), (fine, Decimal("7.5"))]


async def test_a_daily_limit_stops_the_sync_and_keeps_what_it_got(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    for n in range(450):
        contact(portal, n)
    portal.limits.daily = 5  # stages, owners x2, two pages of contacts
    result = await sync(engine, portal)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith(
        "HubSpot's daily request limit is used up (POST /crm/v3/objects/contacts/search"
    )
    assert await count(engine, Lead) == result.fetched == 398  # two pages, less their last instant
    portal.limits.daily = None
    assert (await sync(engine, portal)).status == "ok"
    assert await count(engine, Lead) == 450


async def test_without_settings_the_hubspot_source_fails_and_the_others_sync(
    engine: AsyncEngine,
) -> None:
    crm = HubspotSource(name="crm", kind="hubspot", stages=STAGES)
    csv = example()
    both = csv.model_copy(update={"sources": [crm, *csv.sources]})
    results = await sync_sources(engine, both, at=AT)
    assert [(r.name, r.status) for r in results] == [
        ("crm", "failed"),
        ("traffic", "ok"),
        ("sheet", "ok"),
        ("deals", "ok"),
    ]
    assert results[0].error is not None and results[0].error.startswith("HUBSPOT_TOKEN is not set")
    (state,) = await rows(engine, select(SourceState).where(SourceState.name == "crm"))
    assert (state.kind, state.last_error, state.last_success_at) == (
        "hubspot",
        results[0].error,
        None,
    )


async def test_the_accounts_ten_second_budget_comes_from_the_agreement(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    portal.limits.per_ten_seconds = 20  # a small portal: a 429 if the client sent more
    for n in range(2_000):
        contact(portal, n)
    crm = HubspotSource(name="crm", kind="hubspot", stages=STAGES, requests_per_ten_seconds=20)
    small = example().model_copy(update={"sources": [crm]})
    (result,) = await sync_sources(engine, small, at=AT, hubspot=reach(portal))
    assert (result.status, result.fetched) == ("ok", 2_000)
    assert {s.status for s in portal.requests} == {200}  # never over the portal's budget
    times = sorted(s.at for s in portal.requests)
    busiest = max(sum(1 for t in times if start <= t < start + 10) for start in times)
    assert busiest <= 18  # 90% of the account's 20
