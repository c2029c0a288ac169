"""HubSpot failing in the middle of a sync: a 429 of each policy, 5xx answers, malformed JSON,
answers too slow to wait for, and the daily limit. A fault that passes is retried and the sync
stores exactly what an undisturbed sync stores; one that lasts fails the source with a cause
naming the endpoint, keeps the pages committed before it (with their cursor), and the next
sync resumes there and ends with the same store as an undisturbed one.

(The client's own handling of each fault, request by request, is in test_hubspot_client.py;
missing and malformed property values in test_hubspot_sync.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import delete, select

from bot.sandbox.hubspot import FakeHubSpot
from models.db import session_scope
from models.tables import Deal, Lead, LeadStage, Owner, SourceState
from scheduler.sources.hubspot import OVERLAP
from scheduler.sync import SourceResult
from tests.test_hubspot_sync import SPEED, T0, contact, count, reach, rows, snapshot, sync

CONTACTS, DEALS = 650, 40  # four pages of contacts, one of deals
SEARCH = "/crm/v3/objects/contacts/search"
FAULTED_PAGE = 3  # the contacts search that meets the fault
PER_PAGE = 199  # a page of 200 stores all but its last instant's record (read with the next)
BEFORE_FAULT = PER_PAGE * (FAULTED_PAGE - 1)


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(speed=SPEED) as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        fake.step = timedelta(minutes=1)  # a change a minute: the 10-minute overlap is 10 records
        for n in range(CONTACTS):
            odd = {"hs_sa_first_engagement_date": "yesterday"} if n == 450 else {}
            contact(fake, n, **odd)  # one malformed value, on the faulted page
        for n in range(DEALS):
            amount = None if n == 4 else str(1000 + n)  # a won deal without an amount
            fake.add_deal(amount=amount, hs_is_closed_won=n % 4 == 0, closedate=T0)
        yield fake


def fault_at_search(portal: FakeHubSpot, number: int, kind: str, **details: Any) -> None:
    """Serve `kind` from the `number`-th contacts search on (`times` of them, in `details`)."""
    answer, seen = portal._answer, 0

    def counting(method: str, path: str, query: Any, body: Any, auth: str | None) -> Any:
        nonlocal seen
        if path == SEARCH:
            seen += 1
            if seen == number:
                portal.inject(kind, path=SEARCH, **details)
        return answer(method, path, query, body, auth)

    portal._answer = counting  # type: ignore[method-assign]  # `handle` calls it per request


async def undisturbed(engine: AsyncEngine, portal: FakeHubSpot) -> dict[str, Any]:
    """What a sync from an empty store, with no fault, stores."""
    async with session_scope(engine) as session:
        for table in (LeadStage, Lead, Deal, Owner, SourceState):
            await session.exec(delete(table))
    portal.clear_faults()
    clean = await sync(engine, portal)
    assert (clean.status, clean.fetched, clean.bad) == ("ok", CONTACTS + DEALS, 2)
    return await snapshot(engine)


TRANSIENT: dict[str, tuple[str, dict[str, Any]]] = {
    "429 SECONDLY": ("rate_limit", {"policy": "SECONDLY", "times": 1}),
    "429 TEN_SECONDLY_ROLLING": ("rate_limit", {"policy": "TEN_SECONDLY_ROLLING", "times": 1}),
    "500": ("status", {"status": 500, "times": 2}),
    "503": ("status", {"status": 503, "times": 2}),
    "malformed JSON": ("malformed", {"times": 2}),
    "time-out": ("slow", {"seconds": 0.5, "times": 2}),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
async def test_a_passing_fault_mid_sync_is_retried_and_changes_nothing(
    engine: AsyncEngine, portal: FakeHubSpot, name: str
) -> None:
    kind, details = TRANSIENT[name]
    fault_at_search(portal, FAULTED_PAGE, kind, **details)
    result = await sync(engine, portal, config=reach(portal, timeout=0.2))
    assert (result.status, result.error) == ("ok", None)
    assert (result.fetched, result.new, result.bad) == (CONTACTS + DEALS, 1015, 2)  # counted once
    searches = portal.searches("contacts")
    times = int(details["times"])
    faulted = searches[FAULTED_PAGE - 1 : FAULTED_PAGE + times]
    assert len({str(s.body) for s in faulted}) == 1  # the same request, asked again
    if kind == "rate_limit":  # waited the policy's window before asking again
        window = 1.0 if details["policy"] == "SECONDLY" else 10.0
        assert [s.status for s in faulted] == [429, 200]
        assert faulted[1].at - faulted[0].at >= window
    elif kind == "status":
        assert [s.status for s in faulted] == [details["status"]] * times + [200]
    stored = await snapshot(engine)
    assert stored == await undisturbed(engine, portal)


LASTING: dict[str, tuple[tuple[str, dict[str, Any]], str, str]] = {
    "503": (
        ("status", {"status": 503, "times": 10_000}),
        f"HubSpot POST {SEARCH} failed",
        "(last: 503 Service Unavailable); giving up, try again later",
    ),
    "malformed JSON": (
        ("malformed", {"times": 10_000}),
        f"HubSpot POST {SEARCH} failed",
        "(last: 200 with malformed JSON); giving up, try again later",
    ),
    "429 DAILY": (
        ("rate_limit", {"policy": "DAILY", "times": 10_000}),
        f"HubSpot's daily request limit is used up (POST {SEARCH} answered 429 DAILY)",
        "resumes from where it got to once the limit resets",
    ),
}


@pytest.mark.parametrize("name", list(LASTING))
async def test_a_lasting_fault_keeps_the_pages_before_it_and_the_next_sync_resumes(
    engine: AsyncEngine, portal: FakeHubSpot, name: str
) -> None:
    (kind, details), starts, ends = LASTING[name]
    fault_at_search(portal, FAULTED_PAGE, kind, **details)
    broken = await sync(engine, portal, config=reach(portal, retry_for=10.0))
    assert broken.status == "failed" and broken.error is not None
    assert broken.error.startswith(starts) and broken.error.endswith(ends)
    await _kept_the_pages_before_the_fault(engine, broken)

    resumed = await _resume(engine, portal)
    assert resumed.status == "ok"
    assert await snapshot(engine) == await undisturbed(engine, portal)


async def test_the_daily_limit_hit_mid_sync_waits_for_the_reset_then_resumes(
    engine: AsyncEngine, portal: FakeHubSpot
) -> None:
    portal.limits.daily = 3 + FAULTED_PAGE - 1  # stages, owners twice, two pages of contacts
    broken = await sync(engine, portal)
    assert broken.status == "failed" and broken.error is not None
    assert broken.error.startswith(f"HubSpot's daily request limit is used up (POST {SEARCH}")
    await _kept_the_pages_before_the_fault(engine, broken)
    kept = await snapshot(engine)

    asked = len(portal.requests)
    still = await sync(engine, portal)  # the same day: stops at its first request
    assert still.status == "failed" and still.error is not None and "daily" in still.error
    assert len(portal.requests) == asked + 1 and await snapshot(engine) == kept

    portal.limits.daily = None  # the limit resets at midnight
    resumed = await _resume(engine, portal)
    assert resumed.status == "ok"
    assert await snapshot(engine) == await undisturbed(engine, portal)


async def _kept_the_pages_before_the_fault(engine: AsyncEngine, broken: SourceResult) -> None:
    """The pages before the faulted one are stored with the cursor after them; nothing of the
    faulted page, no deals, and the source's health says why."""
    assert broken.fetched == BEFORE_FAULT == await count(engine, Lead)
    assert await count(engine, Deal) == 0
    (state,) = await rows(engine, select(SourceState))
    assert (state.last_error, state.last_success_at) == (broken.error, None)
    since = state.cursor["contacts"]["since"]
    assert since == _ms(_modified(_start(), BEFORE_FAULT + 1))  # the first record not stored
    assert set(state.cursor) == {"contacts"}


async def _resume(engine: AsyncEngine, portal: FakeHubSpot) -> SourceResult:
    """The next sync, from the cursor less the overlap: only what it had not stored, again."""
    portal.clear_faults()
    before = len(portal.searches("contacts"))
    resumed = await sync(engine, portal)
    (first, *_) = portal.searches("contacts")[before:]
    (state,) = await rows(engine, select(SourceState))
    start = int(first.filters[0]["value"])
    assert start == _ms(_modified(_start(), BEFORE_FAULT + 1)) - _ms_span(OVERLAP)
    overlap = int(OVERLAP / timedelta(minutes=1))
    assert resumed.fetched == CONTACTS - (BEFORE_FAULT + 1 - overlap) + 1 + DEALS
    assert state.last_success_at is not None
    return resumed


def _start() -> datetime:
    return datetime(2027, 1, 4, 12, tzinfo=UTC)  # the fake portal's first modification instant


def _modified(start: datetime, number: int) -> datetime:
    """When the `number`-th record added (from 1) was modified: one a minute from `start`."""
    return start + timedelta(minutes=number - 1)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _ms_span(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)
