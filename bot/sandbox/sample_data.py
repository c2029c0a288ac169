"""Sample data for `slabot demo` and the sandbox: the demo agreement, its people, a seeded CRM.

Six months of a plausible funnel (`bot.sandbox.sample_funnel`) are written into the fake HubSpot
(owners, contacts with their lifecycle-stage dates and first touches, deals) and into a metrics
CSV (visits, active and churned customers). Slack gets the people the agreement names and the
sales reps, except one rep whose CRM email matches nobody in Slack. Nothing reads the wall
clock: the data ends at `until` (the demo's `DEMO_AT` unless told otherwise).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.sample_funnel import generate
from bot.sandbox.sample_story import Rep, SampleContact, SampleDeal, SampleFunnel
from bot.sandbox.slack import FakeSlack
from models.agreement import Agreement, HubspotSource
from models.agreement_loader import parse_agreement

DEMO_AT = datetime(2027, 6, 7, 9, 30, tzinfo=ZoneInfo("America/Chicago"))  # a Monday morning
SPAN_DAYS = 182
SEED = 2027


@dataclass(frozen=True)
class Person:
    """Someone in the demo company: in Slack (`slack_id`) and, for a sales rep, in the CRM."""

    first: str
    last: str
    slack_id: str | None  # None: their CRM email matches no Slack user
    owner_id: str | None = None  # a sales rep's HubSpot owner id
    share: float = 1.0  # of the MQLs handed to reps
    slow: float = 0.1  # of their first touches that come after the deadline

    @property
    def handle(self) -> str:
        return self.first.lower()

    @property
    def email(self) -> str:
        return f"{self.first}.{self.last}@example.com".lower()


PEOPLE = (
    Person("Maria", "Santos", "U01SALESLEAD"),  # head of sales: escalations reach her
    Person("Jonah", "Reed", "U01MKTLEAD"),  # head of marketing
    Person("Aisha", "Bello", "U01CSLEAD"),  # customer success lead
    Person("Priya", "Raman", "U02PRIYA", "61725001", share=1.1, slow=0.05),
    Person("Daniel", "Kim", "U02DANIEL", "61725002", share=1.0, slow=0.08),
    Person("Lucas", "Moreau", "U02LUCAS", "61725003", share=1.0, slow=0.17),
    Person("Grace", "Okafor", "U02GRACE", "61725004", share=0.9, slow=0.09),
    Person("Tom", "Becker", None, "61725005", share=0.6, slow=0.12),  # a contractor, not in Slack
)
REPS = tuple(person for person in PEOPLE if person.owner_id)
CHANNELS = {
    "C01PROGRESS": "progress",
    "C01ALERTS": "alerts",
    "C01WINS": "wins",
    "C01MKT": "marketing",
    "C01SALES": "sales",
    "C01CS": "customer-success",
}

_AGREEMENT = """\
# The demo's agreement: examples/agreement.yaml, read from HubSpot and a traffic CSV.
name: Sales & Marketing SLA 2027 H1
period: {start: 2027-01-01, end: 2027-06-30}   # inclusive dates, in `timezone`
timezone: America/Chicago
currency: USD
revenue_goal: 1200000
average_deal_size: 30000

teams:
  marketing: {lead: U01MKTLEAD, channel: C01MKT}
  sales: {lead: U01SALESLEAD, channel: C01SALES}
  customer_success: {lead: U01CSLEAD, channel: C01CS}

funnel:          # top to bottom; rate = expected conversion from the stage above
  - {stage: visits,    team: marketing}
  - {stage: leads,     team: marketing, rate: 0.02}
  - {stage: mqls,      team: marketing, rate: 0.25}
  - {stage: sqls,      team: sales,     rate: 0.50}
  - {stage: proposals, team: sales,     rate: 0.50}
  - {stage: customers, team: sales,     rate: 0.30}

kpis:
  - {id: churn_rate, team: customer_success, metric: churned_customers,
     per: active_customers, target: "<= 0.02", every: month}

business_hours:
  days: [mon, tue, wed, thu, fri]
  start: "08:00"
  end: "17:00"
  holidays: {country: US, subdivision: WI, extra: [2027-12-24]}

followup:
  - name: mql-first-touch
    stage: mqls            # a lead entering this stage (hand-off) starts the clock
    within: 4h             # business time from hand-off to first touch
    warn_before: 1h
    escalate_after: 8h
    escalate_to: [U01SALESLEAD]
    target: 0.95

channels: {progress: C01PROGRESS, alerts: C01ALERTS, wins: C01WINS}
schedule:
  weekly_digest: "mon 09:00"
  monthly_report: "1 09:00"
  check_every: 5m
  sync_every: 15m
admins: [U01MKTLEAD, U01SALESLEAD]

sources:
  - {name: crm, kind: hubspot,
     stages: {leads: lead, mqls: marketingqualifiedlead, sqls: salesqualifiedlead,
              proposals: opportunity, customers: customer}}
  - {name: traffic, kind: metrics_csv, path: visits.csv}   # beside this file
"""


def demo_agreement_yaml() -> str:
    """The demo agreement's YAML (its metrics CSV is `visits.csv` beside it)."""
    return _AGREEMENT


def demo_agreement() -> Agreement:
    return parse_agreement(_AGREEMENT, file="demo agreement")


@dataclass(frozen=True)
class SampleSummary:
    """What was seeded, for a one-line summary (`line`) and for the demo's own steps."""

    first_day: date
    until: datetime
    owners: int
    owners_without_slack: int
    contacts: int
    leads: int
    mqls: int
    sqls: int
    proposals: int
    customers: int
    deals: int
    deals_won: int
    revenue_won: int  # all won deals seeded, from `first_day` (and the pipeline before it)
    followups_touched: int
    followups_late: int
    open_leads: tuple[tuple[str, str], ...]  # (HubSpot contact id, follow-up state at `until`)
    celebrated_owner: str  # HubSpot owner id of the rep in Slack with the most wins

    @property
    def followups_open(self) -> int:
        return len(self.open_leads)

    def open_in(self, state: str) -> list[str]:
        """The ids of the open leads meant to be in `state` at `until`."""
        return [lead for lead, meant in self.open_leads if meant == state]

    def line(self) -> str:
        return (
            f"{self.contacts:,} contacts: {self.leads:,} leads, {self.mqls:,} MQLs, "
            f"{self.sqls:,} SQLs, {self.proposals:,} proposals, {self.customers:,} customers; "
            f"{self.deals:,} deals, {self.deals_won:,} won (${self.revenue_won:,}); "
            f"{self.followups_touched:,} first touches, {self.followups_late:,} late, "
            f"{self.followups_open} open"
        )


def sample_funnel(
    *, until: datetime = DEMO_AT, days: int = SPAN_DAYS, seed: int = SEED
) -> SampleFunnel:
    """The generated records that `seed_hubspot` and `write_metrics_csv` write out."""
    reps = [Rep(p.owner_id or "", p.share, p.slow, p.slack_id is not None) for p in REPS]
    return generate(demo_agreement(), reps, until=until, days=days, seed=seed)


def seed_hubspot(
    fake: FakeHubSpot, *, until: datetime = DEMO_AT, days: int = SPAN_DAYS, seed: int = SEED
) -> SampleSummary:
    """Fill `fake` with the reps as owners and `days` days of contacts and deals up to `until`."""
    funnel = sample_funnel(until=until, days=days, seed=seed)
    for rep in REPS:
        fake.add_owner(rep.owner_id or "", rep.email, rep.first, rep.last)
    stage_ids = _stage_ids(demo_agreement())
    emails: set[str] = set()
    open_leads = []
    for contact in funnel.contacts:
        properties = _contact_properties(contact, stage_ids, emails)
        record = fake.add_contact(modified=contact.created, **properties)
        if contact.last_change > contact.created:
            fake.modify("contacts", record, modified=contact.last_change)
        if contact.intended is not None:
            open_leads.append((record, contact.intended))
    deals = funnel.deals
    for deal in deals:
        record = fake.add_deal(modified=deal.created, **_deal_properties(deal))
        if deal.modified is not None and deal.modified > deal.created:
            fake.modify("deals", record, modified=deal.modified)
    return _summary(funnel, deals, tuple(open_leads))


def seed_slack(fake: FakeSlack) -> dict[str, str]:
    """Add the people in Slack to `fake`; returns names by Slack id, people's and channels'."""
    names = dict(CHANNELS)
    for person in PEOPLE:
        if person.slack_id is not None:
            fake.add_user(person.email, person.handle, user_id=person.slack_id)
            names[person.slack_id] = person.handle
    return names


def write_metrics_csv(
    path: Path, *, until: datetime = DEMO_AT, days: int = SPAN_DAYS, seed: int = SEED
) -> int:
    """Daily visits, monthly active customers and daily churned ones; returns the rows written."""
    rows: list[tuple[str, str, int]] = []
    for item in sample_funnel(until=until, days=days, seed=seed).days:
        day = item.day.isoformat()
        rows.append((day, "visits", item.visits))
        if item.active is not None:
            rows.append((day, "active_customers", item.active))
        if item.churned:
            rows.append((day, "churned_customers", item.churned))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("date", "metric", "value"))
        writer.writerows(rows)
    return len(rows)


def _stage_ids(agreement: Agreement) -> dict[str, str]:
    """Funnel stage -> HubSpot lifecycle stage, from the agreement's HubSpot source."""
    for source in agreement.sources:
        if isinstance(source, HubspotSource):
            return source.stages
    raise ValueError("the demo agreement has no HubSpot source")


def _contact_properties(
    contact: SampleContact, stage_ids: dict[str, str], emails: set[str]
) -> dict[str, Any]:
    domain = re.sub(r"[^a-z0-9]+", "", contact.company.lower()) + ".example"
    email = f"{contact.first}.{contact.last}@{domain}".lower()
    n = 1
    while email in emails:  # HubSpot keeps one contact per email
        n += 1
        email = f"{contact.first}.{contact.last}{n}@{domain}".lower()
    emails.add(email)
    reached = max(contact.stages, key=lambda stage: contact.stages[stage])
    properties: dict[str, Any] = {
        "firstname": contact.first,
        "lastname": contact.last,
        "email": email,
        "company": contact.company,
        "createdate": contact.created,
        "lifecyclestage": stage_ids[reached],
    }
    for stage, entered in contact.stages.items():
        properties[f"hs_lifecyclestage_{stage_ids[stage]}_date"] = entered
    if contact.owner is not None:
        properties["hubspot_owner_id"] = contact.owner
    if contact.first_touch is not None and contact.engagement_tracked:
        properties["hs_sa_first_engagement_date"] = contact.first_touch
    if contact.last_contacted is not None:
        properties["notes_last_contacted"] = contact.last_contacted
    return properties


def _deal_properties(deal: SampleDeal) -> dict[str, Any]:
    return {
        "dealname": deal.name,
        "amount": str(deal.amount),
        "pipeline": "default",
        "dealstage": deal.stage,
        "createdate": deal.created,
        "closedate": deal.closed or deal.expected_close,  # open deals: the expected close
        "hs_is_closed_won": deal.won,
        "hubspot_owner_id": deal.owner,
    }


def _summary(
    funnel: SampleFunnel, deals: list[SampleDeal], open_leads: tuple[tuple[str, str], ...]
) -> SampleSummary:
    contacts = funnel.contacts
    counts = {
        stage: sum(1 for c in contacts if stage in c.stages)
        for stage in ("leads", "mqls", "sqls", "proposals", "customers")
    }
    won = [deal for deal in deals if deal.won]
    in_slack = {rep.owner_id or "" for rep in REPS if rep.slack_id is not None}
    wins = {owner: sum(1 for d in won if d.owner == owner) for owner in sorted(in_slack)}
    return SampleSummary(
        first_day=funnel.first_day,
        until=funnel.until,
        owners=len(REPS),
        owners_without_slack=len(REPS) - len(in_slack),
        contacts=len(contacts),
        **counts,
        deals=len(deals),
        deals_won=len(won),
        revenue_won=sum(deal.amount for deal in won),
        followups_touched=sum(1 for c in contacts if c.first_touch is not None),
        followups_late=sum(1 for c in contacts if c.late),
        open_leads=open_leads,
        celebrated_owner=max(wins, key=lambda owner: wins[owner]) if wins else "",
    )
