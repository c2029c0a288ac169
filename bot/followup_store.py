"""Follow-up rows in the store: leads needing attention, their recorded states, SQL counts.

Deadlines are computed in Python (business time) once per hand-off and rule
(`bot.followup_deadlines`), then every question ("who is due soon at T?", "how many met their
deadline this period?") is an indexed query on `followup_state` alone: the lead's first touch
and closure are copied there (`models.lead_closure`), and the lead itself is read only for the
few rows a check loads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, func, or_, tuple_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.followup import OPEN_STATES, LeadFacts, RuleTimes
from bot.followup_deadlines import refresh_deadlines
from models.tables import FollowupState, Lead
from models.types import UTCDateTime

__all__ = [
    "FACT_COLUMNS",
    "Candidate",
    "RuleFigures",
    "attention",
    "attention_pages",
    "compliance_counts",
    "facts_of",
    "record_states",
    "refresh_deadlines",
    "rule_figures",
]

PAGE = 5000
ALERTING = [s for s in OPEN_STATES if s != "pending"]
closed_at = col(FollowupState.closed_at)
first_touch_at = col(FollowupState.first_touch_at)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A lead to evaluate, with its stored deadlines and the state `check` last recorded."""

    facts: LeadFacts
    times: RuleTimes
    stored_state: str
    alerted_level: str | None


def _open_parts(at: datetime) -> tuple[Any, Any]:
    """Untouched and not disqualified as of `at`, in two parts that each have an index: still
    open now (the partial index), and closed only after `at` (an `--at` in the past)."""
    return closed_at.is_(None), and_(closed_at.is_not(None), closed_at > at)


def _open_state(at: datetime) -> Any:
    """The state of an open lead at `at`, in SQL (the same order as `bot.followup.evaluate`)."""
    return case(
        (
            and_(
                col(FollowupState.snoozed_until).is_not(None), col(FollowupState.snoozed_until) > at
            ),
            "snoozed",
        ),
        (
            and_(col(FollowupState.escalate_at).is_not(None), col(FollowupState.escalate_at) <= at),
            "escalated",
        ),
        (col(FollowupState.deadline) <= at, "breached"),
        (col(FollowupState.warn_at) <= at, "due_soon"),
        else_="pending",
    )


# The columns a lead's facts and stored deadlines are read from, first in every select of
# leads to evaluate (`facts_of` reads them by position); each caller adds its own after them.
FACT_COLUMNS: list[Any] = [
    col(FollowupState.lead_id),
    col(FollowupState.handed_off_at),
    col(FollowupState.warn_at),
    col(FollowupState.deadline),
    col(FollowupState.escalate_at),
    col(FollowupState.snoozed_until),
    col(FollowupState.reassigned_to),
    col(Lead.external_id),
    col(Lead.owner_email),
    col(Lead.first_touch_at),
    col(Lead.first_touch_by),
    col(Lead.disqualified_at),
    col(Lead.disqualify_reason),
]
_COLUMNS: list[Any] = [*FACT_COLUMNS, col(FollowupState.state), col(FollowupState.alerted_level)]


def facts_of(row: Any) -> tuple[LeadFacts, RuleTimes]:
    """The facts and stored deadlines of a row that starts with `FACT_COLUMNS`."""
    (lead_id, handed_off_at, warn_at, deadline, escalate_at, snoozed, reassigned, external_id,
     owner_email, touched_at, touched_by, disqualified_at,
     reason) = row[: len(FACT_COLUMNS)]  # fmt: skip
    facts = LeadFacts(
        lead_id=lead_id,
        external_id=external_id,
        owner=reassigned or owner_email,
        handed_off_at=handed_off_at,
        first_touch_at=touched_at,
        first_touch_by=touched_by,
        disqualified_at=disqualified_at,
        disqualify_reason=reason,
        snoozed_until=snoozed,
    )
    times = RuleTimes(
        handed_off_at=handed_off_at,
        starts_at=handed_off_at,
        warn_at=warn_at,
        deadline=deadline,
        escalate_at=escalate_at,
    )
    return facts, times


def _order(candidate: Candidate) -> tuple[datetime, int]:
    return candidate.times.deadline, candidate.facts.lead_id


async def attention_pages(
    session: AsyncSession, *, rule: str, at: datetime, changed_only: bool = False, page: int = PAGE
) -> AsyncIterator[list[Candidate]]:
    """Open leads past their warn point at `at`, and leads `check` last left in an open state,
    by deadline, in pages (a first check after a long pause may find every open lead).

    With `changed_only`, only those whose state differs from the one `check` last recorded:
    the states are compared in SQL, so a steady check loads a handful of rows, not every open
    lead. The leads still open now are paged through the partial index; the others (closed
    since the last check, or after `at`) are few and merged in.
    """
    still_open, closed_later = _open_parts(at)
    stored_open = col(FollowupState.state).in_(ALERTING)
    due = or_(col(FollowupState.warn_at) <= at, stored_open)
    if changed_only:
        due = and_(due, _open_state(at) != col(FollowupState.state))
    closed_before = and_(closed_at.is_not(None), closed_at <= at)
    others = or_(and_(closed_later, due), and_(closed_before, stored_open))
    base = (
        sa_select(*_COLUMNS)
        .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        .where(col(FollowupState.rule) == rule, col(FollowupState.handed_off_at) <= at)
        .order_by(col(FollowupState.deadline), col(FollowupState.lead_id))
    )
    rest = await _candidates(session, base.where(others))
    taken = 0
    after: tuple[datetime, int] | None = None
    while True:
        statement = base.where(still_open, due).limit(page)
        if after is not None:
            key = tuple_(col(FollowupState.deadline), col(FollowupState.lead_id))
            statement = statement.where(
                key > tuple_(bindparam("b_deadline", after[0], type_=UTCDateTime()), after[1])
            )
        found = await _candidates(session, statement)
        out: list[Candidate] = []
        for candidate in found:
            while taken < len(rest) and _order(rest[taken]) < _order(candidate):
                out.append(rest[taken])
                taken += 1
            out.append(candidate)
        if len(found) < page:
            out.extend(rest[taken:])
            if out:
                yield out
            return
        yield out
        after = _order(found[-1])


async def attention(
    session: AsyncSession, *, rule: str, at: datetime, changed_only: bool = False
) -> list[Candidate]:
    """Every page of `attention_pages` in one list."""
    return [
        candidate
        async for found in attention_pages(session, rule=rule, at=at, changed_only=changed_only)
        for candidate in found
    ]


async def _candidates(session: AsyncSession, statement: Any) -> list[Candidate]:
    connection = await session.connection()  # a Core select of columns, no ORM objects
    rows = (await connection.execute(statement)).all()
    return [Candidate(*facts_of(row), *row[len(FACT_COLUMNS) :]) for row in rows]


def _state_table() -> Table:
    table: Table = FollowupState.__table__  # type: ignore[attr-defined]
    return table


_RECORD = (
    update(_state_table())
    .where(
        _state_table().c.rule == bindparam("b_rule"),
        _state_table().c.lead_id == bindparam("b_lead"),
    )
    .values(state=bindparam("b_state"), updated_at=bindparam("b_at", type_=UTCDateTime()))
)


async def record_states(
    session: AsyncSession, *, rule: str, changes: dict[int, str], at: datetime
) -> None:
    """Store the new state of each lead (by lead id) for `rule`, in chunks of `PAGE`."""
    connection = await session.connection()
    items = list(changes.items())
    for start in range(0, len(items), PAGE):
        params = [
            {"b_rule": rule, "b_lead": lead_id, "b_state": state, "b_at": at}
            for lead_id, state in items[start : start + PAGE]
        ]
        await connection.execute(_RECORD, params)


def _due_and_met(at: datetime) -> tuple[Any, Any]:
    """Whether a hand-off is due, and met, at `at`: the SQL of `bot.followup.evaluate`'s
    `counts_as_due` / `counts_as_met` (the one place this rule is written for the store).

    Untouched at `at`, a lead closed at or before `at` was disqualified then, so "disqualified
    before its deadline" is read from `closed_at`.
    """
    deadline = col(FollowupState.deadline)
    touched = and_(first_touch_at.is_not(None), first_touch_at <= at)
    early_out = and_(closed_at.is_not(None), closed_at <= at, closed_at <= deadline)
    due = or_(touched, and_(deadline <= at, ~early_out))
    met = and_(touched, first_touch_at <= deadline)
    return due, met


def _total(condition: Any) -> Any:
    # Sums, not GROUP BY: SQLite would sort the rows to group them.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def compliance_counts(
    session: AsyncSession,
    *,
    rule: str,
    start: datetime,
    at: datetime,
    until: datetime | None = None,
) -> tuple[int, int]:
    """(due, met) at `at` of the hand-offs in [start, until or at], as `evaluate` counts them."""
    due, met = _due_and_met(at)
    row = (
        await session.exec(
            select(_total(due), _total(met)).where(
                col(FollowupState.rule) == rule,
                col(FollowupState.handed_off_at) >= start,
                col(FollowupState.handed_off_at) <= min(at, until or at),
            )
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class RuleFigures:
    """One rule at `at`: compliance counts for a window, open leads by state, coming breaches."""

    due: int
    met: int
    open: dict[str, int]
    breaching: int


async def rule_figures(
    session: AsyncSession, *, rule: str, start: datetime, at: datetime, horizon: datetime
) -> RuleFigures:
    """Everything `check` and `status` count for a rule.

    due/met cover the hand-offs in [start, at] (`compliance_counts`); the open counts and the
    leads breaching in (at, horizon] cover every open hand-off up to `at`, read through the
    partial index of open rows (and the few closed after `at`).
    """
    due, met = await compliance_counts(session, rule=rule, start=start, at=at)
    deadline = col(FollowupState.deadline)
    state = _open_state(at).label("state")
    breaching = _total(and_(deadline > at, deadline <= horizon))
    open_ = dict.fromkeys(OPEN_STATES, 0)
    coming = 0
    for part in _open_parts(at):
        # Grouped: one CASE per open row (few rows, read from the covering partial index).
        rows = await session.exec(
            select(state, func.count(), breaching)
            .where(col(FollowupState.rule) == rule, col(FollowupState.handed_off_at) <= at, part)
            .group_by(state)
        )
        for name, number, soon in rows.all():
            open_[name] += int(number)
            coming += int(soon)
    return RuleFigures(due=due, met=met, breaching=coming, open=open_)
