"""What the HubSpot client sends and gets back: filters and sorts, records, owners, stages, pages.

The parsers are lenient with what they cannot use (an owner without an id is dropped, a record's
property that is not a string becomes its text) and strict with the shape of a page: an answer
that is not one raises, so nothing is silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Filter:
    """One search filter; datetime values are epoch milliseconds as text."""

    property: str
    operator: str
    value: str | None = None
    high_value: str | None = None
    values: tuple[str, ...] = ()

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"propertyName": self.property, "operator": self.operator}
        if self.value is not None:
            body["value"] = self.value
        if self.high_value is not None:
            body["highValue"] = self.high_value
        if self.values:
            body["values"] = list(self.values)
        return body


@dataclass(frozen=True)
class Sort:
    property: str
    descending: bool = False

    def json(self) -> dict[str, str]:
        direction = "DESCENDING" if self.descending else "ASCENDING"
        return {"propertyName": self.property, "direction": direction}


@dataclass(frozen=True)
class Record:
    """A CRM object: its id and the property values asked for (text, or None when empty)."""

    id: str
    properties: dict[str, str | None] = field(default_factory=dict)
    updated_at: str | None = None
    archived: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a search: its records, the query's total, and where the next page starts."""

    records: list[Record]
    total: int
    after: str | None
    dropped: int = 0  # results without an id: nothing can be stored or paged by them


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str = ""
    last_name: str = ""
    archived: bool = False

    @property
    def name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None


@dataclass(frozen=True)
class LifecycleStage:
    id: str
    label: str
    hidden: bool = False


@dataclass(frozen=True)
class PipelineStage:
    id: str
    label: str
    closed: bool = False
    probability: float | None = None


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: list[PipelineStage] = field(default_factory=list)


class MalformedAnswer(Exception):
    """A 200 answer whose JSON is not shaped as the endpoint's."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def record_of(data: Any) -> Record | None:
    if not isinstance(data, dict) or _text(data.get("id")) in (None, ""):
        return None
    raw = data.get("properties")
    properties = {str(k): _text(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return Record(
        id=str(data["id"]),
        properties=properties,
        updated_at=_text(data.get("updatedAt")),
        archived=data.get("archived") is True,
    )


def page_of(data: Any) -> Page:
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise MalformedAnswer("a search answer without a list of results")
    records = [r for r in map(record_of, results) if r is not None]
    total = data.get("total")
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return Page(
        records=records,
        total=total if isinstance(total, int) else len(records),
        after=str(after) if after else None,
        dropped=len(results) - len(records),
    )


def owner_of(data: Any) -> Owner | None:
    if not isinstance(data, dict) or _text(data.get("id")) in (None, ""):
        return None
    email = _text(data.get("email"))
    return Owner(
        id=str(data["id"]),
        email=email.strip() if email and email.strip() else None,
        first_name=_text(data.get("firstName")) or "",
        last_name=_text(data.get("lastName")) or "",
        archived=data.get("archived") is True,
    )


def stage_of(data: Any) -> LifecycleStage | None:
    if not isinstance(data, dict) or not _text(data.get("value")):
        return None
    value = str(data["value"])
    return LifecycleStage(
        id=value, label=_text(data.get("label")) or value, hidden=data.get("hidden") is True
    )


def pipeline_of(data: Any) -> Pipeline | None:
    if not isinstance(data, dict) or not _text(data.get("id")):
        return None
    stages = []
    for stage in data.get("stages") or []:
        if not isinstance(stage, dict) or not _text(stage.get("id")):
            continue
        raw = stage.get("metadata")
        metadata: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            probability: float | None = float(metadata.get("probability"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            probability = None
        stages.append(
            PipelineStage(
                id=str(stage["id"]),
                label=_text(stage.get("label")) or str(stage["id"]),
                closed=str(metadata.get("isClosed")).lower() == "true",
                probability=probability,
            )
        )
    return Pipeline(
        id=str(data["id"]), label=_text(data.get("label")) or str(data["id"]), stages=stages
    )
