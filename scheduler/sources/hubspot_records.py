"""HubSpot records as store rows: a contact's stage entries, a deal; what cannot be read is noted.

A missing or malformed value is reported and counted (once per record), never a crash: a bad
stage date drops that stage, a bad first touch or owner is left empty, a deal whose amount or
won state cannot be read is skipped. HubSpot writes datetimes as ISO 8601 in UTC; epoch
milliseconds and plain dates (midnight UTC) are read too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from models.ingest import DealRecord, LeadStageRecord
from scheduler.sources.csv_files import BadRow
from scheduler.sources.hubspot_types import Record

CENTS = Decimal("0.0001")  # the store keeps amounts to 4 places
LARGEST = Decimal(10) ** 16  # and 16 digits before the point


@dataclass(frozen=True, slots=True)
class BadRecord(BadRow):
    """A HubSpot record with a missing or malformed value (`line` is 0: records have no line)."""

    record: str = ""

    def render(self, file: str) -> str:
        return f"{file}: {self.record}: {self.field}: {self.message}"


def stage_date_property(stage_id: str) -> str:
    """The contact property holding when a contact entered lifecycle stage `stage_id`."""
    return f"hs_lifecyclestage_{stage_id}_date"


def parse_instant(text: str | None) -> datetime | None:
    """A HubSpot datetime value: ISO 8601 with an offset or Z, a date, or epoch milliseconds."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        except (OverflowError, OSError):
            raise ValueError("out of range") from None
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no UTC offset")
    return value.astimezone(UTC)


class _Checked:
    """A record's values read one by one; what cannot be read is noted as a problem."""

    def __init__(self, record: Record, what: str) -> None:
        self.record, self.what = record, what
        self.problems: list[BadRecord] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(BadRecord(0, field, message, f"{self.what} {self.record.id}"))

    def instant(self, name: str) -> datetime | None:
        text = self.record.properties.get(name)
        try:
            return parse_instant(text)
        except ValueError:
            self.problem(name, f"{text!r} is not a date and time")
            return None

    def owner(self, owners: dict[str, str]) -> str | None:
        owner_id = (self.record.properties.get("hubspot_owner_id") or "").strip()
        if not owner_id:
            return None
        if owner_id not in owners:
            self.problem("hubspot_owner_id", f"{owner_id!r} is not an owner with an email")
        return owners.get(owner_id)


def contact_rows(
    record: Record, stages: dict[str, str], owners: dict[str, str]
) -> tuple[list[LeadStageRecord], list[BadRecord]]:
    """A contact's entries into the mapped stages, with its owner and first touch."""
    check = _Checked(record, "contact")
    owner = check.owner(owners)
    first_touch = check.instant("hs_sa_first_engagement_date") or check.instant(
        "notes_last_contacted"
    )
    rows = []
    for funnel, stage_id in stages.items():
        entered = check.instant(stage_date_property(stage_id))
        if entered is not None:
            rows.append(LeadStageRecord(record.id, funnel, entered, owner, first_touch))
    return rows, check.problems


def deal_rows(record: Record, owners: dict[str, str]) -> tuple[list[DealRecord], list[BadRecord]]:
    """A deal (won at `closedate` when `hs_is_closed_won`), or nothing when it cannot be read."""
    check = _Checked(record, "deal")
    props = record.properties
    won_text = (props.get("hs_is_closed_won") or "false").strip().lower()
    if won_text not in ("true", "false"):
        check.problem("hs_is_closed_won", f"{props.get('hs_is_closed_won')!r} is not true or false")
        return [], check.problems
    won = won_text == "true"
    amount = _amount(check, props.get("amount"), won)
    closed = check.instant("closedate")
    if won and not (props.get("closedate") or "").strip():
        check.problem("closedate", "a won deal without a close date")
    if amount is None or (won and closed is None):
        return [], check.problems
    created = check.instant("createdate")
    deal = DealRecord(
        deal_id=record.id,
        amount=amount,
        created_at=created,
        owner_email=check.owner(owners),
        stage=props.get("dealstage") or None,
        closed_won_at=closed if won else None,
    )
    return [deal], check.problems


def _amount(check: _Checked, text: str | None, won: bool) -> Decimal | None:
    if text is None or not text.strip():
        if won:
            check.problem("amount", "a won deal without an amount (stored as 0)")
        return Decimal(0)
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        check.problem("amount", f"{text!r} is not an amount")
        return None
    if abs(amount) >= LARGEST:
        check.problem("amount", f"{text!r} is too large for an amount")
        return None
    return amount.quantize(CENTS)
