"""A plausible sales funnel over a span of days, generated: leads, hand-offs, touches, deals, traffic.

Deterministic: the same agreement, instant, span, reps and seed give the same records (one
`random.Random(seed)`, no wall clock). Conversions keep close to their rate month after month
(`_Quota`), so a demo's figures tell a story rather than noise: sales turns MQLs into SQLs under
the agreed rate (`PERFORMANCE`) and about one first touch in ten is late (each rep's `slow`).
Every lead handed off by `until` was touched by then; on this steady flow `generate` places the
scripted parts of `bot.sandbox.sample_story`: the open leads, the big deal, the recent win, churn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta

from bot.clock import BusinessClock
from bot.followup import rule_times
from bot.funnel import reverse_funnel
from bot.sandbox.sample_story import (
    Rep,
    SampleContact,
    SampleDay,
    SampleDeal,
    SampleFunnel,
    big_deal,
    close_deal,
    open_leads,
    recent_win,
    whole_second,
    with_customers,
)
from models.agreement import Agreement, FollowupRule
from models.durations import parse_duration

WARMUP_DAYS = 75  # leads from before the span whose pipeline still moves inside it
WEEKDAY_SHARE = (1.2, 1.25, 1.2, 1.15, 1.0, 0.55, 0.65)  # sign-ups by weekday (Mon..Sun), mean 1
SIGNUP_HOURS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 9, 9, 8, 7, 8, 8, 7, 6, 5, 4, 4, 3, 3, 2, 1)
PERFORMANCE = {"mqls": 1.0, "sqls": 0.84, "proposals": 1.05, "customers": 1.0}  # of agreed rates
BUSINESS_HOURS_HANDOFFS = 0.85  # marketing hands most MQLs over while sales is at work
ENGAGEMENT_TRACKED = 0.85  # the others only log `notes_last_contacted`
GOLDEN = (math.sqrt(5) - 1) / 2
TOO_RECENT = timedelta(minutes=20)  # a hand-off this close to `until` is left a lead
FIRST_NAMES = (  # noqa: SIM905 (a list of words, kept short)
    "Ava Ben Chloe Diego Elena Farah Gabriel Hana Isaac Jade Kofi Lena Mateo Nadia Omar Paula "
    "Quinn Rosa Samir Tara Umar Vera Wes Ximena Yusuf Zoe Aaron Bianca Carlos Dana Emil Fiona"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Adams Baptiste Cho Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen Mensah "
    "Novak Ortiz Patel Quist Rossi Schmidt Tanaka Ueda Varga Walsh Xu Yilmaz Zimmer Brooks Nguyen"
).split()
COMPANIES = (  # noqa: SIM905
    "Northwind Logistics|Bluepeak Analytics|Cedar & Stone|Harborline Freight|Lumen Health|"
    "Orbit Payroll|Pinewood Schools|Quarry Labs|Redfern Dental|Silverline Insurance|Tidewater Foods|"
    "Upland Energy|Vantage Realty|Willow Clinics|Yardley Tools|Zenith Robotics|Acme Fabrication|"
    "Brightwell Legal|Copperleaf Hotels|Driftwood Media|Evergreen Credit Union|Foxglove Retail|"
    "Granite Peak Construction|Hollow Oak Farms|Ironclad Security|Juniper Travel|Keystone Dairy|"
    "Lakeshore Manufacturing|Maple Ridge Senior Living|Nimbus Software"
).split("|")
DEAL_KINDS = ("annual plan", "team plan", "pilot", "renewal and seats", "multi-site plan")


class _Quota:
    """Random conversions that correct themselves: what a stage is owed carries over."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.owed: dict[str, float] = {}

    def take(self, stage: str, rate: float) -> bool:
        owed = self.owed.get(stage, 0.0) + rate
        taken = self.rng.random() < owed
        self.owed[stage] = owed - 1 if taken else owed
        return taken


def followup_rule(agreement: Agreement) -> FollowupRule:
    """The rule on MQL hand-offs that the sample's first touches are timed against."""
    for rule in agreement.followup:
        if rule.stage == "mqls":
            return rule
    raise ValueError("the sample data needs a follow-up rule on the mqls stage")


def generate(
    agreement: Agreement, reps: Sequence[Rep], *, until: datetime, days: int, seed: int
) -> SampleFunnel:
    """`days` days of funnel up to `until` (plus the pipeline in flight when they begin)."""
    return _Generator(agreement, reps, until, days, seed).run()


class _Generator:
    def __init__(
        self, agreement: Agreement, reps: Sequence[Rep], until: datetime, days: int, seed: int
    ) -> None:
        self.agreement, self.reps, self.until = agreement, list(reps), until
        self.rng = random.Random(seed)
        self.quota = _Quota(self.rng)
        self.clock = BusinessClock.of(agreement)
        self.zone = agreement.zone
        self.rule = followup_rule(agreement)
        self.day = timedelta(minutes=self.clock.business_day_minutes)  # one business day
        self.today = until.astimezone(self.zone).date()
        self.first_day = self.today - timedelta(days=days)
        self.warm_day = self.first_day - timedelta(days=WARMUP_DAYS)
        plan = reverse_funnel(agreement)
        self.leads_per_day = plan.target("leads") / agreement.days
        self.lead_rate = float(agreement.stage("leads").rate or 1)
        self.month_factor: dict[tuple[str, int, int], float] = {}
        self.spread: dict[str, float] = {}

    def run(self) -> SampleFunnel:
        funnel = SampleFunnel(self.first_day, self.until)
        contacts: list[SampleContact] = []
        for day, expected in self._days():
            contacts.extend(self._signups(day, expected))
            if day >= self.first_day:
                funnel.days.append(SampleDay(day, self._visits(day, expected)))
        contacts.sort(key=lambda c: c.created)
        self._progress(contacts)
        contacts += open_leads(
            self.clock,
            self.rule,
            self.reps,
            until=self.until,
            rng=self.rng,
            new_contact=self._person,
        )
        start = datetime.combine(self.first_day, time(), self.zone)
        funnel.contacts = sorted(
            (c for c in contacts if c.last_change >= start), key=lambda c: c.created
        )
        average_deal = float(self.agreement.average_deal_size)
        big_deal(funnel.contacts, until=self.until, average_deal=average_deal)
        recent_win(
            funnel.contacts, self.reps, clock=self.clock, until=self.until, business_day=self.day
        )
        funnel.days = with_customers(
            funnel.days,
            contacts,
            rng=self.rng,
            zone=self.zone,
            first_day=self.first_day,
            today=self.today,
        )
        return funnel

    # -- traffic and sign-ups ------------------------------------------------------------------

    def _days(self) -> Iterator[tuple[date, float]]:
        """Each day from the warm-up on, with the leads expected that day (a slow rise)."""
        span = (self.today - self.warm_day).days or 1
        day = self.warm_day
        while day <= self.today:
            trend = 0.93 + 0.14 * (day - self.warm_day).days / span
            month = self._factor("leads", day)
            yield day, self.leads_per_day * WEEKDAY_SHARE[day.weekday()] * trend * month
            day += timedelta(days=1)

    def _factor(self, stage: str, day: date) -> float:
        """A month's own mood for a stage: campaigns, holidays, a good or a bad month."""
        key = (stage, day.year, day.month)
        if key not in self.month_factor:
            self.month_factor[key] = self.rng.uniform(0.96, 1.04)
        return self.month_factor[key]

    def _signups(self, day: date, expected: float) -> list[SampleContact]:
        count = max(0, round(self.rng.gauss(expected, math.sqrt(expected))))
        out = []
        for _ in range(count):
            (hour,) = self.rng.choices(range(24), weights=SIGNUP_HOURS)
            local = time(hour, self.rng.randrange(60), self.rng.randrange(60))
            at = whole_second(datetime.combine(day, local, self.zone))
            if at <= self.until:
                out.append(self._person(at))
        return out

    def _person(self, lead_at: datetime) -> SampleContact:
        rng = self.rng
        return SampleContact(
            rng.choice(FIRST_NAMES),
            rng.choice(LAST_NAMES),
            rng.choice(COMPANIES),
            {"leads": lead_at},
        )

    def _visits(self, day: date, expected_leads: float) -> int:
        """Visits that would bring the day's expected leads at about the agreed rate."""
        visits = expected_leads / (self.lead_rate * self.rng.uniform(0.9, 1.1))
        if day == self.today:  # today so far, in proportion to the hours' sign-ups
            local = self.until.astimezone(self.zone)
            visits *= sum(SIGNUP_HOURS[: local.hour]) / sum(SIGNUP_HOURS)
        return round(visits)

    # -- the way down the funnel ---------------------------------------------------------------

    def _converts(self, stage: str, since: datetime) -> bool:
        rate = float(self.agreement.stage(stage).rate or 1) * PERFORMANCE[stage]
        return self.quota.take(stage, rate * self._factor(stage, since.astimezone(self.zone)))

    def _later(self, at: datetime, low: float, high: float, share: float | None = None) -> datetime:
        """`at` plus between `low` and `high` business days (`share` of the way, or at random)."""
        share = self.rng.random() if share is None else share
        return whole_second(self.clock.add(at, self.day * (low + (high - low) * share)))

    def _spread(self, stage: str) -> float:
        """The next of a stage's delays, as a share in [0, 1): a golden-ratio sequence, so
        the delays of consecutive contacts spread evenly and no month gets a lump by chance."""
        self.spread[stage] = (self.spread.get(stage, self.rng.random()) + GOLDEN) % 1
        return self.spread[stage]

    def _step(
        self, contacts: list[SampleContact], stage: str, when: Callable[[SampleContact], datetime]
    ) -> Iterator[tuple[datetime, SampleContact]]:
        """The contacts that move on to `stage` by `until`, and when: each would move at
        `when(contact)`, and the quota decides in that order, so a month's count follows the
        flow into it closely."""
        moves = sorted(((when(c), c) for c in contacts), key=lambda move: move[0])
        for at, contact in moves:
            if at <= self.until and self._converts(stage, at):
                yield at, contact

    def _progress(self, leads: list[SampleContact]) -> None:
        """Down the funnel, stage by stage; a step after `until` has not happened yet."""
        for handoff, contact in self._step(leads, "mqls", self._handoff):
            self._hand_off(contact, handoff)
        mqls = sorted((c for c in leads if "mqls" in c.stages), key=lambda c: c.stages["mqls"])
        for at, contact in self._step(mqls, "sqls", lambda c: self._after(c, "mqls", 0.5, 6)):
            contact.stages["sqls"] = at
        sqls = sorted((c for c in mqls if "sqls" in c.stages), key=lambda c: c.stages["sqls"])
        for at, contact in self._step(sqls, "proposals", lambda c: self._after(c, "sqls", 2, 12)):
            contact.stages["proposals"] = at
            contact.deal = self._deal(contact, at)
        proposals = sorted((c for c in sqls if c.deal), key=lambda c: c.stages["proposals"])
        moves = sorted(
            ((self._after(c, "proposals", 5, 35), c) for c in proposals), key=lambda m: m[0]
        )
        for closed, contact in moves:
            assert contact.deal is not None
            if closed <= self.until:
                close_deal(contact, contact.deal, closed, self._converts("customers", closed))
            else:
                self._still_open(contact.deal)
        for contact in mqls:
            self._last_contacted(contact)

    def _handoff(self, contact: SampleContact) -> datetime:
        """When marketing would hand the lead over: days later, mostly in business hours."""
        handoff = whole_second(contact.created + timedelta(days=0.3 + 7.7 * self._spread("leads")))
        if self.rng.random() < BUSINESS_HOURS_HANDOFFS:
            handoff = self._later(handoff, 0, 1)
        return handoff

    def _after(self, contact: SampleContact, stage: str, low: float, high: float) -> datetime:
        """A next step, `low` to `high` business days after `stage` (after the first touch)."""
        since = contact.stages[stage]
        if contact.first_touch is not None:
            since = max(since, contact.first_touch)
        return self._later(since, low, high, self._spread(stage))

    def _hand_off(self, contact: SampleContact, handoff: datetime) -> None:
        rep = self.rng.choices(self.reps, weights=[r.share for r in self.reps])[0]
        touch = self._first_touch(handoff, rep)
        if touch is None:
            return  # handed off moments ago: still a lead at `until`
        contact.stages["mqls"], contact.owner, contact.first_touch = handoff, rep.owner_id, touch
        contact.late = touch > rule_times(self.clock, self.rule, handoff).deadline
        contact.engagement_tracked = self.rng.random() < ENGAGEMENT_TRACKED

    def _first_touch(self, handoff: datetime, rep: Rep) -> datetime | None:
        within = self.clock.span(parse_duration(self.rule.within))
        if self.quota.take(f"late:{rep.owner_id}", rep.slow):
            wait = within + within * self.rng.uniform(0.05, 2.5)
        else:
            wait = min(within - timedelta(minutes=4), within * self.rng.expovariate(1 / 0.3))
            wait += timedelta(minutes=2)
        touch = whole_second(self.clock.add(handoff, wait))
        if touch <= self.until:
            return touch
        room = self.clock.between(handoff, self.until)  # touched this morning, before `until`
        if room < TOO_RECENT:
            return None
        return whole_second(self.clock.add(handoff, room * self.rng.uniform(0.3, 0.95)))

    def _last_contacted(self, contact: SampleContact) -> None:
        touch = contact.first_touch
        assert touch is not None
        if not contact.engagement_tracked:
            contact.last_contacted = touch  # the only trace of the first touch
            return
        latest = max(touch, *contact.stages.values())
        contact.last_contacted = min(self._later(latest, 0, 2), self.until)

    def _still_open(self, deal: SampleDeal) -> None:
        """A deal not closed by `until`: its stage by how far it is towards its expected close."""
        age = (self.until - deal.created) / (deal.expected_close - deal.created)
        stages = ("appointmentscheduled", "qualifiedtobuy", "contractsent")
        deal.stage = stages[min(2, max(0, int(age * 3)))]
        deal.modified = whole_second(
            deal.created + (self.until - deal.created) * self.rng.uniform(0.2, 1)
        )

    def _deal(self, contact: SampleContact, proposal: datetime) -> SampleDeal:
        average = float(self.agreement.average_deal_size)
        spread = self.rng.lognormvariate(-0.045, 0.3)  # about 30% either way, mean 1
        amount = int(round(average * spread / 500) * 500)
        return SampleDeal(
            name=f"{contact.company}: {self.rng.choice(DEAL_KINDS)}",
            owner=contact.owner or "",
            created=proposal,
            amount=max(5000, amount),
            expected_close=whole_second(proposal + timedelta(days=self.rng.uniform(20, 50))),
        )
