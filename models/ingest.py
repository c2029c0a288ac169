"""Store upserts for synced records (daily metrics, leads and their stages, deals), by natural key.

Each function reads its rows in batches, selects the stored rows of a batch by key, then inserts
the new ones and updates the changed ones; unchanged rows are not written at all. The caller owns
the transaction, so a source that fails half-way leaves nothing of its own behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, bindparam, func
from sqlmodel import col, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.lead_closure import copy_closure
from models.tables import Deal, Lead, LeadStage, MetricValue, MetricValueHistory

BATCH_SIZE = 1000
R = TypeVar("R")
Rows = Iterable[R] | AsyncIterable[R]


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """A metric's value on one day, for a team ("" when the value is not a team's)."""

    metric: str
    day: date
    value: float
    team: str = ""


@dataclass(frozen=True, slots=True)
class LeadStageRecord:
    """A lead entering a funnel stage, and what the source says of the lead at that point."""

    lead_id: str
    stage: str
    entered_at: datetime
    owner_email: str | None = None
    first_touch_at: datetime | None = None
    disqualified_at: datetime | None = None
    disqualify_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DealRecord:
    """A deal as its source gives it; `closed_won_at` is None while it is not won."""

    deal_id: str
    amount: Decimal
    created_at: datetime | None = None
    owner_email: str | None = None
    stage: str | None = None
    closed_won_at: datetime | None = None


@dataclass(slots=True)
class Counts:
    """What an upsert did with its rows: stored anew, stored over a different value, or left."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.changed + self.unchanged


async def batches(rows: Rows[R], size: int = BATCH_SIZE) -> AsyncIterator[list[R]]:
    """`rows` (a plain or an async iterable) in lists of at most `size`."""
    batch: list[R] = []
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    else:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _among(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)` with the values written into the SQL.

    As bound parameters, PostgreSQL soon plans the statement once for all batches (a generic
    plan) and then compares every row with every parameter; as literals, it plans each batch
    with its values and looks them up in a hash. The values are rendered by SQLAlchemy's typed
    literal renderers (quoted and escaped), never by string formatting here.
    """
    expression: ColumnElement[Any] = column  # a model's column attribute
    key = f"among_{expression.key}"
    values = list(values)
    parameter = bindparam(key, values, expanding=True, literal_execute=True, type_=expression.type)
    return expression.in_(parameter)


# --- daily metrics ------------------------------------------------------------------------------

MetricKey = tuple[str, date, str]
_METRIC_COLUMNS = ("metric", "day", "team", "value", "entered_by", "entered_at")


@dataclass(slots=True)
class _StoredMetric:
    id: int | None
    value: float
    entered_by: str | None
    entered_at: datetime


async def upsert_metrics(
    *,
    session: AsyncSession,
    source: str,
    rows: Rows[MetricRecord],
    at: datetime,
    by: str | None = None,
) -> Counts:
    """Store daily metric values (entered by `by`, if a person); a changed value keeps the old
    one in the history."""
    counts = Counts()
    async for batch in batches(rows):
        stored = await _stored_metrics(session, source, batch)
        inserts: dict[MetricKey, dict[str, Any]] = {}
        updates: dict[int, dict[str, Any]] = {}
        history: list[dict[str, Any]] = []
        for record in batch:
            key = (record.metric, record.day, record.team)
            old = stored.get(key)
            if old is None:
                counts.new += 1
                inserts[key] = {
                    "source": source,
                    "metric": record.metric,
                    "day": record.day,
                    "team": record.team,
                    "value": record.value,
                    "entered_by": by,
                    "entered_at": at,
                }
                stored[key] = _StoredMetric(None, record.value, by, at)
            elif old.value == record.value:
                counts.unchanged += 1
            else:
                counts.changed += 1
                if old.id is None:  # the same key twice in one batch: the later value wins
                    inserts[key]["value"] = record.value
                else:
                    history.append(
                        {
                            "source": source,
                            "metric": record.metric,
                            "day": record.day,
                            "team": record.team,
                            "value": old.value,
                            "entered_by": old.entered_by,
                            "entered_at": old.entered_at,
                            "replaced_at": at,
                        }
                    )
                    updates[old.id] = {
                        "id": old.id,
                        "value": record.value,
                        "entered_by": by,
                        "entered_at": at,
                    }
                old.value, old.entered_by, old.entered_at = record.value, by, at
        if history:
            await session.exec(insert(MetricValueHistory), params=history)
        if inserts:
            await session.exec(insert(MetricValue), params=list(inserts.values()))
        if updates:
            await session.exec(update(MetricValue), params=list(updates.values()))
    return counts


async def _stored_metrics(
    session: AsyncSession, source: str, batch: list[MetricRecord]
) -> dict[MetricKey, _StoredMetric]:
    wanted = {(r.metric, r.day, r.team) for r in batch}
    result = await session.exec(
        select(MetricValue.id, *(getattr(MetricValue, name) for name in _METRIC_COLUMNS)).where(
            MetricValue.source == source,
            _among(MetricValue.metric, {key[0] for key in wanted}),
            _among(MetricValue.day, {key[1] for key in wanted}),
            _among(MetricValue.team, {key[2] for key in wanted}),
        )
    )
    return {
        (metric, day, team): _StoredMetric(id_, value, by, entered_at)
        for id_, metric, day, team, value, by, entered_at in result.all()
        if (metric, day, team) in wanted
    }


# --- leads and the stages they entered ----------------------------------------------------------

_LEAD_DETAILS = (
    "owner_email",
    "stage",
    "first_touch_at",
    "first_touch_by",
    "disqualified_at",
    "disqualify_reason",
    "disqualified_by",
)


@dataclass(slots=True)
class _StoredLead:
    pk: int
    details: dict[str, Any]


async def upsert_leads(
    *, session: AsyncSession, source: str, rows: Rows[LeadStageRecord], at: datetime
) -> Counts:
    """Store leads and the stages they entered (one row per lead and stage).

    A lead's owner, current stage, first touch and disqualification come from its stage row with
    the latest `entered_at` in the store (on a tie, the stage stored first stays). Counts are per
    row: a row is `changed` when its stage entry moved, or when it is its lead's latest row and
    the lead's details changed. A first touch or disqualification that a person recorded (`*_by`
    set) stays while the source has none. A changed first touch or disqualification is copied
    onto the lead's follow-up rows.
    """
    counts = Counts()
    stamps: dict[str, datetime] = {}
    async for batch in batches(rows):
        newest = _newest_per_lead(batch)
        leads = await _leads(session, source, newest, at)
        for stage in {record.stage for record in batch} - stamps.keys():
            stamps[stage] = await _change_stamp(session, stage, at)
        outcomes, entries = await _upsert_stages(session, batch, leads, counts, stamps)
        updates: list[dict[str, Any]] = []
        closed: list[int] = []
        for lead_id, record in newest.items():
            lead = leads[lead_id]
            if not _is_latest(record, lead, entries[lead.pk]):
                continue
            details = _lead_details(record, lead.details)
            if details == lead.details:
                continue
            updates.append({"id": lead.pk, **details, "updated_at": at})
            if any(details[k] != lead.details[k] for k in ("first_touch_at", "disqualified_at")):
                closed.append(lead.pk)
            if outcomes[(lead_id, record.stage)] == "unchanged":
                counts.unchanged -= 1
                counts.changed += 1
        if updates:
            await session.exec(update(Lead), params=updates)
        await copy_closure(session, closed)
    return counts


async def _change_stamp(session: AsyncSession, stage: str, at: datetime) -> datetime:
    """The `changed_at` of the `stage` entries this sync stores: `at`, or the stage's latest
    one if that is later, so that a sync run with an earlier `at` still comes after the
    watermark `check` keeps per stage (an indexed look-up)."""
    latest = (
        await session.exec(
            select(func.max(col(LeadStage.changed_at))).where(col(LeadStage.stage) == stage)
        )
    ).one()
    return at if latest is None or latest < at else latest


def _newest_per_lead(batch: list[LeadStageRecord]) -> dict[str, LeadStageRecord]:
    newest: dict[str, LeadStageRecord] = {}
    for record in batch:
        seen = newest.get(record.lead_id)
        if seen is None or record.entered_at >= seen.entered_at:
            newest[record.lead_id] = record
    return newest


def _is_latest(record: LeadStageRecord, lead: _StoredLead, entries: dict[str, datetime]) -> bool:
    """Whether `record` is its lead's latest stage entry of all those stored."""
    others = [at for stage, at in entries.items() if stage != record.stage]
    if not others or record.entered_at > max(others):
        return True
    # A tie: the lead keeps its stored stage if that is one of the tied ones.
    current = lead.details["stage"]
    tied = record.entered_at == max(others)
    return tied and (current == record.stage or entries.get(current) != record.entered_at)


async def _leads(
    session: AsyncSession, source: str, newest: dict[str, LeadStageRecord], at: datetime
) -> dict[str, _StoredLead]:
    """The stored leads of a batch; new ones are inserted with their batch's latest details."""
    leads = await _select_leads(session, source, list(newest))
    missing = [lead_id for lead_id in newest if lead_id not in leads]
    if missing:
        await session.exec(
            insert(Lead),
            params=[
                {
                    "source": source,
                    "external_id": lead_id,
                    **_lead_details(newest[lead_id], None),
                    "updated_at": at,
                }
                for lead_id in missing
            ],
        )
        leads.update(await _select_leads(session, source, missing))
    return leads


async def _select_leads(
    session: AsyncSession, source: str, ids: list[str]
) -> dict[str, _StoredLead]:
    result = await session.exec(
        select(Lead.external_id, Lead.id, *(getattr(Lead, name) for name in _LEAD_DETAILS)).where(
            Lead.source == source, _among(Lead.external_id, ids)
        )
    )
    return {
        external_id: _StoredLead(pk, dict(zip(_LEAD_DETAILS, details, strict=True)))
        for external_id, pk, *details in result.all()
    }


async def _upsert_stages(
    session: AsyncSession,
    batch: list[LeadStageRecord],
    leads: dict[str, _StoredLead],
    counts: Counts,
    stamps: dict[str, datetime],
) -> tuple[dict[tuple[str, str], str], dict[int, dict[str, datetime]]]:
    """Insert or move a batch's stage entries.

    Returns each row's outcome ("new", "changed", "unchanged") by lead and stage, and every
    stored stage entry of the batch's leads (theirs from before, and the batch's own).
    """
    pks = {leads[record.lead_id].pk for record in batch}
    result = await session.exec(
        select(LeadStage.lead_id, LeadStage.stage, LeadStage.entered_at).where(
            _among(LeadStage.lead_id, pks)
        )
    )
    entries: dict[int, dict[str, datetime]] = {pk: {} for pk in pks}
    for lead_pk, stage, entered_at in result.all():
        entries[lead_pk][stage] = entered_at
    inserts: dict[tuple[int, str], dict[str, Any]] = {}
    updates: dict[tuple[int, str], dict[str, Any]] = {}
    outcomes: dict[tuple[str, str], str] = {}
    for record in batch:
        pk = leads[record.lead_id].pk
        key = (pk, record.stage)
        row = {
            "lead_id": pk,
            "stage": record.stage,
            "entered_at": record.entered_at,
            "changed_at": stamps[record.stage],
        }
        old = entries[pk].get(record.stage)
        if old is None:
            outcome = "new"
            inserts[key] = row
        elif old == record.entered_at:
            outcome = "unchanged"
        else:
            outcome = "changed"
            (inserts if key in inserts else updates)[key] = row
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        outcomes[(record.lead_id, record.stage)] = outcome
        entries[pk][record.stage] = record.entered_at
    if inserts:
        await session.exec(insert(LeadStage), params=list(inserts.values()))
    if updates:
        await session.exec(update(LeadStage), params=list(updates.values()))
    return outcomes, entries


def _lead_details(record: LeadStageRecord, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The lead's details as `record` gives them, keeping what people recorded where it is silent."""
    stored = stored or {}
    details: dict[str, Any] = {
        "owner_email": record.owner_email,
        "stage": record.stage,
        "first_touch_at": record.first_touch_at,
        "first_touch_by": None,
        "disqualified_at": record.disqualified_at,
        "disqualify_reason": record.disqualify_reason,
        "disqualified_by": None,
    }
    if stored.get("first_touch_by") and (
        record.first_touch_at is None or record.first_touch_at == stored.get("first_touch_at")
    ):
        details["first_touch_at"] = stored["first_touch_at"]
        details["first_touch_by"] = stored["first_touch_by"]
    if stored.get("disqualified_by") and (
        record.disqualified_at is None or record.disqualified_at == stored.get("disqualified_at")
    ):
        for name in ("disqualified_at", "disqualify_reason", "disqualified_by"):
            details[name] = stored[name]
    return details


# --- deals --------------------------------------------------------------------------------------

_DEAL_DETAILS = ("owner_email", "amount", "stage", "created_at", "closed_won_at")


async def upsert_deals(
    *, session: AsyncSession, source: str, rows: Rows[DealRecord], at: datetime
) -> Counts:
    """Store deals by their source's id; `at` is accepted for symmetry (deals keep no sync time)."""
    del at
    counts = Counts()
    async for batch in batches(rows):
        ids = list({record.deal_id for record in batch})
        result = await session.exec(
            select(
                Deal.external_id, Deal.id, *(getattr(Deal, name) for name in _DEAL_DETAILS)
            ).where(Deal.source == source, _among(Deal.external_id, ids))
        )
        stored: dict[str, tuple[int | None, dict[str, Any]]] = {
            external_id: (pk, dict(zip(_DEAL_DETAILS, values, strict=True)))
            for external_id, pk, *values in result.all()
        }
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[int, dict[str, Any]] = {}
        for record in batch:
            details = {
                "owner_email": record.owner_email,
                "amount": record.amount,
                "stage": record.stage,
                "created_at": record.created_at,
                "closed_won_at": record.closed_won_at,
            }
            old = stored.get(record.deal_id)
            if old is None:
                counts.new += 1
                inserts[record.deal_id] = {
                    "source": source,
                    "external_id": record.deal_id,
                    **details,
                }
            elif old[1] == details:
                counts.unchanged += 1
            else:
                counts.changed += 1
                pk = old[0]
                if pk is None:
                    inserts[record.deal_id].update(details)
                else:
                    updates[pk] = {"id": pk, **details}
            stored[record.deal_id] = (old[0] if old else None, details)
        if inserts:
            await session.exec(insert(Deal), params=list(inserts.values()))
        if updates:
            await session.exec(update(Deal), params=list(updates.values()))
    return counts
