"""An async HubSpot CRM client on httpx: search, owners, lifecycle stages and deal pipelines.

It stays under HubSpot's limits by design (`RateLimiter`), waits out a 429 as its `policyName`
says (a DAILY one stops), retries 5xx answers, time-outs and malformed JSON with jittered
exponential back-off for a bounded time, and then gives up with an error naming the endpoint.
The token goes in the `Authorization` header only: never in an error or a log line.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from bot.logs import mask
from scheduler.sources.hubspot_limits import Clock, Limits, RateLimiter, SystemClock
from scheduler.sources.hubspot_types import (
    Filter,
    LifecycleStage,
    MalformedAnswer,
    Owner,
    Page,
    Pipeline,
    Record,
    Sort,
    owner_of,
    page_of,
    pipeline_of,
    record_of,
    stage_of,
)

__all__ = [
    "MAX_RESULTS",
    "PAGE_SIZE",
    "Clock",
    "Filter",
    "HubSpotClient",
    "HubSpotConfig",
    "HubSpotDailyLimit",
    "HubSpotError",
    "HubSpotRefused",
    "HubSpotUnavailable",
    "LifecycleStage",
    "Limits",
    "Owner",
    "Page",
    "Pipeline",
    "Record",
    "Sort",
    "SystemClock",
]

PAGE_SIZE = 200  # the most search gives per request
LIST_SIZE = 100  # the most the object list endpoint gives
OWNERS_SIZE = 500
MAX_RESULTS = 10_000  # search never pages past this many results of one query
WINDOWS = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}
SCOPES = "crm.objects.contacts.read, crm.objects.deals.read and crm.objects.owners.read"
BY_ID = Sort("hs_object_id")


class HubSpotError(Exception):
    """A HubSpot request failed for good; the message names the endpoint and the cause."""


class HubSpotDailyLimit(HubSpotError):
    """The account's daily request limit is used up: nothing more until it resets."""


class HubSpotRefused(HubSpotError):
    """HubSpot refused a request (4xx other than 429): retrying would not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class HubSpotUnavailable(HubSpotError):
    """HubSpot kept failing (5xx, time-outs, broken answers) for longer than the retry budget."""


@dataclass(frozen=True)
class HubSpotConfig:
    """How to reach HubSpot; the composition root fills it from the settings, tests from a fake."""

    token: str = field(repr=False)
    base_url: str
    limits: Limits = field(default_factory=Limits)
    clock: Clock = field(default_factory=SystemClock)
    timeout: float = 30.0  # wall-clock seconds for one request
    retry_for: float = 120.0  # clock seconds of retrying one request before giving up
    backoff: float = 0.5  # the first retry's delay; it doubles up to `backoff_cap`
    backoff_cap: float = 30.0
    random: Callable[[], float] = field(default=random.random, repr=False)


class HubSpotClient:
    """The CRM endpoints the sync needs, over one `httpx.AsyncClient` (use `async with`)."""

    def __init__(
        self, config: HubSpotConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.limiter = RateLimiter(config.limits, config.clock)
        self.requests = 0  # requests sent, retries included
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
            timeout=config.timeout,
            transport=transport,
        )

    async def __aenter__(self) -> HubSpotClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- endpoints -----------------------------------------------------------------------------

    async def owners(self, *, archived: bool = False) -> list[Owner]:
        """Every owner (the active ones, or the archived ones with `archived`)."""
        owners: list[Owner] = []
        after: str | None = None
        while True:
            params = {"limit": str(OWNERS_SIZE), "archived": str(archived).lower()}
            if after:
                params["after"] = after
            data = await self._call("GET", "/crm/v3/owners", params=params)
            owners.extend(o for o in map(owner_of, _results(data, "owners")) if o is not None)
            after = _next(data)
            if after is None:
                return owners

    async def lifecycle_stages(self) -> list[LifecycleStage]:
        """The portal's lifecycle stages (the options of `lifecyclestage`), custom ones included."""
        data = await self._call("GET", "/crm/v3/properties/contacts/lifecyclestage")
        options = data.get("options") if isinstance(data, dict) else None
        return [s for s in map(stage_of, options or []) if s is not None]

    async def deal_pipelines(self) -> list[Pipeline]:
        data = await self._call("GET", "/crm/v3/pipelines/deals")
        return [p for p in map(pipeline_of, _results(data, "pipelines")) if p is not None]

    async def search_page(
        self,
        object_type: str,
        filter_groups: Sequence[Sequence[Filter]],
        properties: Sequence[str],
        sorts: Sequence[Sort] = (BY_ID,),
        *,
        after: str | None = None,
        limit: int = PAGE_SIZE,
    ) -> Page:
        """One page of a search of `object_type` (`contacts`, `deals`, …)."""
        body: dict[str, Any] = {
            "filterGroups": [{"filters": [f.json() for f in group]} for group in filter_groups],
            "sorts": [s.json() for s in sorts],
            "properties": list(properties),
            "limit": limit,
        }
        if after is not None:
            body["after"] = after
        data = await self._call("POST", f"/crm/v3/objects/{object_type}/search", json=body)
        try:
            return page_of(data)
        except MalformedAnswer as exc:
            raise HubSpotError(f"HubSpot search of {object_type} answered {exc}") from None

    async def search(
        self,
        object_type: str,
        filter_groups: Sequence[Sequence[Filter]],
        properties: Sequence[str],
        sorts: Sequence[Sort] | None = None,
    ) -> AsyncIterator[Page]:
        """Every page of a search, 200 records a page, each record once.

        Sorted by `hs_object_id` (the default), each page asks for ids above the last one seen,
        so the 10,000-result cap never applies and records changing meanwhile shift nothing.
        Another sort pages with `after` and stops with an error at the cap.
        """
        by_id = sorts is None or list(sorts) == [BY_ID]
        order = [BY_ID] if sorts is None else list(sorts)
        base = [list(g) for g in filter_groups] or [[]]
        groups = base
        after: str | None = None
        while True:
            page = await self.search_page(object_type, groups, properties, order, after=after)
            if page.records:
                yield page
            if page.after is None or not page.records:
                return
            if by_id:
                above = Filter("hs_object_id", "GT", page.records[-1].id)
                groups = [[*group, above] for group in base]
            elif page.after.isdigit() and int(page.after) + PAGE_SIZE > MAX_RESULTS:
                raise HubSpotError(
                    f"HubSpot search of {object_type} has more than {MAX_RESULTS:,} results, "
                    "the most one query can page through; sort by hs_object_id or narrow it"
                )
            else:
                after = page.after

    async def archived(self, object_type: str) -> AsyncIterator[list[Record]]:
        """The archived (deleted, restorable) records of `object_type`, 100 a page."""
        after: str | None = None
        while True:
            params = {"archived": "true", "limit": str(LIST_SIZE), "properties": "hs_object_id"}
            if after:
                params["after"] = after
            data = await self._call("GET", f"/crm/v3/objects/{object_type}", params=params)
            records = [r for r in map(record_of, _results(data, object_type)) if r is not None]
            if records:
                yield records
            after = _next(data)
            if after is None:
                return

    # --- one request, within the limits, with retries ------------------------------------------

    async def _call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> Any:
        endpoint = f"{method} {path}"
        clock, config = self.config.clock, self.config
        began, attempts, failures = clock.monotonic(), 0, 0
        while True:
            attempts += 1
            self.requests += 1
            wait: float
            try:
                async with self.limiter.slot(search=path.endswith("/search")):
                    response = await self._http.request(method, path, params=params, json=json)
            except httpx.TimeoutException:
                problem = f"no answer within {config.timeout:g} s"
            except httpx.RequestError as exc:  # never its text: it may quote the request
                problem = f"cannot connect ({type(exc).__name__})"
            else:
                if response.status_code == 429:
                    policy = _field(response, "policyName") or "TEN_SECONDLY_ROLLING"
                    if policy == "DAILY":
                        raise HubSpotDailyLimit(
                            f"HubSpot's daily request limit is used up ({endpoint} answered 429 "
                            "DAILY); the sync stops here and resumes from where it got to once "
                            "the limit resets"
                        )
                    wait = WINDOWS.get(policy, 10.0) * (1 + 0.1 * config.random())
                    self.limiter.pause(wait)
                    problem = f"429 {policy} rate limit"
                    if clock.monotonic() - began + wait > config.retry_for:
                        raise self._gave_up(endpoint, problem, attempts, began)
                    continue
                if response.status_code >= 500:
                    problem = f"{response.status_code} {response.reason_phrase}".strip()
                elif response.status_code >= 400:
                    raise self._refused(endpoint, response)
                else:
                    try:
                        return response.json()
                    except ValueError:
                        problem = f"{response.status_code} with malformed JSON"
            failures += 1
            wait = self._backoff(failures)
            if clock.monotonic() - began + wait > config.retry_for:
                raise self._gave_up(endpoint, problem, attempts, began)
            await clock.sleep(wait)

    def _backoff(self, failures: int) -> float:
        """Exponential with "equal jitter": half the step for sure, the other half at random."""
        step = min(self.config.backoff_cap, self.config.backoff * 2.0 ** (failures - 1))
        return step / 2 + step / 2 * self.config.random()

    def _gave_up(self, endpoint: str, problem: str, attempts: int, began: float) -> HubSpotError:
        spent = self.config.clock.monotonic() - began
        return HubSpotUnavailable(
            f"HubSpot {endpoint} failed {attempts} times in {spent:.0f} s "
            f"(last: {problem}); giving up, try again later"
        )

    def _refused(self, endpoint: str, response: httpx.Response) -> HubSpotError:
        status = response.status_code
        said = mask(_field(response, "message") or response.reason_phrase or "")
        hint = ""
        if status == 401:
            hint = "; check HUBSPOT_TOKEN (a private app's access token)"
        elif status == 403:
            hint = f"; the private app needs the scopes {SCOPES}"
        return HubSpotRefused(f"HubSpot refused {endpoint} with {status}: {said}{hint}", status)


def _field(response: httpx.Response, name: str) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return str(value) if value is not None else None


def _results(data: Any, what: str) -> list[Any]:
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise HubSpotError(f"HubSpot answered a request for {what} without a list of results")
    return results


def _next(data: Any) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None
