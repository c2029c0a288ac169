"""The demo's sample data: valid, reproducible, and telling the story it should through the real
sync, check and status (fake HubSpot and Slack over HTTP, a real SQLite store)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.check import run_check
from bot.clock import BusinessClock
from bot.followup import LeadFacts, evaluate
from bot.funnel import months, reverse_funnel
from bot.kpis import Window
from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.sample_data import (
    DEMO_AT,
    PEOPLE,
    demo_agreement,
    demo_agreement_yaml,
    sample_funnel,
    seed_hubspot,
    seed_slack,
    write_metrics_csv,
)
from bot.sandbox.sample_funnel import followup_rule
from bot.sandbox.slack import FakeSlack
from bot.status import build_status
from bot.wins import recent_wins
from models.agreement import HubspotSource, MetricsCsvSource
from models.agreement_loader import load_agreement
from models.db import session_scope
from models.ingest import MetricRecord
from models.kpi_queries import stage_counts
from scheduler.sources.csv_files import read_metrics
from scheduler.sources.hubspot_client import HubSpotConfig, SystemClock
from scheduler.sync import sync_sources
from tests.utils.store import store_agreement

SPEED = 50.0
CHICAGO = ZoneInfo("America/Chicago")
ALERTS = ("due_soon", "breached", "escalated")


def write_world(folder: Path) -> Path:
    """The demo agreement and its metrics file, side by side as the demo writes them."""
    (folder / "agreement.yaml").write_text(demo_agreement_yaml(), encoding="utf-8")
    write_metrics_csv(folder / "visits.csv")
    return folder / "agreement.yaml"


def test_the_demo_agreement_validates_and_names_the_seeded_people(tmp_path: Path) -> None:
    agreement = load_agreement(write_world(tmp_path))
    crm, traffic = agreement.sources
    assert isinstance(crm, HubspotSource) and isinstance(traffic, MetricsCsvSource)
    assert crm.stages == {
        "leads": "lead",
        "mqls": "marketingqualifiedlead",
        "sqls": "salesqualifiedlead",
        "proposals": "opportunity",
        "customers": "customer",
    }
    assert traffic.path == str(tmp_path / "visits.csv")
    assert reverse_funnel(agreement).target("customers") == 40  # examples/agreement.yaml's plan

    with FakeSlack() as slack:
        names = seed_slack(slack)
        in_slack = {user.id for user in slack.users.values()}
    named = {team.lead for team in agreement.teams.values()} | set(agreement.admins)
    named |= {user for rule in agreement.followup for user in rule.escalate_to}
    assert named <= in_slack
    channels = agreement.channels
    shown = [channels.progress, channels.alerts, channels.wins]
    assert {*shown, *(team.channel for team in agreement.teams.values())} <= set(names)
    assert names["U01SALESLEAD"] == "maria" and names["C01ALERTS"] == "alerts"
    assert len(in_slack) == len(PEOPLE) - 1  # one rep's CRM email matches nobody in Slack


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    def portal(seed: int) -> tuple[object, ...]:
        fake = FakeHubSpot()
        summary = seed_hubspot(fake, seed=seed)
        records = {
            kind: [(r.id, r.properties, r.updated_at) for r in objects.values()]
            for kind, objects in fake.objects.items()
        }
        return summary, records, fake.owners

    assert portal(2027) == portal(2027)
    assert portal(2027)[1] != portal(2028)[1]
    write_metrics_csv(tmp_path / "a.csv")
    write_metrics_csv(tmp_path / "b.csv")
    write_metrics_csv(tmp_path / "c.csv", seed=7)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


@pytest.mark.parametrize(
    "until",
    [
        DEMO_AT,
        datetime(2027, 6, 5, 12, 0, tzinfo=CHICAGO),  # a Saturday
        datetime(2027, 6, 1, 7, 0, tzinfo=CHICAGO),  # before opening, the day after Memorial Day
        datetime(2027, 3, 10, 16, 0, tzinfo=CHICAGO),  # across the DST change
    ],
)
def test_only_the_scripted_leads_are_open_whatever_the_instant(until: datetime) -> None:
    agreement = demo_agreement()
    clock, rule = BusinessClock.of(agreement), followup_rule(agreement)
    funnel = sample_funnel(until=until)
    states: Counter[str] = Counter()
    for n, contact in enumerate(funnel.contacts):
        assert contact.last_change <= until
        assert list(contact.stages.values()) == sorted(contact.stages.values())
        if "mqls" not in contact.stages:
            continue
        facts = LeadFacts(n, str(n), contact.owner, contact.stages["mqls"], contact.first_touch)
        status = evaluate(clock, rule, facts, until)
        assert status is not None
        assert status.state == (contact.intended or status.state)
        assert contact.intended is not None or status.state in ("met", "late")
        assert (status.state == "late") == contact.late
        states[status.state] += 1
    assert {s: states[s] for s in ("pending", *ALERTS)} == {
        "pending": 1,
        "due_soon": 1,
        "breached": 3,
        "escalated": 1,
    }
    assert 0.85 <= states["met"] / (states["met"] + states["late"]) <= 0.95
    for deal in funnel.deals:
        assert deal.created <= (deal.modified or deal.created) <= until
        assert deal.closed is None or deal.created < deal.closed <= until
    in_slack = {person.owner_id for person in PEOPLE if person.slack_id and person.owner_id}
    week = until - timedelta(days=7)
    assert [
        d for d in funnel.deals if d.won and d.closed and d.closed > week and d.owner in in_slack
    ]


def test_the_metrics_file_reads_cleanly_and_matches_the_leads(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    written = write_metrics_csv(path)
    rows = list(read_metrics(path))
    assert len(rows) == written and all(isinstance(r, MetricRecord) for r in rows)
    by_metric: Counter[str] = Counter()
    for row in rows:
        assert isinstance(row, MetricRecord)
        if row.day.year == 2027:
            by_metric[row.metric] += int(row.value)
    leads = sum(1 for c in sample_funnel().contacts if c.created.astimezone(CHICAGO).year == 2027)
    assert 0.018 <= leads / by_metric["visits"] <= 0.022
    firsts = [r for r in rows if isinstance(r, MetricRecord) and r.metric == "active_customers"]
    assert [r.day.day for r in firsts] == [1] * 6 and all(150 < r.value < 250 for r in firsts)
    assert 0 < by_metric["churned_customers"] < 30


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_real_pipeline_tells_the_story(
    engine: AsyncEngine, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    agreement = load_agreement(write_world(tmp_path))
    await store_agreement(engine, agreement)
    names = seed_slack(fake_slack)
    started = time.perf_counter()
    with FakeHubSpot(speed=SPEED) as fake:
        summary = seed_hubspot(fake)
        seeded = time.perf_counter()
        config = HubSpotConfig(token=fake.token, base_url=fake.url, clock=SystemClock(SPEED))
        slack = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.url)
        results = await sync_sources(engine, agreement, at=DEMO_AT, hubspot=config, slack=slack)
    synced = time.perf_counter()
    assert [(r.name, r.status, r.bad, r.error) for r in results] == [
        ("crm", "ok", 0, None),
        ("traffic", "ok", 0, None),
    ]
    crm, _ = results
    assert crm.fetched == summary.contacts + summary.deals
    assert crm.note == "Slack: 4 owners matched, 1 with no Slack user"
    assert seeded - started < 10 and synced - seeded < 20, (seeded - started, synced - seeded)

    async with session_scope(engine) as session:
        check = await run_check(session, agreement, at=DEMO_AT)
    (rule,) = check.rules
    assert {state: rule.open[state] for state in ("pending", *ALERTS)} == {
        "pending": 1,
        "due_soon": 1,
        "breached": 3,
        "escalated": 1,
    }
    alerted = {(s.facts.external_id, s.state) for s in check.leads if s.state in ALERTS}
    assert alerted == {pair for pair in summary.open_leads if pair[1] in ALERTS}
    assert rule.compliance.ratio is not None and 0.80 <= rule.compliance.ratio <= 0.95
    (soon,) = [s for s in check.leads if s.state == "due_soon"]
    assert DEMO_AT < soon.times.deadline <= DEMO_AT + timedelta(hours=1)
    routed = [post for post in check.posts if "not matched" in post.text]
    assert len(routed) == 1 and routed[0].mentions[0] == "U01SALESLEAD"
    assert {post.user for post in check.posts if post.user} <= set(names)

    async with session_scope(engine) as session:
        status = await build_status(session, agreement, at=DEMO_AT)
        per_month = {
            month: await stage_counts(session=session, agreement=agreement, window=Window(a, b))
            for month, a, b in months(agreement.period.start, DEMO_AT.date() - timedelta(days=7))
        }
        wins = await recent_wins(session, since=DEMO_AT - timedelta(days=7), at=DEMO_AT)
    assert [owner.email for owner in status.unmatched_owners] == ["tom.becker@example.com"]
    assert wins.deals_won >= 1
    kpis = {kpi.id: kpi for team in status.teams.values() for kpi in team}
    assert kpis["sqls_rate"].status in ("behind", "at_risk")  # the story: MQLs to SQLs lag
    assert kpis["leads"].status == "on_track" and kpis["churn_rate"].actual is not None
    assert status.revenue.actual is not None and float(status.revenue.actual) > 500_000
    for stage in reverse_funnel(agreement).stages:
        for month, counts in per_month.items():
            planned = stage.per_month[month]
            # Within 60%-120% of the plan, give or take one record (customers are 7 a month).
            assert 0.6 * planned - 1 <= counts[stage.stage] <= 1.2 * planned + 1, (stage, month)


def test_the_sandbox_moves_the_period_so_now_stands_where_the_demo_instant_does() -> None:
    from bot.sandbox.world import agreement_text

    now = datetime(2026, 11, 30, 15, tzinfo=UTC)
    text = agreement_text(now, fixed=False)
    assert "period: {start: 2026-06-26, end: 2026-12-23}" in text  # day 158 of 181, as the demo
    assert agreement_text(now, fixed=True) == demo_agreement_yaml()


def test_a_sample_agreement_without_its_one_line_period_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.sandbox import world

    monkeypatch.setattr(world, "demo_agreement_yaml", lambda: "period:\n  start: 2027-01-01\n")
    with pytest.raises(ValueError, match="one-line"):
        world.agreement_text(datetime(2026, 11, 30, 15, tzinfo=UTC), fixed=False)
