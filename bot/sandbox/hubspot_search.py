"""The fake HubSpot's search semantics: typed property values, filters, sorts and the request checks.

HubSpot compares datetimes as instants (filter values in epoch milliseconds), numbers as numbers
and strings without regard to case. Filters in a group are ANDed and groups are ORed. Ties in a
sort come back in no particular order: the fake breaks them with a scrambled id, so code that
relies on the order of ties fails here as it would against HubSpot.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25

DATETIME_PROPERTIES = {
    "createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "closedate",
    "notes_last_contacted",
    "hs_sa_first_engagement_date",
    "hubspot_owner_assigneddate",
}
_DATETIME_PATTERNS = (
    re.compile(r"hs_lifecyclestage_.+_date"),
    re.compile(r"hs_v2_date_entered_.+"),
)
NUMBER_PROPERTIES = {"hs_object_id", "amount", "hs_time_to_first_engagement"}
BOOL_PROPERTIES = {"hs_is_closed_won", "hs_is_closed"}
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
}


class SearchRefused(ValueError):
    """The request is one HubSpot answers with 400: the message says why."""


def is_datetime(name: str) -> bool:
    return name in DATETIME_PROPERTIES or any(p.fullmatch(name) for p in _DATETIME_PATTERNS)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def iso(value: datetime) -> str:
    """An instant as HubSpot writes it: UTC with milliseconds and a Z."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def typed(name: str, raw: str | None) -> Any:
    """`raw` as HubSpot compares it, or None when it is absent or not of the property's type."""
    if raw is None or raw == "":
        return None
    if is_datetime(name):
        if raw.isdigit():
            return int(raw)
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return epoch_ms(parsed) if parsed.tzinfo is not None else None
    if name in NUMBER_PROPERTIES:
        try:
            return Decimal(raw)
        except InvalidOperation:
            return None
    if name in BOOL_PROPERTIES:
        return raw.lower() if raw.lower() in ("true", "false") else None
    return raw.lower()


@dataclass
class FakeRecord:
    """A CRM object in the fake portal; `properties` hold strings, as HubSpot stores them."""

    id: int
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def refresh(self) -> None:
        self.properties["hs_object_id"] = str(self.id)
        self.values = {name: typed(name, raw) for name, raw in self.properties.items()}

    def json(self, properties: list[str], always: tuple[str, ...]) -> dict[str, Any]:
        shown = {name: self.properties.get(name) for name in (*always, *properties)}
        body: dict[str, Any] = {
            "id": str(self.id),
            "properties": shown,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            body["archivedAt"] = iso(self.archived_at)
        return body


Predicate = Callable[[FakeRecord], bool]


def _value(name: str, filter_: dict[str, Any], key: str = "value") -> Any:
    if key not in filter_:
        raise SearchRefused(f"filter on {name!r} needs '{key}'")
    value = typed(name, str(filter_[key]))
    if value is None:
        raise SearchRefused(f"{filter_[key]!r} is not a valid value for property {name!r}")
    return value


def compile_filter(filter_: dict[str, Any]) -> Predicate:
    name = filter_.get("propertyName")
    operator = filter_.get("operator")
    if not isinstance(name, str) or operator not in OPERATORS:
        raise SearchRefused(f"invalid filter {filter_!r}: unknown operator or no propertyName")
    if operator == "HAS_PROPERTY":
        return lambda r: r.properties.get(name) not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return lambda r: r.properties.get(name) in (None, "")
    if operator in ("IN", "NOT_IN"):
        values = filter_.get("values")
        if not isinstance(values, list) or not values:
            raise SearchRefused(f"filter {operator} on {name!r} needs a list of 'values'")
        wanted = {_value(name, {"value": v}) for v in values}
        if operator == "IN":
            return lambda r: r.values.get(name) in wanted
        return lambda r: r.values.get(name) not in wanted
    low = _value(name, filter_)
    if operator == "BETWEEN":
        high = _value(name, filter_, "highValue")
        return lambda r: (v := r.values.get(name)) is not None and low <= v <= high
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == low,
        "NEQ": lambda v: v != low,
        "LT": lambda v: v < low,
        "LTE": lambda v: v <= low,
        "GT": lambda v: v > low,
        "GTE": lambda v: v >= low,
    }
    test = compare[operator]
    if operator == "NEQ":
        return lambda r: r.values.get(name) is None or test(r.values[name])
    return lambda r: (v := r.values.get(name)) is not None and test(v)


def compile_groups(groups: Any) -> Predicate:
    """The filterGroups of a search as one predicate (HubSpot's limits checked)."""
    if groups in (None, []):
        return lambda r: True
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise SearchRefused(f"at most {MAX_GROUPS} filterGroups are allowed")
    compiled: list[list[Predicate]] = []
    total = 0
    for group in groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchRefused(f"at most {MAX_FILTERS_PER_GROUP} filters are allowed per group")
        total += len(filters)
        compiled.append([compile_filter(f) for f in filters])
    if total > MAX_FILTERS:
        raise SearchRefused(f"at most {MAX_FILTERS} filters are allowed in a search")
    return lambda r: any(all(p(r) for p in group) for group in compiled)


def sort_of(sorts: Any) -> tuple[str, bool]:
    """The (property, descending) of a search's sorts; HubSpot sorts by one property only."""
    if not sorts:
        return "hs_object_id", False
    if not isinstance(sorts, list) or len(sorts) != 1:
        raise SearchRefused("only one sort is allowed")
    sort = sorts[0]
    if isinstance(sort, str):
        return sort.removeprefix("-"), sort.startswith("-")
    if not isinstance(sort, dict) or not isinstance(sort.get("propertyName"), str):
        raise SearchRefused(f"invalid sort {sort!r}")
    direction = sort.get("direction", "ASCENDING")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise SearchRefused(f"invalid sort direction {direction!r}")
    return sort["propertyName"], direction == "DESCENDING"


def ordered(records: list[FakeRecord], name: str, descending: bool) -> list[FakeRecord]:
    """`records` sorted on `name`; records without the value last; ties in a scrambled order."""

    def key(record: FakeRecord) -> tuple[Any, int]:
        return record.values[name], _scrambled(record.id)

    with_value = [r for r in records if r.values.get(name) is not None]
    without = [r for r in records if r.values.get(name) is None]
    with_value.sort(key=key, reverse=descending)
    return with_value + sorted(without, key=lambda r: _scrambled(r.id))


def _scrambled(number: int) -> int:
    return (number * 2654435761) % 4294967296


def paging_of(body: dict[str, Any]) -> tuple[int, int]:
    """The (after, limit) of a search request; past the 10,000th result is refused."""
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or limit < 1:
        raise SearchRefused(f"limit must be a positive integer, got {limit!r}")
    if limit > MAX_LIMIT:
        raise SearchRefused(f"limit must be less than or equal to {MAX_LIMIT}, got {limit}")
    after_text = body.get("after") or "0"
    if not str(after_text).isdigit():
        raise SearchRefused(f"after must be a number, got {after_text!r}")
    after = int(after_text)
    if after + limit > MAX_RESULTS:
        raise SearchRefused(
            f"Search results are limited to {MAX_RESULTS} records: after ({after}) plus "
            f"limit ({limit}) is past it; narrow the search with filters"
        )
    return after, limit


def bisected(
    records: list[FakeRecord], keys: list[Any], groups: Any, name: str, descending: bool
) -> list[FakeRecord] | None:
    """The matches of a search whose only filter is GT, GTE or EQ on its (ascending) sort
    property, found by bisection (the answer a scan gives, sooner); None for any other search.
    """
    if descending or not isinstance(groups, list) or len(groups) != 1:
        return None
    filters = groups[0].get("filters") if isinstance(groups[0], dict) else None
    if not isinstance(filters, list) or len(filters) != 1 or not isinstance(filters[0], dict):
        return None
    operator, value = filters[0].get("operator"), typed(name, str(filters[0].get("value")))
    if filters[0].get("propertyName") != name or operator not in ("GT", "GTE", "EQ"):
        return None
    if value is None:
        return None
    low = bisect.bisect_right(keys, value) if operator == "GT" else bisect.bisect_left(keys, value)
    high = bisect.bisect_right(keys, value) if operator == "EQ" else len(keys)
    return records[low:high]
