"""A fake HubSpot CRM API: a real HTTP server on 127.0.0.1 that tests fill, break and inspect.

It serves what the bot uses (search, the list of archived objects, owners, lifecycle stages,
deal pipelines) with HubSpot's paging, 10,000-result cap, bearer auth, rate limits and error
bodies, and records every request. Time runs `speed` times faster than the wall clock for its
rate limits, so tests of limits and back-off stay short (the client is given the same speed).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.hubspot_http import (
    UNAUTHORIZED,
    Fault,
    Gate,
    PortalLimits,
    Seen,
    Server,
    error_body,
    rate_limited_body,
)
from bot.sandbox.hubspot_search import (
    FakeRecord,
    SearchRefused,
    bisected,
    compile_groups,
    iso,
    ordered,
    paging_of,
    sort_of,
)

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
START = datetime(2027, 1, 4, 12, tzinfo=UTC)
KINDS = ("contacts", "deals")
ALWAYS = {
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
}
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
DEFAULT_PROPERTIES = {
    "contacts": ["email", "firstname", "lastname"],
    "deals": ["amount", "closedate", "dealname", "dealstage", "pipeline"],
}
STAGES = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
]
DEAL_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
]


def _raw(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise TypeError(f"cannot store {value!r} as a HubSpot property value")


@dataclass
class FakeHubSpot:
    """The fake portal: build it with the `add_*`/`modify`/`archive` methods, then `start()`."""

    token: str = TOKEN
    speed: float = 1.0
    limits: PortalLimits = field(default_factory=PortalLimits)
    now: datetime = START
    step: timedelta = timedelta(seconds=1)
    requests: list[Seen] = field(default_factory=list)
    objects: dict[str, dict[int, FakeRecord]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    owners: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._gate = Gate(self.limits)
        self._ids = dict.fromkeys(KINDS, 100)
        self._orders: dict[tuple[str, str, bool], tuple[list[FakeRecord], list[Any]]] = {}
        self._server: Server | None = None
        for value, label in STAGES:
            self.add_stage(value, label)
        stages = [
            {
                "id": sid,
                "label": label,
                "displayOrder": n,
                "metadata": {"probability": probability, "isClosed": closed},
                "archived": False,
            }
            for n, (sid, label, probability, closed) in enumerate(DEAL_STAGES)
        ]
        self.pipelines.append(
            {
                "id": "default",
                "label": "Sales Pipeline",
                "displayOrder": 0,
                "archived": False,
                "stages": stages,
            }
        )

    # --- running -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def start(self, port: int = 0) -> FakeHubSpot:
        """Serve on 127.0.0.1: `port`, or an ephemeral one (tests)."""
        self._server = Server(self.handle, port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def clock(self) -> float:
        """The fake's seconds (the wall clock sped up `speed` times)."""
        return time.monotonic() * self.speed

    # --- building the portal -------------------------------------------------------------------

    def add_stage(self, value: str, label: str, *, hidden: bool = False) -> None:
        order = len(self.stages)
        self.stages.append(
            {"label": label, "value": value, "displayOrder": order, "hidden": hidden}
        )

    def add_owner(
        self, owner_id: str, email: str, first: str = "", last: str = "", *, archived: bool = False
    ) -> None:
        self.owners.append(
            {
                "id": owner_id,
                "email": email,
                "type": "PERSON",
                "firstName": first,
                "lastName": last,
                "userId": int(owner_id) + 1000 if owner_id.isdigit() else None,
                "createdAt": iso(START),
                "updatedAt": iso(START),
                "archived": archived,
                "teams": [],
            }
        )

    def add(self, kind: str, *, modified: datetime | None = None, **properties: Any) -> str:
        """A new contact or deal; its modification date is `modified` or the portal's clock."""
        with self._lock:
            self._ids[kind] += 1
            when = self._tick(modified)
            record = FakeRecord(self._ids[kind], {}, when, when)
            record.properties["createdate"] = iso(when)
            self.objects[kind][record.id] = record
            self._write(kind, record, when, properties)
            return str(record.id)

    def add_contact(self, **properties: Any) -> str:
        return self.add("contacts", **properties)

    def add_deal(self, **properties: Any) -> str:
        return self.add("deals", **properties)

    def modify(
        self, kind: str, record_id: str, *, modified: datetime | None = None, **properties: Any
    ) -> None:
        """Set properties (a str is stored as given, even a malformed one) and bump the date."""
        with self._lock:
            self._write(kind, self.record(kind, record_id), self._tick(modified), properties)

    def archive(self, kind: str, record_id: str) -> None:
        with self._lock:
            record = self.record(kind, record_id)
            record.archived, record.archived_at = True, self._tick(None)
            self._orders.clear()

    def record(self, kind: str, record_id: str) -> FakeRecord:
        return self.objects[kind][int(record_id)]

    def inject(self, kind: str, *, times: int = 1, **details: Any) -> None:
        """Serve a fault (see `Fault`) to the next `times` matching requests."""
        with self._lock:
            self._gate.faults.append(Fault(kind, times, **details))

    def clear_faults(self) -> None:
        with self._lock:
            self._gate.faults.clear()

    def searches(self, kind: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                seen
                for seen in self.requests
                if seen.path.endswith("/search") and (kind is None or f"/{kind}/" in seen.path)
            ]

    def _tick(self, modified: datetime | None) -> datetime:
        if modified is not None:
            return modified
        when, self.now = self.now, self.now + self.step
        return when

    def _write(
        self, kind: str, record: FakeRecord, when: datetime, properties: dict[str, Any]
    ) -> None:
        record.properties.update({name: _raw(value) for name, value in properties.items()})
        record.properties[MODIFIED[kind]] = iso(when)
        record.updated_at = when
        record.refresh()
        self._orders.clear()

    # --- serving -------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, auth: str | None, raw: bytes
    ) -> tuple[int, bytes, float]:
        """One request: (status, body, seconds to wait before answering)."""
        url = urlsplit(target)
        query = {name: ",".join(values) for name, values in parse_qs(url.query).items()}
        with self._lock:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            status, payload, delay = self._answer(method, url.path, query, body, auth)
            self.requests.append(Seen(method, url.path, query, body, status, self.clock()))
        text = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return status, text, delay

    def _answer(
        self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None
    ) -> tuple[int, Any, float]:
        if auth != f"Bearer {self.token}":
            return 401, error_body(UNAUTHORIZED, "INVALID_AUTHENTICATION"), 0.0
        self._gate.limits = self.limits  # tests may replace or change them at any time
        fault = self._gate.fault(path)
        if fault is not None and fault.kind == "rate_limit":
            return 429, rate_limited_body(fault.policy), 0.0
        policy = self._gate.admit(path, self.clock())
        if policy is not None:
            return 429, rate_limited_body(policy), 0.0
        if fault is not None and fault.kind == "status":
            return fault.status, error_body("Internal error", "INTERNAL_ERROR"), 0.0
        try:
            status, payload = self._route(method, path, query, body)
        except SearchRefused as exc:
            status, payload = 400, error_body(str(exc))
        if fault is not None and fault.kind == "malformed":
            return 200, b'{"results": [{"id": "1", "properties": {', 0.0
        if fault is not None and fault.kind == "no_id" and payload.get("results"):
            first, *rest = payload["results"]  # well-formed JSON, but a result without its id
            payload = {**payload, "results": [{k: v for k, v in first.items() if k != "id"}, *rest]}
        return status, payload, fault.seconds if fault is not None else 0.0

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        objects = len(parts) >= 4 and parts[:3] == ["crm", "v3", "objects"] and parts[3] in KINDS
        if objects and method == "POST" and parts[4:] == ["search"]:
            return 200, self._search(parts[3], body if isinstance(body, dict) else {})
        if objects and method == "GET" and len(parts) == 4:
            return 200, self._list(parts[3], query)
        if method == "GET" and parts == ["crm", "v3", "owners"]:
            return 200, self._owners(query)
        if method == "GET" and parts == ["crm", "v3", "properties", "contacts", "lifecyclestage"]:
            return 200, {
                "name": "lifecyclestage",
                "label": "Lifecycle Stage",
                "type": "enumeration",
                "fieldType": "radio",
                "groupName": "contactinformation",
                "options": self.stages,
            }
        if method == "GET" and parts == ["crm", "v3", "pipelines", "deals"]:
            return 200, {"results": self.pipelines}
        return 404, error_body(f"No route for {method} {path}", "OBJECT_NOT_FOUND")

    def _ordered(
        self, kind: str, name: str, descending: bool
    ) -> tuple[list[FakeRecord], list[Any]]:
        """The live records in a sort's order, and their sort values (cached until a write)."""
        key = (kind, name, descending)
        if key not in self._orders:
            live = [r for r in self.objects[kind].values() if not r.archived]
            records = ordered(live, name, descending)
            values = [r.values[name] for r in records if r.values.get(name) is not None]
            self._orders[key] = (records, values)
        return self._orders[key]

    def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        matches = compile_groups(body.get("filterGroups"))
        name, descending = sort_of(body.get("sorts"))
        after, limit = paging_of(body)
        properties = body.get("properties") or DEFAULT_PROPERTIES[kind]
        if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
            raise SearchRefused("properties must be a list of property names")
        records, keys = self._ordered(kind, name, descending)
        found = bisected(records, keys, body.get("filterGroups"), name, descending)
        if found is None:
            found = [r for r in records if matches(r)]
        page = found[after : after + limit]
        answer: dict[str, Any] = {
            "total": len(found),
            "results": [r.json(properties, ALWAYS[kind]) for r in page],
        }
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit), "link": "?after="}}
        return answer

    def _list(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        archived = query.get("archived", "false") == "true"
        properties = [p for p in query.get("properties", "").split(",") if p]
        records = sorted(
            (r for r in self.objects[kind].values() if r.archived == archived), key=lambda r: r.id
        )
        return self._paged(query, 100, [r.json(properties, ALWAYS[kind]) for r in records])

    def _owners(self, query: dict[str, str]) -> dict[str, Any]:
        archived = query.get("archived", "false") == "true"
        return self._paged(query, 500, [o for o in self.owners if o["archived"] == archived])

    def _paged(self, query: dict[str, str], most: int, items: list[Any]) -> dict[str, Any]:
        limit = int(query.get("limit", "10"))
        if not 1 <= limit <= most:
            raise SearchRefused(f"limit must be between 1 and {most}, got {limit}")
        after = int(query.get("after") or 0)
        answer: dict[str, Any] = {"results": items[after : after + limit]}
        if after + limit < len(items):
            answer["paging"] = {"next": {"after": str(after + limit), "link": "?after="}}
        return answer
