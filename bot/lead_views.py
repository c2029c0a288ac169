"""Leads as people see them in Slack: a user's open leads, and the leads an alert lists, at T.

Both read `followup_state` joined with its lead, scoped to one rule per statement so the
`(rule, lead_id)` and `(rule, deadline)` indexes serve them, and evaluate each row with the
engine (`bot.followup.evaluate`), so a line's state is the one `check` and `status` would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import BusinessClock
from bot.followup import evaluate
from bot.followup_store import FACT_COLUMNS, facts_of
from bot.lead_list import emails_of, open_parts
from models.agreement import Agreement, FollowupRule
from models.db import id_chunks
from models.tables import FollowupState, Lead

OPEN = ("pending", "due_soon", "breached", "escalated", "snoozed")


@dataclass(frozen=True, slots=True)
class LeadView:
    """One lead on one rule at an instant, with what people did about it."""

    lead_id: int
    source: str
    external_id: str
    rule: str
    state: str
    owner: str | None  # whoever follows it up now: the reassignee, else the CRM owner
    deadline: datetime
    waited: timedelta  # business time from hand-off to the touch, disqualification, or now
    first_touch_at: datetime | None = None
    first_touch_by: str | None = None
    disqualify_reason: str | None = None
    disqualified_by: str | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    reassigned_to: str | None = None

    @property
    def reference(self) -> str:
        """What `bot.actions` finds the lead by, unambiguous across sources."""
        return f"{self.source}:{self.external_id}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


_COLUMNS: list[Any] = [
    *FACT_COLUMNS,
    col(FollowupState.snoozed_by),
    col(Lead.source),
    col(Lead.disqualified_by),
]


def _base(rule: str) -> Any:
    return (
        sa_select(*_COLUMNS)
        .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        .where(col(FollowupState.rule) == rule)
    )


def _open_at(at: datetime) -> Any:
    """Handed off and still open at `at` (the one definition: `bot.lead_list.open_parts`)."""
    return and_(or_(*open_parts(at)), col(FollowupState.handed_off_at) <= at)


def _view(clock: BusinessClock, rule: FollowupRule, row: Any, at: datetime) -> LeadView | None:
    facts, times = facts_of(row)
    snoozed_by, source, disqualified_by = row[len(FACT_COLUMNS) :]
    status = evaluate(clock, rule, facts, at, times)
    if status is None:
        return None
    touched_at = facts.first_touch_at
    return LeadView(
        lead_id=facts.lead_id,
        source=source,
        external_id=facts.external_id,
        rule=rule.name,
        state=status.state,
        owner=facts.owner,
        deadline=times.deadline,
        waited=status.waited,
        first_touch_at=touched_at if touched_at is not None and touched_at <= at else None,
        first_touch_by=facts.first_touch_by,
        disqualify_reason=facts.disqualify_reason,
        disqualified_by=disqualified_by,
        snoozed_until=facts.snoozed_until if status.state == "snoozed" else None,
        snoozed_by=snoozed_by,
        reassigned_to=row._mapping["reassigned_to"],
    )


async def _rows(session: AsyncSession, statement: Any) -> list[Any]:
    connection = await session.connection()  # plain columns, no ORM objects to track
    return list((await connection.execute(statement)).all())


def _mine(user: str, emails: list[str]) -> tuple[Any, Any]:
    """Leads reassigned to `user`, and leads of the owner emails of `user` not reassigned."""
    owned = and_(
        col(FollowupState.reassigned_to).is_(None),
        col(Lead.owner_email).in_([*emails, user]),
    )
    return col(FollowupState.reassigned_to) == user, owned


async def open_leads_of(
    session: AsyncSession, agreement: Agreement, *, user: str, at: datetime, limit: int = 10
) -> tuple[int, list[LeadView]]:
    """How many open leads `user` follows up at `at`, and the `limit` with the nearest deadline."""
    clock = BusinessClock.of(agreement)
    emails = await emails_of(session, user)
    total = 0
    found: list[LeadView] = []
    for rule in agreement.followup:
        for part in _mine(user, emails):
            where = and_(part, _open_at(at))
            counted = await session.exec(
                select(func.count())
                .select_from(FollowupState)
                .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
                .where(col(FollowupState.rule) == rule.name, where)
            )
            total += counted.one()
            statement = (
                _base(rule.name)
                .where(where)
                .order_by(col(FollowupState.deadline), col(FollowupState.lead_id))
                .limit(limit)
            )
            for row in await _rows(session, statement):
                view = _view(clock, rule, row, at)
                if view is not None:
                    found.append(view)
    found.sort(key=lambda v: (v.deadline, v.lead_id))
    return total, found[:limit]


async def leads_by_reference(
    session: AsyncSession,
    agreement: Agreement,
    *,
    references: Iterable[tuple[str, int]],
    at: datetime,
) -> dict[tuple[str, int], LeadView]:
    """The (rule, lead id) pairs an alert lists, as they stand at `at` (unknown ones left out)."""
    clock = BusinessClock.of(agreement)
    wanted: dict[str, list[int]] = {}
    for rule_name, lead_id in references:
        wanted.setdefault(rule_name, []).append(lead_id)
    out: dict[tuple[str, int], LeadView] = {}
    for rule in agreement.followup:
        ids = wanted.get(rule.name, [])
        # A storm of breaches announces more leads than one statement takes parameters.
        for chunk in id_chunks(ids):
            statement = _base(rule.name).where(col(FollowupState.lead_id).in_(chunk))
            for row in await _rows(session, statement):
                view = _view(clock, rule, row, at)
                if view is not None:
                    out[(rule.name, view.lead_id)] = view
    return out
