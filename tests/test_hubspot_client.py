"""The async HubSpot client against the fake server: endpoints, paging, limits, retries, give-up."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.sandbox.hubspot import FakeHubSpot, PortalLimits, Seen
from scheduler.sources.hubspot_client import (
    Filter,
    HubSpotClient,
    HubSpotConfig,
    HubSpotDailyLimit,
    HubSpotError,
    HubSpotRefused,
    HubSpotUnavailable,
    Limits,
    Sort,
    SystemClock,
)

SPEED = 50.0  # the fake and the client agree that time runs this much faster
SEARCH = "POST /crm/v3/objects/contacts/search"


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(speed=SPEED) as fake:
        yield fake


def config(fake: FakeHubSpot, **changes: Any) -> HubSpotConfig:
    settings: dict[str, Any] = {
        "token": fake.token,
        "base_url": fake.url,
        "clock": SystemClock(fake.speed),
        "timeout": 2.0,
        "random": lambda: 0.5,
    }
    return HubSpotConfig(**{**settings, **changes})


@dataclass
class StepClock:
    """A clock whose sleeps take no real time: they only move `now` and are recorded."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def all_ids(client: HubSpotClient, **kwargs: Any) -> list[str]:
    return [r.id async for page in client.search("contacts", **kwargs) for r in page.records]


async def test_owners_stages_and_pipelines(portal: FakeHubSpot) -> None:
    for n in range(620):  # more than a page of 500
        portal.add_owner(str(n), f"rep{n}@example.com", "Rep", str(n), archived=n == 3)
    portal.add_stage("1234567", "Trial", hidden=True)
    async with HubSpotClient(config(portal)) as client:
        owners = await client.owners()
        archived = await client.owners(archived=True)
        stages = await client.lifecycle_stages()
        (pipeline,) = await client.deal_pipelines()
    assert len(owners) == 619 and owners[0].email == "rep0@example.com"
    assert owners[0].name == "Rep 0"
    assert [(o.id, o.archived) for o in archived] == [("3", True)]
    assert [s.id for s in stages][:3] == ["subscriber", "lead", "marketingqualifiedlead"]
    assert (stages[-1].id, stages[-1].label, stages[-1].hidden) == ("1234567", "Trial", True)
    won = next(s for s in pipeline.stages if s.id == "closedwon")
    assert (pipeline.id, won.closed, won.probability) == ("default", True, 1.0)


async def test_search_pages_past_10000_by_id_without_losing_or_repeating(
    portal: FakeHubSpot,
) -> None:
    portal.limits = PortalLimits(None, None)
    for n in range(10_450):
        portal.add_contact(hs_lead_status="OPEN" if n % 50 else "NEW")
    wanted = [[Filter("hs_lead_status", "EQ", "OPEN")]]
    async with HubSpotClient(config(portal, limits=Limits(1000, 10_000))) as client:
        found = await all_ids(client, filter_groups=wanted, properties=["hs_lead_status"])
    assert len(found) == len(set(found)) == 10_241  # more than one query may page through
    assert all(s.status == 200 for s in portal.searches())
    assert len(portal.searches()) == 52  # 10,241 / 200, rounded up
    assert all(not (s.body or {}).get("after") for s in portal.searches())  # keyset by id


async def test_another_sort_stops_at_the_cap_with_a_clear_error(portal: FakeHubSpot) -> None:
    portal.limits = PortalLimits(None, None)
    for _ in range(10_201):
        portal.add_contact()
    async with HubSpotClient(config(portal, limits=Limits(1000, 10_000))) as client:
        with pytest.raises(HubSpotError) as caught:
            await all_ids(client, filter_groups=[], properties=[], sorts=[Sort("createdate", True)])
    assert "more than 10,000 results" in str(caught.value)
    assert all(s.status == 200 for s in portal.searches())  # it never asked past the cap


@pytest.mark.parametrize("policy", ["SECONDLY", "TEN_SECONDLY_ROLLING"])
async def test_a_429_waits_its_window_and_retries_the_same_request(
    portal: FakeHubSpot, policy: str
) -> None:
    portal.add_contact()
    portal.inject("rate_limit", policy=policy)
    async with HubSpotClient(config(portal)) as client:
        page = await client.search_page("contacts", [], ["email"])
    assert [r.id for r in page.records] == ["101"]
    first, second = portal.searches()
    assert (first.status, second.status, first.body) == (429, 200, second.body)
    window = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}[policy]
    assert second.at - first.at >= window


async def test_a_daily_429_stops_at_once(portal: FakeHubSpot) -> None:
    portal.limits.daily = 0
    async with HubSpotClient(config(portal)) as client:
        with pytest.raises(HubSpotDailyLimit) as caught:
            await client.search_page("contacts", [], [])
    assert "daily request limit is used up" in str(caught.value) and SEARCH in str(caught.value)
    assert len(portal.requests) == 1


@pytest.mark.parametrize(
    ("fault", "details"),
    [
        ("status", {"status": 500}),
        ("status", {"status": 503}),
        ("malformed", {}),
        ("slow", {"seconds": 0.6}),  # longer than the client's time-out
    ],
)
async def test_transient_failures_are_retried(
    portal: FakeHubSpot, fault: str, details: dict[str, Any]
) -> None:
    portal.add_contact()
    portal.inject(fault, times=2, **details)
    async with HubSpotClient(config(portal, timeout=0.2)) as client:
        page = await client.search_page("contacts", [], [])
        assert client.requests == 3
    assert [r.id for r in page.records] == ["101"]
    assert len(portal.searches()) == 3


async def test_backoff_is_exponential_jittered_and_bounded() -> None:
    with FakeHubSpot(limits=PortalLimits(None, None)) as portal:
        portal.inject("status", times=1000, status=503)
        clock = StepClock()
        settings = config(portal, clock=clock, retry_for=60.0, random=lambda: 0.0)
        async with HubSpotClient(settings) as client:
            with pytest.raises(HubSpotUnavailable) as caught:
                await client.search_page("contacts", [], [])
    # equal jitter with the random part at 0: half of 0.5 s, doubling, capped at half of 30 s
    assert clock.slept == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert sum(clock.slept) <= 60
    message = str(caught.value)
    assert message.startswith(f"HubSpot {SEARCH} failed 9 times in 46 s")
    assert "503 Service Unavailable" in message and portal.token not in message
    assert len(portal.searches()) == 9


async def test_jitter_spreads_the_waits() -> None:
    with FakeHubSpot(limits=PortalLimits(None, None)) as portal:
        portal.inject("status", times=3, status=502)
        portal.add_contact()
        clock = StepClock()
        draws = iter([0.0, 1.0, 0.5])
        settings = config(portal, clock=clock, random=lambda: next(draws))
        async with HubSpotClient(settings) as client:
            await client.search_page("contacts", [], [])
    assert clock.slept == [0.25, 1.0, 1.5]  # half a step for sure, the other half at random


async def test_a_refused_token_is_not_retried_and_never_shown(portal: FakeHubSpot) -> None:
    secret = "pat-na1-99999999-dead-beef-0000-000000000000"
    async with HubSpotClient(config(portal, token=secret)) as client:
        with pytest.raises(HubSpotRefused) as caught:
            await client.owners()
    message = str(caught.value)
    assert caught.value.status == 401
    assert message.startswith("HubSpot refused GET /crm/v3/owners with 401: Authentication")
    assert "check HUBSPOT_TOKEN" in message
    assert secret not in message and secret not in repr(config(portal, token=secret))
    assert len(portal.requests) == 1


async def test_a_bad_request_names_the_endpoint(portal: FakeHubSpot) -> None:
    async with HubSpotClient(config(portal)) as client:
        with pytest.raises(HubSpotRefused) as caught:
            await client.search_page("contacts", [[Filter("closedate", "GT", "soon")]], [])
    assert str(caught.value).startswith(f"HubSpot refused {SEARCH} with 400: ")


async def test_an_unreachable_server_gives_up_with_the_endpoint() -> None:
    with FakeHubSpot() as portal:
        url = portal.url
    clock = StepClock()
    settings = HubSpotConfig(token="pat-na1-x", base_url=url, clock=clock, retry_for=5)
    async with HubSpotClient(settings) as client:
        with pytest.raises(HubSpotUnavailable) as caught:
            await client.lifecycle_stages()
    assert "GET /crm/v3/properties/contacts/lifecyclestage" in str(caught.value)
    assert "cannot connect (ConnectError)" in str(caught.value)


def per_window(seen: list[Seen], seconds: float) -> int:
    """The most requests of `seen` inside any window of `seconds` (rolling)."""
    times = sorted(s.at for s in seen)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_the_limiter_keeps_search_under_five_a_second() -> None:
    with FakeHubSpot(speed=10.0) as portal:  # HubSpot's limits: 5 searches/s, 100 per 10 s
        for _ in range(10):
            portal.add_contact()
        async with HubSpotClient(config(portal)) as client:
            await asyncio.gather(
                *(client.search_page("contacts", [], [], limit=1) for _ in range(30))
            )
        searches = portal.searches()
    assert [s.status for s in searches] == [200] * 30
    assert per_window(searches, 1.0) <= 5
    assert max(Counter(int(s.at) for s in searches).values()) <= 5


async def test_the_limiter_keeps_the_ten_second_budget() -> None:
    limits = PortalLimits(search_per_second=None, per_ten_seconds=40)
    with FakeHubSpot(speed=50.0, limits=limits) as portal:
        async with HubSpotClient(config(portal, limits=Limits(per_ten_seconds=36))) as client:
            await asyncio.gather(*(client.lifecycle_stages() for _ in range(80)))
        seen = portal.requests
    assert [s.status for s in seen] == [200] * 80
    assert per_window(seen, 10.0) <= 36
    assert seen[-1].at - seen[0].at >= 20  # 80 requests at 36 per 10 s take two windows
