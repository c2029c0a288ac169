"""What people do about a lead's follow-up: acknowledge, snooze, disqualify, reassign, be away.

Each action is one small function over a session; `at` and the acting user are passed in. The
Slack buttons and `/sla` commands call these, and nothing else writes these facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import BusinessClock
from models.agreement import REASON_CODES
from models.lead_closure import copy_closure
from models.tables import AwayPeriod, FollowupState, Lead


class ActionError(ValueError):
    """The action cannot be done as asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class Done:
    """What an action did, in a sentence fit for a reply."""

    lead: str
    changed: bool
    message: str


async def find_lead(session: AsyncSession, reference: str) -> Lead:
    """A lead by its id in its source (`L-1001`), or `source:id` when two sources share ids."""
    source, _, external = reference.rpartition(":")
    statement = select(Lead).where(col(Lead.external_id) == external)
    if source:
        statement = statement.where(col(Lead.source) == source)
    leads = list((await session.exec(statement.limit(3))).all())
    if not leads:
        raise ActionError(f"no lead {reference!r}; use the id shown in the alert, e.g. L-1001")
    if len(leads) > 1:
        names = ", ".join(f"{lead.source}:{lead.external_id}" for lead in leads)
        raise ActionError(f"{reference!r} is in several sources; say which: {names}")
    return leads[0]


async def acknowledge(session: AsyncSession, *, lead: str, by: str, at: datetime) -> Done:
    """Record the first touch now, by `by`; a lead touched already keeps its first touch."""
    row = await find_lead(session, lead)
    if row.first_touch_at is not None and row.first_touch_at <= at:
        when = f"{row.first_touch_at:%Y-%m-%d %H:%M} UTC"
        who = f" by <@{row.first_touch_by}>" if row.first_touch_by else ""
        return Done(
            row.external_id, False, f"{row.external_id} was already contacted{who} at {when}."
        )
    await session.exec(
        update(Lead)
        .where(col(Lead.id) == row.id)
        .values(first_touch_at=at, first_touch_by=by, updated_at=at)
    )
    await copy_closure(session, [row.id])
    return Done(row.external_id, True, f"{row.external_id}: first touch recorded by <@{by}>.")


async def snooze(
    session: AsyncSession,
    *,
    lead: str,
    span: timedelta,
    clock: BusinessClock,
    by: str,
    at: datetime,
) -> Done:
    """Mute the lead's alerts for `span` of business time (its deadline does not move)."""
    if span <= timedelta(0):
        raise ActionError("a snooze must be longer than 0; e.g. 1h, 4h or 1d")
    row = await find_lead(session, lead)
    until = clock.add(at, span)
    result = await session.exec(
        update(FollowupState)
        .where(col(FollowupState.lead_id) == row.id)
        .values(snoozed_until=until, snoozed_by=by, updated_at=at)
    )
    if not result.rowcount:
        raise ActionError(f"{row.external_id} has no follow-up running; nothing to snooze")
    return Done(
        row.external_id,
        True,
        f"{row.external_id}: alerts snoozed until {until.astimezone(clock.zone):%a %d %b %H:%M %Z}.",
    )


async def disqualify(
    session: AsyncSession, *, lead: str, reason: str, by: str, at: datetime
) -> Done:
    """Take the lead out of follow-up with a reason code (a breach already made still counts)."""
    if reason not in REASON_CODES:
        raise ActionError(f"unknown reason {reason!r}; choose one of {', '.join(REASON_CODES)}")
    row = await find_lead(session, lead)
    if row.disqualified_at is not None and row.disqualified_at <= at:
        return Done(
            row.external_id,
            False,
            f"{row.external_id} was already disqualified ({row.disqualify_reason}).",
        )
    await session.exec(
        update(Lead)
        .where(col(Lead.id) == row.id)
        .values(disqualified_at=at, disqualify_reason=reason, disqualified_by=by, updated_at=at)
    )
    await copy_closure(session, [row.id])
    return Done(row.external_id, True, f"{row.external_id}: disqualified ({reason}) by <@{by}>.")


async def reassign(session: AsyncSession, *, lead: str, to: str, by: str, at: datetime) -> Done:
    """Give the lead's follow-up to Slack user `to`; the original deadline stays."""
    row = await find_lead(session, lead)
    result = await session.exec(
        update(FollowupState)
        .where(col(FollowupState.lead_id) == row.id)
        .values(reassigned_to=to, updated_at=at)
    )
    if not result.rowcount:
        raise ActionError(f"{row.external_id} has no follow-up running; nothing to reassign")
    return Done(
        row.external_id,
        True,
        f"{row.external_id}: reassigned to <@{to}> by <@{by}>; the deadline stays.",
    )


async def set_away(
    session: AsyncSession, *, user: str, until: datetime | None, by: str, at: datetime
) -> Done:
    """Mark `user` away from `at` until `until` (open-ended when None)."""
    if until is not None and until <= at:
        raise ActionError("the end of an away period must be in the future")
    if until is not None and not _storable(until):
        raise ActionError(f"the end of an away period must be before {MAXYEAR}-12-31")
    session.add(AwayPeriod(user=user, start_at=at, end_at=until, created_by=by, created_at=at))
    end = f" until {until:%Y-%m-%d}" if until else " until you say you are back"
    return Done(user, True, f"<@{user}> is away{end}; their alerts go to their team lead.")


def _storable(moment: datetime) -> bool:
    """Whether `moment` has a UTC instant (the store keeps UTC); the end of 9999-12-31 west of
    UTC falls in year 10000, which none can hold."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True
