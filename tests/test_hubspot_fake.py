"""The fake HubSpot itself: it filters, sorts, pages, caps, limits and fails as HubSpot does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.sandbox.hubspot import TOKEN, FakeHubSpot, PortalLimits
from bot.sandbox.hubspot_search import epoch_ms

T0 = datetime(2027, 1, 4, 12, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(limits=PortalLimits(None, None, None)) as fake:
        yield fake


def search(fake: FakeHubSpot, kind: str = "contacts", **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.url}/crm/v3/objects/{kind}/search", json=body, headers=AUTH)


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [int(r["id"]) for r in response.json()["results"]]


def five(fake: FakeHubSpot) -> list[int]:
    """Contacts 101..105 with amounts of time to first engagement and a stage date on some."""
    for n in range(5):
        fake.add_contact(
            hs_time_to_first_engagement=n * 10,
            hs_lead_status="NEW" if n % 2 else "OPEN",
            hs_lifecyclestage_lead_date=T0 + timedelta(days=n) if n != 2 else None,
        )
    return list(range(101, 106))


def where(*filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"filters": list(filters)}]


def flt(name: str, operator: str, value: Any = None, **more: Any) -> dict[str, Any]:
    body = {"propertyName": name, "operator": operator, **more}
    if value is not None:
        body["value"] = value
    return body


DAY2 = str(epoch_ms(T0 + timedelta(days=2)))
DAY3 = str(epoch_ms(T0 + timedelta(days=3)))


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        (flt("hs_time_to_first_engagement", "EQ", "20"), [103]),
        (flt("hs_time_to_first_engagement", "NEQ", "20"), [101, 102, 104, 105]),
        (flt("hs_time_to_first_engagement", "GT", "20"), [104, 105]),
        (flt("hs_time_to_first_engagement", "GTE", "20"), [103, 104, 105]),
        (flt("hs_time_to_first_engagement", "LT", "20"), [101, 102]),
        (flt("hs_time_to_first_engagement", "LTE", "20"), [101, 102, 103]),
        (flt("hs_time_to_first_engagement", "BETWEEN", "10", highValue="30"), [102, 103, 104]),
        (flt("hs_lead_status", "IN", values=["new"]), [102, 104]),
        (flt("hs_lead_status", "NOT_IN", values=["NEW"]), [101, 103, 105]),
        (flt("hs_lifecyclestage_lead_date", "HAS_PROPERTY"), [101, 102, 104, 105]),
        (flt("hs_lifecyclestage_lead_date", "NOT_HAS_PROPERTY"), [103]),
        (flt("hs_lifecyclestage_lead_date", "GTE", DAY2), [104, 105]),  # epoch ms
        (flt("hs_lifecyclestage_lead_date", "BETWEEN", DAY2, highValue=DAY3), [104]),
    ],
)
def test_each_operator(portal: FakeHubSpot, filter_: dict[str, Any], expected: list[int]) -> None:
    five(portal)
    assert ids(search(portal, filterGroups=where(filter_))) == expected


def test_filters_in_a_group_are_anded_and_groups_ored(portal: FakeHubSpot) -> None:
    five(portal)
    both = where(flt("hs_lead_status", "EQ", "OPEN"), flt("hs_time_to_first_engagement", "GT", "0"))
    assert ids(search(portal, filterGroups=both)) == [103, 105]
    either = [*both, {"filters": [flt("hs_object_id", "EQ", "101")]}]
    assert ids(search(portal, filterGroups=either)) == [101, 103, 105]


def test_properties_sorts_and_values_as_text(portal: FakeHubSpot) -> None:
    five(portal)
    response = search(
        portal,
        properties=["hs_time_to_first_engagement", "hs_lifecyclestage_lead_date", "nothing"],
        sorts=[{"propertyName": "hs_time_to_first_engagement", "direction": "DESCENDING"}],
        limit=2,
    )
    assert ids(response) == [105, 104]
    first = response.json()["results"][0]
    assert first["properties"] == {
        "createdate": first["properties"]["createdate"],
        "hs_object_id": "105",
        "lastmodifieddate": first["properties"]["lastmodifieddate"],
        "hs_time_to_first_engagement": "40",
        "hs_lifecyclestage_lead_date": "2027-01-08T12:00:00.000Z",
        "nothing": None,
    }
    assert first["archived"] is False and first["updatedAt"].endswith("Z")


def test_paging_with_after_and_no_paging_on_the_last_page(portal: FakeHubSpot) -> None:
    for _ in range(5):
        portal.add_contact()
    first = search(portal, limit=2)
    assert first.json()["total"] == 5 and first.json()["paging"]["next"]["after"] == "2"
    assert ids(search(portal, limit=2, after="2")) == [103, 104]
    last = search(portal, limit=2, after="4")
    assert ids(last) == [105] and "paging" not in last.json()


def test_limit_over_200_and_bad_filters_are_400s(portal: FakeHubSpot) -> None:
    response = search(portal, limit=201)
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["category"]) == ("error", "VALIDATION_ERROR")
    assert "200" in body["message"] and body["correlationId"]
    assert search(portal, filterGroups=where(flt("x", "LIKE", "1"))).status_code == 400
    assert search(portal, filterGroups=where(flt("closedate", "GT", "soon"))).status_code == 400
    six = [{"filters": [flt("hs_object_id", "GT", "1")]}] * 6
    assert search(portal, filterGroups=six).status_code == 400


def test_no_page_past_the_10000th_result(portal: FakeHubSpot) -> None:
    for _ in range(10_050):
        portal.add_contact()
    page = search(portal, limit=200, after="9800")
    assert len(ids(page)) == 200
    assert page.json()["total"] == 10_050
    assert page.json()["paging"]["next"]["after"] == "10000"
    past = search(portal, limit=200, after="10000")
    assert past.status_code == 400
    assert "10000" in past.json()["message"]


def test_ties_come_in_no_particular_order(portal: FakeHubSpot) -> None:
    for _ in range(30):
        portal.add_contact(modified=T0)
    sort = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    found = ids(search(portal, sorts=sort, limit=30))
    assert sorted(found) == list(range(101, 131)) and found != sorted(found)


def test_auth(portal: FakeHubSpot) -> None:
    for headers in ({}, {"Authorization": "Bearer pat-na1-wrong"}):
        response = httpx.get(f"{portal.url}/crm/v3/owners", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")


def test_owners_stages_pipelines_and_archived(portal: FakeHubSpot) -> None:
    portal.add_owner("7", "ana@example.com", "Ana", "Lopez")
    portal.add_owner("8", "ben@example.com", archived=True)
    portal.add_stage("1234567", "Trial")
    kept, gone = portal.add_contact(), portal.add_contact()
    portal.archive("contacts", gone)

    def get(path: str, **params: str) -> Any:
        response = httpx.get(f"{portal.url}{path}", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()

    assert [o["email"] for o in get("/crm/v3/owners", limit="100")["results"]] == [
        "ana@example.com"
    ]
    archived = get("/crm/v3/owners", archived="true")["results"]
    assert [(o["id"], o["archived"]) for o in archived] == [("8", True)]
    options = get("/crm/v3/properties/contacts/lifecyclestage")["options"]
    assert options[-1] == {"label": "Trial", "value": "1234567", "displayOrder": 8, "hidden": False}
    (pipeline,) = get("/crm/v3/pipelines/deals")["results"]
    assert "closedwon" in [s["id"] for s in pipeline["stages"]]
    assert ids(search(portal)) == [int(kept)]
    listed = get("/crm/v3/objects/contacts", archived="true", limit="100")["results"]
    assert [(r["id"], r["archived"], "archivedAt" in r) for r in listed] == [(gone, True, True)]


def test_modify_bumps_the_modification_date(portal: FakeHubSpot) -> None:
    contact = portal.add_contact(hs_lead_status="NEW")
    before = portal.record("contacts", contact).properties["lastmodifieddate"]
    portal.modify("contacts", contact, hs_lead_status="OPEN")
    after = portal.record("contacts", contact).properties["lastmodifieddate"]
    assert before is not None and after is not None and after > before
    changed = flt("lastmodifieddate", "GT", str(epoch_ms(T0)))
    assert ids(search(portal, filterGroups=where(changed))) == [int(contact)]


@pytest.mark.parametrize(
    ("limits", "requests", "policy"),
    [
        (PortalLimits(search_per_second=5, per_ten_seconds=None), 6, "SECONDLY"),
        (PortalLimits(search_per_second=None, per_ten_seconds=3), 4, "TEN_SECONDLY_ROLLING"),
        (PortalLimits(search_per_second=None, per_ten_seconds=None, daily=2), 3, "DAILY"),
    ],
)
def test_rate_limits_answer_429_with_hubspots_body(
    portal: FakeHubSpot, limits: PortalLimits, requests: int, policy: str
) -> None:
    portal.limits = limits
    statuses = [search(portal).status_code for _ in range(requests)]
    assert statuses == [200] * (requests - 1) + [429]
    body = search(portal).json()
    assert set(body) == {"status", "message", "errorType", "correlationId", "policyName"}
    assert (body["status"], body["errorType"], body["policyName"]) == (
        "error",
        "RATE_LIMIT",
        policy,
    )
    assert (
        body["message"]
        == {
            "SECONDLY": "You have reached your secondly limit.",
            "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
            "DAILY": "You have reached your daily limit.",
        }[policy]
    )


def test_injected_faults_and_the_request_log(portal: FakeHubSpot) -> None:
    portal.inject("status", status=502, path="/search")
    portal.inject("malformed")
    portal.inject("rate_limit", policy="TEN_SECONDLY_ROLLING")
    assert search(portal).status_code == 502
    broken = search(portal)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert search(portal).json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert search(portal).status_code == 200
    assert [s.status for s in portal.searches("contacts")] == [502, 200, 429, 200]
    assert portal.requests[0].body == {}
