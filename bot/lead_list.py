"""Open leads for people to read (`/sla leads`): the first few by deadline, and how many in all.

Read from `followup_state` through its indexes (the open rows have a partial index), joined
with the lead only for the rows shown, so a list never loads every lead. Each shown lead's state
and waited time come from `bot.followup.evaluate`, the same rule `check` applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import BusinessClock
from bot.followup import LeadFacts, RuleTimes, evaluate
from bot.people import looks_like_slack_user
from models.agreement import Agreement
from models.tables import FollowupState, Lead, Owner

Which = Literal["all", "mine", "breached", "due"]
SHOWN = 30  # a message shows a few; the rest are counted


@dataclass(frozen=True)
class OpenLead:
    """A lead waiting for its first touch on one rule, as a person reads it."""

    lead: str
    rule: str
    state: str
    owner: str | None  # a Slack user id when known, else the CRM owner's email
    deadline: datetime
    waited: timedelta  # business time since the hand-off


@dataclass(frozen=True)
class LeadList:
    which: Which
    leads: list[OpenLead]
    total: int  # every lead matching, of which `leads` are the nearest deadlines

    @property
    def hidden(self) -> int:
        return self.total - len(self.leads)


async def emails_of(session: AsyncSession, user: str) -> list[str]:
    """The CRM owner emails matched to Slack user `user` (lower case)."""
    rows = await session.exec(select(Owner.email).where(col(Owner.slack_user_id) == user))
    return sorted({email.strip().lower() for email in rows.all() if email})


def _conditions(agreement: Agreement, which: Which, at: datetime) -> list[Any]:
    state = FollowupState
    snoozed = and_(col(state.snoozed_until).is_not(None), col(state.snoozed_until) > at)
    conditions: list[Any] = [
        col(state.rule).in_([rule.name for rule in agreement.followup]),
        col(state.handed_off_at) <= at,
    ]
    if which == "breached":
        conditions += [col(state.deadline) <= at, ~snoozed]
    elif which == "due":
        conditions += [col(state.warn_at) <= at, col(state.deadline) > at, ~snoozed]
    return conditions


def open_parts(at: datetime) -> list[Any]:
    """Open at `at` (untouched, not disqualified), in two parts that each have an index: still
    open now (the partial index), and closed only after `at` (for an instant in the past)."""
    closed_at = col(FollowupState.closed_at)
    return [closed_at.is_(None), and_(closed_at.is_not(None), closed_at > at)]


def _owned_by(user: str, emails: list[str]) -> Any:
    """The lead is `user`'s: reassigned to them, or its CRM owner is them (by id or email)."""
    return or_(
        col(FollowupState.reassigned_to) == user,
        and_(
            col(FollowupState.reassigned_to).is_(None),
            col(Lead.owner_email).in_([user, *emails]),  # emails are stored in lower case
        ),
    )


_SHOWN_COLUMNS: list[Any] = [
    col(FollowupState.rule),
    col(FollowupState.handed_off_at),
    col(FollowupState.warn_at),
    col(FollowupState.deadline),
    col(FollowupState.escalate_at),
    col(FollowupState.snoozed_until),
    col(FollowupState.reassigned_to),
    col(FollowupState.lead_id),
    col(Lead.external_id),
    col(Lead.owner_email),
]


async def open_leads(
    session: AsyncSession,
    agreement: Agreement,
    *,
    at: datetime,
    which: Which = "all",
    user: str | None = None,
    shown: int = SHOWN,
) -> LeadList:
    """The open leads `which` asks for at `at`, nearest deadline first (`mine` needs `user`)."""
    conditions = _conditions(agreement, which, at)
    if which == "mine":
        assert user is not None, "`mine` needs the viewer"
        conditions.append(_owned_by(user, await emails_of(session, user)))
    connection = await session.connection()
    total = 0
    rows: list[Any] = []
    for part in open_parts(at):
        counted = sa_select(func.count()).select_from(FollowupState)
        if which == "mine":
            counted = counted.join(Lead, col(Lead.id) == col(FollowupState.lead_id))
        total += int((await connection.execute(counted.where(*conditions, part))).scalar_one())
        found = await connection.execute(
            sa_select(*_SHOWN_COLUMNS)
            .join(Lead, col(Lead.id) == col(FollowupState.lead_id))
            .where(*conditions, part)
            .order_by(col(FollowupState.deadline), col(FollowupState.lead_id))
            .limit(shown)
        )
        rows.extend(found.all())
    rows = sorted(rows, key=lambda row: (row[3], row[7]))[:shown]  # by deadline, then lead
    rules = {rule.name: rule for rule in agreement.followup}
    clock = BusinessClock.of(agreement)
    slack_users = await _slack_users(session, [row[9] for row in rows if row[9]])
    leads = []
    for (rule, handed_off, warn_at, deadline, escalate_at, snoozed, reassigned, lead_id,
         external_id, owner_email) in rows:  # fmt: skip
        # Open at `at` by the query, so the lead's touch and disqualification are not known yet.
        facts = LeadFacts(lead_id, external_id, owner_email, handed_off, snoozed_until=snoozed)
        times = RuleTimes(handed_off, handed_off, warn_at, deadline, escalate_at)
        status = evaluate(clock, rules[rule], facts, at, times)
        assert status is not None  # handed off at or before `at`, by the query
        owner = reassigned or slack_users.get((owner_email or "").lower()) or owner_email
        leads.append(OpenLead(external_id, rule, status.state, owner, deadline, status.waited))
    return LeadList(which, leads, total)


async def _slack_users(session: AsyncSession, owners: list[str]) -> dict[str, str]:
    """Owner (email or Slack id, lower case) -> Slack user, for the few owners shown."""
    found = {owner.lower(): owner for owner in owners if looks_like_slack_user(owner)}
    emails = sorted({owner.lower() for owner in owners if "@" in owner})
    if emails:
        rows = await session.exec(
            select(Owner.email, Owner.slack_user_id)
            .where(func.lower(col(Owner.email)).in_(emails))
            .where(col(Owner.slack_user_id).is_not(None))
        )
        for email, slack_user in rows.all():
            if email and slack_user:
                found[email.lower()] = slack_user
    return found
