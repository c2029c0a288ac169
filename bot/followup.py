"""Lead follow-up rules at an instant: each lead's deadline and state, and a rule's compliance.

Pure functions: the store gives `LeadFacts`, the caller gives the instant `at`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.clock import BusinessClock
from models.agreement import Agreement, FollowupRule
from models.durations import parse_duration

OPEN_STATES = ("pending", "due_soon", "breached", "escalated", "snoozed")
STATES = ("met", "late", *OPEN_STATES, "disqualified")


@dataclass(frozen=True, slots=True)
class RuleTimes:
    """The instants one hand-off sets for one rule (all in business time from the hand-off)."""

    handed_off_at: datetime
    starts_at: datetime
    warn_at: datetime
    deadline: datetime
    escalate_at: datetime | None


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What the store knows about a lead that entered a rule's stage."""

    lead_id: int
    external_id: str
    owner: str | None
    handed_off_at: datetime
    first_touch_at: datetime | None = None
    first_touch_by: str | None = None
    disqualified_at: datetime | None = None
    disqualify_reason: str | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadStatus:
    """A lead's state on a rule at an instant, and the business time it waited."""

    facts: LeadFacts
    rule: str
    times: RuleTimes
    state: str
    waited: timedelta
    counts_as_due: bool
    counts_as_met: bool
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compliance:
    """A rule as an SLO over a window: met / due, and what is left of the error budget."""

    rule: str
    target: float
    due: int
    met: int
    missed: int
    ratio: float | None
    budget: int
    budget_left: int

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def rule_times(clock: BusinessClock, rule: FollowupRule, handed_off_at: datetime) -> RuleTimes:
    """Deadline, warn point and escalation point of a hand-off (business time, DST-correct)."""
    within = clock.span(parse_duration(rule.within))
    warn = clock.span(parse_duration(rule.warn_before)) if rule.warn_before else timedelta(0)
    escalate = clock.span(parse_duration(rule.escalate_after)) if rule.escalate_after else None
    spans = [within - warn, within] + ([escalate] if escalate is not None else [])
    warn_at, deadline, *rest = clock.add_each(handed_off_at, spans)
    return RuleTimes(
        handed_off_at=handed_off_at,
        starts_at=clock.next_opening(handed_off_at),
        warn_at=warn_at,
        deadline=deadline,
        escalate_at=rest[0] if rest else None,
    )


def rule_key(agreement: Agreement, rule: FollowupRule) -> str:
    """A fingerprint of everything a rule's deadlines depend on (rule, hours, zone, holidays)."""
    basis = {
        "rule": rule.model_dump(mode="json", include={"within", "warn_before", "escalate_after"}),
        "hours": agreement.business_hours.model_dump(mode="json"),
        "timezone": agreement.timezone,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def responsible_team(agreement: Agreement, rule: FollowupRule) -> str:
    """The team that owes the follow-up: the one owning the stage after the hand-off stage."""
    names = agreement.stage_names
    index = names.index(rule.stage)
    following = agreement.funnel[index + 1] if index + 1 < len(names) else agreement.funnel[index]
    return following.team


def evaluate(
    clock: BusinessClock,
    rule: FollowupRule,
    facts: LeadFacts,
    at: datetime,
    times: RuleTimes | None = None,
) -> LeadStatus | None:
    """The lead's state at `at`; None when it had not been handed off yet.

    A touch or disqualification recorded after `at` is ignored (the instant decides). A lead
    disqualified before its deadline leaves the rule's compliance; one disqualified after it
    breached still counts as a miss. A snooze mutes alerts but never moves the deadline.
    `times` may come from the store (computed earlier for the same hand-off and rule).
    """
    if facts.handed_off_at > at:
        return None
    if times is None:
        times = rule_times(clock, rule, facts.handed_off_at)
    touched = facts.first_touch_at is not None and facts.first_touch_at <= at
    flags: tuple[str, ...] = ()
    if touched:
        assert facts.first_touch_at is not None
        if facts.first_touch_at < facts.handed_off_at:
            flags = ("first_touch_before_handoff",)
        met = facts.first_touch_at <= times.deadline
        return LeadStatus(
            facts=facts,
            rule=rule.name,
            times=times,
            state="met" if met else "late",
            waited=clock.between(facts.handed_off_at, facts.first_touch_at),
            counts_as_due=True,
            counts_as_met=met,
            flags=flags,
        )
    waited = clock.between(facts.handed_off_at, at)
    past_deadline = at >= times.deadline
    if facts.disqualified_at is not None and facts.disqualified_at <= at:
        missed_first = facts.disqualified_at > times.deadline
        return LeadStatus(
            facts=facts,
            rule=rule.name,
            times=times,
            state="disqualified",
            waited=clock.between(facts.handed_off_at, facts.disqualified_at),
            counts_as_due=missed_first,
            counts_as_met=False,
        )
    if facts.snoozed_until is not None and facts.snoozed_until > at:
        state = "snoozed"
    elif times.escalate_at is not None and at >= times.escalate_at:
        state = "escalated"
    elif past_deadline:
        state = "breached"
    elif at >= times.warn_at:
        state = "due_soon"
    else:
        state = "pending"
    return LeadStatus(
        facts=facts,
        rule=rule.name,
        times=times,
        state=state,
        waited=waited,
        counts_as_due=past_deadline,
        counts_as_met=False,
    )


def compliance(rule: FollowupRule, statuses: Iterable[LeadStatus]) -> Compliance:
    """met / due over the given statuses (see `compliance_of`)."""
    due = met = 0
    for status in statuses:
        if status.counts_as_due:
            due += 1
            met += status.counts_as_met
    return compliance_of(rule, due=due, met=met)


def compliance_of(rule: FollowupRule, *, due: int, met: int) -> Compliance:
    """met / due; error budget = floor((1 - target) * due) misses, in exact decimals."""
    missed = due - met
    budget = math.floor((1 - rule.target) * due)
    return Compliance(
        rule=rule.name,
        target=float(rule.target),
        due=due,
        met=met,
        missed=missed,
        ratio=met / due if due else None,
        budget=budget,
        budget_left=budget - missed,
    )
