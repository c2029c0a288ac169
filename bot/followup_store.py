"""Follow-up rows in the store: deadlines kept per hand-off, leads needing attention, SQL counts.

Deadlines are computed in Python (business time) once per hand-off and rule, then every question
("who is due soon at T?", "how many met their deadline this period?") is an indexed query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.followup import OPEN_STATES, LeadFacts, RuleTimes
from models.tables import FollowupState, Lead, LeadStage

PAGE = 5000
Timer = Callable[[datetime], RuleTimes]


@dataclass(frozen=True)
class Candidate:
    """A lead to evaluate, with its stored deadlines and the state `check` last recorded."""

    facts: LeadFacts
    times: RuleTimes
    stored_state: str
    alerted_level: str | None


async def refresh_deadlines(
    session: AsyncSession, *, rule: str, stage: str, key: str, timer: Timer, at: datetime
) -> int:
    """Compute and keep deadlines for hand-offs that have none, or stale ones; returns how many."""
    done = 0
    last = 0
    while True:
        rows = (
            await session.exec(
                select(
                    LeadStage.lead_id,
                    LeadStage.entered_at,
                    FollowupState.id,
                )
                .outerjoin(
                    FollowupState,
                    and_(
                        col(FollowupState.lead_id) == col(LeadStage.lead_id),
                        col(FollowupState.rule) == rule,
                    ),
                )
                .where(
                    col(LeadStage.stage) == stage,
                    col(LeadStage.lead_id) > last,
                    or_(
                        col(FollowupState.id).is_(None),
                        col(FollowupState.rule_key) != key,
                        col(FollowupState.handed_off_at) != col(LeadStage.entered_at),
                    ),
                )
                .order_by(col(LeadStage.lead_id))
                .limit(PAGE)
            )
        ).all()
        if not rows:
            return done
        new: list[dict[str, Any]] = []
        for lead_id, entered_at, state_id in rows:
            times = timer(entered_at)
            values = {
                "rule_key": key,
                "handed_off_at": entered_at,
                "warn_at": times.warn_at,
                "deadline": times.deadline,
                "escalate_at": times.escalate_at,
            }
            if state_id is None:
                new.append(
                    {
                        "rule": rule,
                        "lead_id": lead_id,
                        "state": "pending",
                        "updated_at": at,
                        **values,
                    }
                )
            else:
                await session.exec(
                    update(FollowupState).where(col(FollowupState.id) == state_id).values(**values)
                )
        if new:
            await session.exec(insert(FollowupState), params=new)
        done += len(rows)
        last = rows[-1][0]


def _open_at(at: datetime) -> Any:
    """Untouched and not disqualified as of `at`."""
    return and_(
        or_(col(Lead.first_touch_at).is_(None), col(Lead.first_touch_at) > at),
        or_(col(Lead.disqualified_at).is_(None), col(Lead.disqualified_at) > at),
    )


ALERTING = [s for s in OPEN_STATES if s != "pending"]


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


async def attention(
    session: AsyncSession, *, rule: str, at: datetime, changed_only: bool = False
) -> list[Candidate]:
    """Open leads past their warn point at `at`, and leads `check` last left in an open state.

    With `changed_only`, only those whose state differs from the one `check` last recorded:
    the states are compared in SQL, so a steady check loads a handful of rows, not every open
    lead.
    """
    columns: list[Any] = [
        col(FollowupState.lead_id),
        col(FollowupState.handed_off_at),
        col(FollowupState.warn_at),
        col(FollowupState.deadline),
        col(FollowupState.escalate_at),
        col(FollowupState.state),
        col(FollowupState.alerted_level),
        col(FollowupState.snoozed_until),
        col(FollowupState.reassigned_to),
        col(Lead.external_id),
        col(Lead.owner_email),
        col(Lead.first_touch_at),
        col(Lead.first_touch_by),
        col(Lead.disqualified_at),
        col(Lead.disqualify_reason),
    ]
    stored_open = col(FollowupState.state).in_(ALERTING)
    if changed_only:
        wanted = or_(
            and_(
                _open_at(at),
                or_(col(FollowupState.warn_at) <= at, stored_open),
                _open_state(at) != col(FollowupState.state),
            ),
            and_(~_open_at(at), stored_open),
        )
    else:
        wanted = or_(and_(col(FollowupState.warn_at) <= at, _open_at(at)), stored_open)
    statement = (
        sa_select(*columns)
        .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        .where(col(FollowupState.rule) == rule, col(FollowupState.handed_off_at) <= at, wanted)
        .order_by(col(FollowupState.deadline), col(FollowupState.lead_id))
    )
    out = []
    connection = await session.connection()  # a Core select of columns, no ORM objects
    for row in (await connection.execute(statement)).all():
        (lead_id, handed_off_at, warn_at, deadline, escalate_at, state, alerted, snoozed,
         reassigned, external_id, owner_email, touched_at, touched_by, disqualified_at,
         reason) = row  # fmt: skip
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
        out.append(Candidate(facts, times, state, alerted))
    return out


async def record_states(
    session: AsyncSession, *, rule: str, changes: dict[int, str], at: datetime
) -> None:
    """Store the new state of each lead (by lead id) for `rule`."""
    for lead_id, state in changes.items():
        await session.exec(
            update(FollowupState)
            .where(col(FollowupState.rule) == rule, col(FollowupState.lead_id) == lead_id)
            .values(state=state, updated_at=at)
        )


def _due_and_met(at: datetime) -> tuple[Any, Any]:
    """Whether a hand-off is due, and met, at `at`: the SQL of `bot.followup.evaluate`'s
    `counts_as_due` / `counts_as_met` (the one place this rule is written for the store)."""
    touched = and_(col(Lead.first_touch_at).is_not(None), col(Lead.first_touch_at) <= at)
    early_out = and_(
        col(Lead.disqualified_at).is_not(None),
        col(Lead.disqualified_at) <= at,
        col(Lead.disqualified_at) <= col(FollowupState.deadline),
    )
    due = or_(touched, and_(col(FollowupState.deadline) <= at, ~early_out))
    met = and_(touched, col(Lead.first_touch_at) <= col(FollowupState.deadline))
    return due, met


def _total(condition: Any) -> Any:
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
            select(_total(due), _total(met))
            .select_from(FollowupState)
            .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
            .where(
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
    """Everything `check` and `status` count for a rule, in one pass over its hand-offs.

    due/met cover the hand-offs in [start, at] (as `compliance_counts`); the open counts and
    the leads breaching in (at, horizon] cover every hand-off up to `at`.
    """
    in_window = col(FollowupState.handed_off_at) >= start
    due, met = (and_(in_window, condition) for condition in _due_and_met(at))
    is_open = _open_at(at)
    state = _open_state(at)
    breaching = and_(
        is_open, col(FollowupState.deadline) > at, col(FollowupState.deadline) <= horizon
    )

    row = (
        await session.exec(
            select(
                _total(due),
                _total(met),
                _total(breaching),
                *(_total(and_(is_open, state == name)) for name in OPEN_STATES),
            )
            .select_from(FollowupState)
            .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
            .where(col(FollowupState.rule) == rule, col(FollowupState.handed_off_at) <= at)
        )
    ).one()
    numbers = [int(value) for value in row]
    return RuleFigures(
        due=numbers[0],
        met=numbers[1],
        breaching=numbers[2],
        open=dict(zip(OPEN_STATES, numbers[3:], strict=True)),
    )
