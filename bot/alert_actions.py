"""What an alert's buttons do: who may, the engine action, and the alert rebuilt from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.actions import ActionError, acknowledge, disqualify, reassign, snooze
from bot.blocks.alerts import (
    CONTACTED,
    NOT_A_FIT,
    REASSIGN,
    SNOOZE,
    Alert,
    AlertIds,
    alert_message,
)
from bot.blocks.common import Reply
from bot.clock import BusinessClock
from bot.lead_views import leads_by_reference
from bot.people import slack_user_of
from bot.permissions import may_act_on_lead
from models.agreement import Agreement
from models.tables import FollowupState, Lead

SNOOZE_SPANS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4)}


@dataclass(frozen=True)
class Outcome:
    """What a click did: refused (nothing written), failed with a reason, or done."""

    message: str
    written: bool = False
    refused: bool = False


def snooze_span(clock: BusinessClock, choice: str, at: datetime) -> timedelta:
    """Business time to mute a lead for: 1h, 4h, or until the next business day has begun."""
    if choice in SNOOZE_SPANS:
        return SNOOZE_SPANS[choice]
    if choice != "next":
        raise ActionError(f"unknown snooze {choice!r}; choose 1h, 4h or the next business day")
    day = at.astimezone(clock.zone).date() + timedelta(days=1)
    while not clock.is_business_day(day):
        day += timedelta(days=1)
    opening = clock.day_bounds(day)[0]
    # An exact span ends at today's closing (see BusinessClock.add); one microsecond more
    # carries it over the night, so the alerts resume at the next opening, not at closing.
    return clock.between(at, opening) + timedelta(microseconds=1)


async def act_on_lead(
    session: AsyncSession,
    agreement: Agreement,
    *,
    action: str,
    rule_name: str,
    lead_id: int,
    choice: str,
    user: str,
    at: datetime,
) -> Outcome:
    """Check that `user` may act on the lead, then do `action` (one of the alert's buttons)."""
    rule = next((r for r in agreement.followup if r.name == rule_name), None)
    lead = await session.get(Lead, lead_id)
    state = (
        await session.exec(
            select(FollowupState).where(
                col(FollowupState.rule) == rule_name, col(FollowupState.lead_id) == lead_id
            )
        )
    ).first()
    if rule is None or lead is None or state is None:
        return Outcome("This lead is no longer followed up under the agreement in force.")
    owner = state.reassigned_to or await slack_user_of(session, lead.owner_email)
    decision = may_act_on_lead(agreement, user, owner=owner, escalate_to=list(rule.escalate_to))
    if not decision.allowed:
        return Outcome(decision.refusal, refused=True)
    reference = f"{lead.source}:{lead.external_id}"
    try:
        if action == CONTACTED:
            done = await acknowledge(session, lead=reference, by=user, at=at)
        elif action == SNOOZE:
            clock = BusinessClock.of(agreement)
            span = snooze_span(clock, choice, at)
            done = await snooze(session, lead=reference, span=span, clock=clock, by=user, at=at)
        elif action == NOT_A_FIT:
            done = await disqualify(session, lead=reference, reason=choice, by=user, at=at)
        elif action == REASSIGN:
            if not choice:
                raise ActionError("pick the person to give this lead to")
            done = await reassign(session, lead=reference, to=choice, by=user, at=at)
        else:
            raise ActionError(f"unknown action {action!r}")
    except ActionError as exc:
        return Outcome(f"{lead.external_id}: {exc}")
    return Outcome(done.message, written=done.changed)


async def rebuilt_alert(
    session: AsyncSession, agreement: Agreement, ids: AlertIds, *, at: datetime
) -> Reply:
    """The alert as the store has its leads now (leads no longer followed up are dropped)."""
    views = await leads_by_reference(session, agreement, references=ids.leads, at=at)
    leads = [views[ref] for ref in ids.leads if ref in views]
    kept = {view.lead_id for view in leads}
    by = {lead_id: user for lead_id, user in ids.reassigned_by.items() if lead_id in kept}
    return alert_message(
        Alert(
            owner=ids.owner,
            leads=leads,
            zone=agreement.zone,
            reassigned_by=by,
            more=ids.more,
            note=ids.note,
            mentions=ids.mentions,
        )
    )
