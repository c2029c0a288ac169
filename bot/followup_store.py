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


async def attention(session: AsyncSession, *, rule: str, at: datetime) -> list[Candidate]:
    """Open leads past their warn point at `at`, and leads `check` last left in an open state."""
    statement = (
        select(FollowupState, Lead)
        .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        .where(
            col(FollowupState.rule) == rule,
            col(FollowupState.handed_off_at) <= at,
            or_(
                and_(col(FollowupState.warn_at) <= at, _open_at(at)),
                col(FollowupState.state).in_([s for s in OPEN_STATES if s != "pending"]),
            ),
        )
        .order_by(col(FollowupState.deadline), col(Lead.id))
    )
    out = []
    for state, lead in (await session.exec(statement)).all():
        assert lead.id is not None
        facts = LeadFacts(
            lead_id=lead.id,
            external_id=lead.external_id,
            owner=state.reassigned_to or lead.owner_email,
            handed_off_at=state.handed_off_at,
            first_touch_at=lead.first_touch_at,
            first_touch_by=lead.first_touch_by,
            disqualified_at=lead.disqualified_at,
            disqualify_reason=lead.disqualify_reason,
            snoozed_until=state.snoozed_until,
        )
        times = RuleTimes(
            handed_off_at=state.handed_off_at,
            starts_at=state.handed_off_at,
            warn_at=state.warn_at,
            deadline=state.deadline,
            escalate_at=state.escalate_at,
        )
        out.append(Candidate(facts, times, state.state, state.alerted_level))
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


async def compliance_counts(
    session: AsyncSession,
    *,
    rule: str,
    start: datetime,
    at: datetime,
    until: datetime | None = None,
) -> tuple[int, int]:
    """(due, met) at `at` of the hand-offs in [start, until or at], as `evaluate` counts them."""
    touched = and_(col(Lead.first_touch_at).is_not(None), col(Lead.first_touch_at) <= at)
    early_out = and_(
        col(Lead.disqualified_at).is_not(None),
        col(Lead.disqualified_at) <= at,
        col(Lead.disqualified_at) <= col(FollowupState.deadline),
    )
    due = or_(touched, and_(col(FollowupState.deadline) <= at, ~early_out))
    met = and_(touched, col(Lead.first_touch_at) <= col(FollowupState.deadline))
    row = (
        await session.exec(
            select(
                func.coalesce(func.sum(case((due, 1), else_=0)), 0),
                func.coalesce(func.sum(case((met, 1), else_=0)), 0),
            )
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


async def open_counts(session: AsyncSession, *, rule: str, at: datetime) -> dict[str, int]:
    """How many open leads of `rule` are in each open state at `at` (all counted in SQL)."""
    state = case(
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
    rows = (
        await session.exec(
            select(state, func.count())
            .select_from(FollowupState)
            .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
            .where(
                col(FollowupState.rule) == rule,
                col(FollowupState.handed_off_at) <= at,
                _open_at(at),
            )
            .group_by(state)
        )
    ).all()
    counts = dict.fromkeys(OPEN_STATES, 0)
    counts.update({str(name): int(n) for name, n in rows})
    return counts


async def breaching_between(
    session: AsyncSession, *, rule: str, at: datetime, until: datetime
) -> int:
    """Open leads whose deadline falls in (at, until]: they breach by then unless touched."""
    row = (
        await session.exec(
            select(func.count())
            .select_from(FollowupState)
            .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
            .where(
                col(FollowupState.rule) == rule,
                col(FollowupState.handed_off_at) <= at,
                col(FollowupState.deadline) > at,
                col(FollowupState.deadline) <= until,
                _open_at(at),
            )
        )
    ).one()
    return int(row)
