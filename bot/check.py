"""The follow-up check at an instant: keep deadlines, evaluate leads, record changes, plan alerts.

`run_check` is the one place that decides who hears about which lead. It writes only through
the session it is given, so a dry run is the same work in a transaction that is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from functools import partial

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import BusinessClock
from bot.followup import (
    Compliance,
    LeadStatus,
    compliance_of,
    evaluate,
    responsible_team,
    rule_key,
    rule_times,
)
from bot.followup_deadlines import refresh_deadlines
from bot.followup_store import attention_pages, record_states, rule_figures
from bot.humanize import span
from models.agreement import Agreement, FollowupRule
from models.durations import parse_duration
from models.tables import AwayPeriod, Owner

ALERT_LEVELS = ("due_soon", "breached", "escalated")


@dataclass(frozen=True, slots=True)
class Post:
    """A message the check means to send: a direct message (`user`) or to a `channel`."""

    key: str
    level: str
    rule: str
    lead: str
    text: str
    channel: str | None = None
    user: str | None = None
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleCheck:
    """One rule at the instant: compliance for the period to date, open leads by state."""

    rule: str
    compliance: Compliance
    open: dict[str, int]
    breaching_next: int
    horizon: datetime


@dataclass
class CheckResult:
    at: datetime
    leads: list[LeadStatus] = field(default_factory=list)
    changes: list[tuple[LeadStatus, str]] = field(default_factory=list)
    rules: list[RuleCheck] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    owners: dict[int, str | None] = field(default_factory=dict)


def period_start(agreement: Agreement) -> datetime:
    return datetime.combine(agreement.period.start, time(0), agreement.zone)


async def refresh_all_deadlines(
    session: AsyncSession, agreement: Agreement, *, at: datetime, clock: BusinessClock | None = None
) -> int:
    """Keep deadlines for every hand-off of every rule (new or stale ones only)."""
    clock = clock or BusinessClock.of(agreement)
    done = 0
    for rule in agreement.followup:
        done += await refresh_deadlines(
            session,
            rule=rule.name,
            stage=rule.stage,
            key=rule_key(agreement, rule),
            timer=partial(rule_times, clock, rule),
            at=at,
        )
    return done


async def run_check(
    session: AsyncSession, agreement: Agreement, *, at: datetime, list_all: bool = False
) -> CheckResult:
    """Evaluate every follow-up rule at `at`, record state changes, and plan the alerts.

    Only leads whose state changed are loaded (found in SQL), unless `list_all` asks for every
    open lead past its warn point as well.
    """
    clock = BusinessClock.of(agreement)
    people = await slack_ids(session)
    away = await away_users(session, at)
    result = CheckResult(at=at)
    await refresh_all_deadlines(session, agreement, at=at, clock=clock)
    for rule in agreement.followup:
        pages = attention_pages(session, rule=rule.name, at=at, changed_only=not list_all)
        async for candidates in pages:
            # Recorded page by page: a first check may change every open lead's state.
            changes: dict[int, str] = {}
            for candidate in candidates:
                status = evaluate(clock, rule, candidate.facts, at, candidate.times)
                if status is None:
                    continue
                result.leads.append(status)
                owner = slack_user(status.facts.owner, people)
                result.owners[status.facts.lead_id] = owner
                if status.state != candidate.stored_state:
                    changes[status.facts.lead_id] = status.state
                    result.changes.append((status, candidate.stored_state))
                    post = _post(agreement, rule, status, owner, away)
                    if post is not None:
                        result.posts.append(post)
            await record_states(session, rule=rule.name, changes=changes, at=at)
        horizon = clock.add(at, clock.span(parse_duration(rule.within)))
        figures = await rule_figures(
            session, rule=rule.name, start=period_start(agreement), at=at, horizon=horizon
        )
        result.rules.append(
            RuleCheck(
                rule=rule.name,
                compliance=compliance_of(rule, due=figures.due, met=figures.met),
                open=figures.open,
                breaching_next=figures.breaching,
                horizon=horizon,
            )
        )
    return result


async def slack_ids(session: AsyncSession) -> dict[str, str]:
    """CRM owner email -> Slack user id, for owners already matched."""
    rows = await session.exec(
        select(Owner.email, Owner.slack_user_id).where(
            col(Owner.email).is_not(None), col(Owner.slack_user_id).is_not(None)
        )
    )
    return {str(email).lower(): str(user) for email, user in rows.all()}


async def away_users(session: AsyncSession, at: datetime) -> set[str]:
    """Slack users away at `at` (`/sla away`): their alerts go to their team lead."""
    rows = await session.exec(
        select(AwayPeriod.user).where(
            col(AwayPeriod.start_at) <= at,
            or_(col(AwayPeriod.end_at).is_(None), col(AwayPeriod.end_at) > at),
        )
    )
    return set(rows.all())


def slack_user(owner: str | None, people: dict[str, str]) -> str | None:
    """The Slack user of a lead's owner (a CRM email, or a Slack id after a reassignment)."""
    if owner is None:
        return None
    if owner[:1] in ("U", "W") and "@" not in owner:
        return owner
    return people.get(owner.lower())


def route(
    agreement: Agreement, rule: FollowupRule, owner: str | None, away: set[str]
) -> tuple[str, str]:
    """Who hears about a lead of `owner` (a Slack user or None): the owner, or the responsible
    team's lead when the owner is away or not matched, with why ("" when the owner)."""
    if owner is not None and owner not in away:
        return owner, ""
    lead_lead = agreement.teams[responsible_team(agreement, rule)].lead
    return lead_lead, "owner away" if owner else "owner not matched to a Slack user"


def _post(
    agreement: Agreement,
    rule: FollowupRule,
    status: LeadStatus,
    owner: str | None,
    away: set[str],
) -> Post | None:
    if status.state not in ALERT_LEVELS:
        return None
    lead_lead = agreement.teams[responsible_team(agreement, rule)].lead
    routed, why = route(agreement, rule, owner, away)
    note = f" ({why}; sent to the team lead)" if why else ""
    lead = status.facts.external_id
    key = f"breach:{rule.name}:{status.facts.lead_id}:{status.state}"
    waited = span(status.waited)
    if status.state == "due_soon":
        left = span(status.times.deadline - status.times.warn_at)
        text = f"Lead {lead} is due soon on {rule.name}: first touch within {left} of business time.{note}"
        return Post(key, status.state, rule.name, lead, text, user=routed)
    if status.state == "breached":
        text = f"Lead {lead} breached {rule.name}: untouched after {waited} of business time.{note}"
        return Post(
            key,
            status.state,
            rule.name,
            lead,
            text,
            channel=agreement.channels.alerts,
            mentions=(routed,),
        )
    mentions = tuple(rule.escalate_to) or (lead_lead,)
    text = f"Escalation: lead {lead} is still untouched on {rule.name} after {waited} of business time.{note}"
    return Post(
        key,
        status.state,
        rule.name,
        lead,
        text,
        channel=agreement.channels.alerts,
        mentions=(routed, *mentions),
    )
