"""The sample funnel's records, and the story scripted into them around the demo instant.

`bot.sandbox.sample_funnel` generates the steady flow of reps' contacts and deals; the parts
here are placed on purpose, so the demo always has something to show at `until`: leads handed
off just before it and still untouched (one due soon, three breached, one escalated), one won
deal well above the average, a win in the last week, and churn over target in the last full
month. Each takes the random source it may draw from; none reads the wall clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import BusinessClock
from models.agreement import FollowupRule
from models.durations import parse_duration

BASE_CUSTOMERS = 160  # active customers when the span begins


@dataclass(frozen=True)
class Rep:
    """A sales rep as the CRM knows them: how many leads they get and how often they are late."""

    owner_id: str
    share: float = 1.0
    slow: float = 0.1  # share of first touches after the deadline
    in_slack: bool = True


@dataclass
class SampleDeal:
    name: str
    owner: str
    created: datetime
    amount: int
    expected_close: datetime
    stage: str = "appointmentscheduled"  # a HubSpot deal stage of the default pipeline
    closed: datetime | None = None
    modified: datetime | None = None

    @property
    def won(self) -> bool:
        return self.stage == "closedwon"


@dataclass
class SampleContact:
    first: str
    last: str
    company: str
    stages: dict[str, datetime]  # funnel stage -> when the contact entered it
    owner: str | None = None
    first_touch: datetime | None = None
    late: bool = False  # first touch after the follow-up deadline
    engagement_tracked: bool = True  # else only `notes_last_contacted` holds the first touch
    last_contacted: datetime | None = None
    deal: SampleDeal | None = None
    intended: str | None = None  # for an open lead: its follow-up state at `until`

    @property
    def created(self) -> datetime:
        return self.stages["leads"]

    @property
    def last_change(self) -> datetime:
        times = [*self.stages.values(), self.first_touch, self.last_contacted]
        return max(t for t in times if t is not None)


@dataclass(frozen=True)
class SampleDay:
    day: date
    visits: int
    churned: int = 0
    active: int | None = None  # customers at the start of the month, on its first day


@dataclass
class SampleFunnel:
    first_day: date
    until: datetime
    contacts: list[SampleContact] = field(default_factory=list)
    days: list[SampleDay] = field(default_factory=list)

    @property
    def deals(self) -> list[SampleDeal]:
        return sorted((c.deal for c in self.contacts if c.deal), key=lambda d: d.created)


def whole_second(at: datetime) -> datetime:
    """Whole seconds, in UTC: HubSpot keeps milliseconds, and equal instants must stay equal."""
    return at.astimezone(UTC).replace(microsecond=0)


def business_before(clock: BusinessClock, at: datetime, span: timedelta) -> datetime:
    """The instant from which `span` of business time runs up to `at`."""
    day, left = at.astimezone(clock.zone).date(), span
    for _ in range(3660):
        if clock.is_business_day(day):
            opens, closes = clock.day_bounds(day)
            end = min(closes, at)
            if end > opens:
                if end - opens >= left:
                    return end - left
                left -= end - opens
        day -= timedelta(days=1)
    raise ValueError("no business time in the ten years before the instant")


def close_deal(contact: SampleContact, deal: SampleDeal, at: datetime, won: bool) -> None:
    deal.stage, deal.closed, deal.modified = ("closedwon" if won else "closedlost"), at, at
    if won:
        contact.stages["customers"] = at


def open_waits(clock: BusinessClock, rule: FollowupRule) -> list[tuple[str, timedelta]]:
    """Business time each scripted open lead has waited at `until`, by intended state."""
    span = clock.span
    within = span(parse_duration(rule.within))
    warn = span(parse_duration(rule.warn_before)) if rule.warn_before else within / 4
    waits = [("pending", (within - warn) / 8), ("due_soon", within - warn / 2)]
    escalate = span(parse_duration(rule.escalate_after)) if rule.escalate_after else None
    room = (escalate or 3 * within) - within
    waits += [("breached", within + room * share) for share in (0.1, 0.45, 0.8)]
    if escalate is not None:
        waits.append(("escalated", escalate + within))
    return waits


def open_leads(
    clock: BusinessClock,
    rule: FollowupRule,
    reps: Sequence[Rep],
    *,
    until: datetime,
    rng: random.Random,
    new_contact: Callable[[datetime], SampleContact],
) -> list[SampleContact]:
    """Leads handed off just before `until` and still untouched: what the check shows.

    `new_contact(created)` makes up a person who became a lead at `created`.
    """
    matched = [r for r in reps if r.in_slack] or list(reps)
    unmatched = [r for r in reps if not r.in_slack]
    out = []
    for n, (state, waited) in enumerate(open_waits(clock, rule)):
        # The second breached lead is the unmatched rep's: its alert goes to the team lead.
        rep = unmatched[0] if n == 3 and unmatched else matched[n % len(matched)]
        handoff = whole_second(business_before(clock, until, waited))
        contact = new_contact(whole_second(handoff - timedelta(days=rng.uniform(1, 6))))
        contact.stages["mqls"], contact.owner, contact.intended = handoff, rep.owner_id, state
        out.append(contact)
    return out


def big_deal(contacts: list[SampleContact], *, until: datetime, average_deal: float) -> None:
    """One won deal well above the average: the quarter's talk."""
    won = [c.deal for c in contacts if c.deal and c.deal.won and c.deal.closed]
    window = [d for d in won if d.closed and until - timedelta(days=80) <= d.closed]
    if window:
        deal = window[len(window) // 3]
        deal.amount = int(average_deal * 4)
        deal.name = f"{deal.name.split(':')[0]}: enterprise rollout"


def recent_win(
    contacts: list[SampleContact],
    reps: Sequence[Rep],
    *,
    clock: BusinessClock,
    until: datetime,
    business_day: timedelta,
) -> None:
    """A deal won in the week before `until` (the bot announces those) by a rep in Slack."""
    week = until - timedelta(days=7)
    in_slack = {rep.owner_id for rep in reps if rep.in_slack}  # so Slack can @mention
    theirs = [c for c in contacts if c.deal and c.deal.owner in in_slack]
    if any(c.deal and c.deal.won and c.deal.closed and c.deal.closed > week for c in theirs):
        return
    won_at = whole_second(business_before(clock, until, business_day * 2))
    for contact in reversed(theirs):
        deal = contact.deal
        if deal and deal.closed is None and deal.created < won_at - timedelta(days=7):
            close_deal(contact, deal, max(won_at, week + timedelta(hours=1)), won=True)
            return


def with_customers(
    days: list[SampleDay],
    contacts: list[SampleContact],
    *,
    rng: random.Random,
    zone: ZoneInfo,
    first_day: date,
    today: date,
) -> list[SampleDay]:
    """`days` with active customers on each month's first day and customers lost, day by day."""
    wins = sorted(
        c.stages["customers"].astimezone(zone).date() for c in contacts if "customers" in c.stages
    )
    churned: dict[date, int] = {}
    active, lost = BASE_CUSTOMERS, 0
    out = []
    last_full = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for item in days:
        day = item.day
        if day.day == 1:
            active = BASE_CUSTOMERS + sum(1 for w in wins if first_day <= w < day) - lost
            # Churn runs over target in the last full month: the KPI the demo flags.
            rate = 0.026 if day == last_full else rng.uniform(0.011, 0.018)
            month_days = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - day
            share = min(1.0, ((today - day).days + 1) / month_days.days)
            elapsed = min(month_days.days, (today - day).days + 1)
            for _ in range(round(active * rate * share)):
                when = day + timedelta(days=rng.randrange(elapsed))
                churned[when] = churned.get(when, 0) + 1
        out.append(SampleDay(day, item.visits, active=active if day.day == 1 else None))
        lost += churned.get(day, 0)
    return [SampleDay(d.day, d.visits, churned.get(d.day, 0), d.active) for d in out]
