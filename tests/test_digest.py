"""The weekly digest and the monthly report on a real store (SQLite and PostgreSQL), by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.check import refresh_all_deadlines
from bot.digest import Report, monthly_report, weekly_digest
from bot.kpis import Window
from bot.report_window import closing, governing_agreement, opening, reported_window
from models.agreement import Agreement, Period
from models.agreement_loader import canonical_json
from models.agreements import apply_agreement
from models.db import session_scope
from models.ingest import DealRecord, LeadStageRecord, MetricRecord, upsert_deals, upsert_metrics
from models.tables import Kudos, Win
from tests.utils.store import CHICAGO, example, local, mql, store_agreement, store_leads

SYNCED = datetime(2027, 4, 1, tzinfo=UTC)


async def build(
    engine: AsyncEngine, agreement: Agreement, at: datetime, kind: str = "weekly"
) -> Report:
    async with session_scope(engine) as session:
        await refresh_all_deadlines(session, agreement, at=at)
    async with session_scope(engine) as session:
        if kind == "weekly":
            return await weekly_digest(session, agreement, at)
        return await monthly_report(session, agreement, at)


async def store_deals(engine: AsyncEngine, *deals: tuple[str, int, str]) -> None:
    rows = [DealRecord(d, Decimal(amount), closed_won_at=local(won)) for d, amount, won in deals]
    async with session_scope(engine) as session:
        await upsert_deals(session=session, source="deals", rows=rows, at=SYNCED)


@pytest.mark.parametrize(
    ("at", "label"),
    [
        ("2027-03-15 09:00", "2027-W10"),  # the Monday digest covers Mon 8 - Sun 14 March
        ("2027-03-15 00:00", "2027-W10"),  # the week ended exactly then
        ("2027-03-14 23:59", "2027-W09"),
        ("2027-01-04 09:00", "2026-W53"),
    ],
)
def test_the_reported_week(at: str, label: str) -> None:
    assert reported_window("weekly", CHICAGO, local(at)).label == label


def test_the_reported_month_and_the_dst_week() -> None:
    month = reported_window("monthly", CHICAGO, local("2027-03-01 09:00"))
    assert (month.label, month.first, month.last) == (
        "2027-02",
        date(2027, 2, 1),
        date(2027, 2, 28),
    )
    week = reported_window("weekly", CHICAGO, local("2027-03-15 09:00"))
    # Summer time starts on Sunday 14 March: that week is an hour short.
    first, last = opening(CHICAGO, week.first), closing(CHICAGO, week.last)
    assert last.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=167, microseconds=-1)
    assert first.astimezone(UTC) == datetime(2027, 3, 8, 6, tzinfo=UTC)
    assert last.astimezone(UTC) == datetime(2027, 3, 15, 5, tzinfo=UTC) - timedelta(microseconds=1)


async def fill_week_10(engine: AsyncEngine) -> Agreement:
    """Leads, deals, visits, kudos and wins around ISO week 2027-W10 (DST starts on its Sunday)."""
    agreement = await store_agreement(engine)
    await store_leads(
        engine,
        [
            mql("A", "2027-03-08 00:10", "2027-03-08 09:00"),  # clock opens 08:00: met in 1h
            mql("B", "2027-03-07 23:50"),  # the week before
            mql("G", "2027-03-02 10:00", "2027-03-02 10:30"),  # the week before
            mql("C", "2027-03-14 23:30"),  # Sunday night, summer time: this week, not yet due
            mql("D", "2027-03-15 00:10"),  # Monday: next week
            mql("E", "2027-03-10 09:00", "2027-03-10 15:00"),  # late: 6h of business time
            mql("F", "2027-03-11 10:00"),  # breached
            LeadStageRecord(  # the latest row of a lead says its first touch
                "A", "sqls", local("2027-03-12 10:00"), first_touch_at=local("2027-03-08 09:00")
            ),
        ],
    )
    await store_deals(
        engine,
        ("D-1", 20000, "2027-03-09 12:00"),
        ("D-2", 45000, "2027-03-12 12:00"),
        ("D-3", 10000, "2027-03-02 12:00"),
    )
    async with session_scope(engine) as session:
        await upsert_metrics(
            session=session,
            source="traffic",
            rows=[
                MetricRecord("visits", date(2027, 3, 8) + timedelta(days=i), 100) for i in range(7)
            ],
            at=SYNCED,
        )
        session.add(
            Kudos(
                from_user="U01ANA",
                to_user="U01BEN",
                text="great <call>",
                at=local("2027-03-10 12:00"),
            )
        )
        session.add(
            Win(key="m:1", kind="milestone", title="25% of mqls", at=local("2027-03-11 12:00"))
        )
        session.add(Win(key="deal:D-2", kind="deal", title="D-2", at=local("2027-03-12 12:00")))

    return agreement


async def test_weekly_digest_across_the_dst_change(engine: AsyncEngine) -> None:
    agreement = await fill_week_10(engine)
    report = await build(engine, agreement, local("2027-03-15 09:00"))

    assert report.key == "digest:weekly:2027-W10"
    assert report.as_of == closing(CHICAGO, date(2027, 3, 14))
    changes = {c.stage: c for c in report.changes}
    assert (changes["mqls"].current, changes["mqls"].previous, changes["mqls"].delta) == (4, 2, 2)
    assert changes["mqls"].ratio == 1.0
    assert (changes["customers"].current, changes["customers"].previous) == (2, 1)  # won deals
    kpis = {k.id: k for team in report.kpis.values() for k in team}
    # The week's share of the period's targets: ceil(target * 7 / 181).
    assert (kpis["mqls"].actual, kpis["mqls"].target_to_date) == (4, 21)
    assert (kpis["visits"].actual, kpis["visits"].target_to_date) == (700, 4126)
    assert kpis["customers"].target_to_date == 2 and kpis["customers"].status == "on_track"
    assert kpis["sqls_rate"].actual == 0.25
    rates = {r.id: r for r in report.rates}
    assert (rates["sqls_rate"].converted, rates["sqls_rate"].denominator) == (1, 4)
    (rule,) = report.followup
    # A met, E late, F breached; C's deadline is Monday.
    assert (rule.window.due, rule.window.met, rule.window.budget_left) == (3, 1, -2)
    assert rule.median_first_touch == timedelta(hours=3, minutes=30)  # 1h and 6h
    assert (rule.to_date.due, rule.to_date.met) == (5, 2)  # and B (breached), G (met)
    assert report.revenue.actual == 65000.0
    assert report.revenue.target_to_date == pytest.approx(1200000 * 7 / 181)
    assert report.revenue.status == "on_track"
    assert report.status.revenue.actual == 75000.0
    assert [(w.kind, w.title) for w in report.wins] == [
        ("deal", "D-2"),
        ("deal", "D-1"),
        ("kudos", "great <call>"),
        ("milestone", "25% of mqls"),
    ]
    series = report.series
    assert series.days[0] == date(2027, 1, 1) and series.days[-1] == date(2027, 3, 14)
    assert (
        series.cumulative[-1] == 75000.0
        and series.cumulative[series.days.index(date(2027, 3, 8))] == 10000.0
    )
    assert series.pace[-1] == pytest.approx(1200000 * 73 / 181)
    assert {s.name: s.stale for s in report.sources} == {
        "traffic": True,
        "sheet": True,
        "deals": True,
    }
    assert report.has_data and report.revision is None


async def test_empty_store_and_a_week_before_the_period(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    empty = await build(engine, agreement, local("2027-03-01 09:00"), kind="monthly")
    assert not empty.has_data
    assert empty.revision is None and empty.wins == []
    assert {k.status for team in empty.kpis.values() for k in team} >= {"at_risk", "no_data"}

    before = await build(engine, agreement, local("2026-12-21 09:00"))
    assert before.window.label == "2026-W51" and before.inside is None
    assert before.status.window is None and before.series.days == []
    assert {k.status for team in before.kpis.values() for k in team} == {"not_started"}
    assert not before.has_data

    first = await build(engine, agreement, local("2027-01-04 09:00"))
    # Dec 28 - Jan 3: only Jan 1-3 are the agreement's; the week before is outside it.
    assert first.inside == Window(date(2027, 1, 1), date(2027, 1, 3))
    kpis = {k.id: k for team in first.kpis.values() for k in team}
    assert kpis["mqls"].target_to_date == 9  # ceil(534 * 3 / 181)
    assert all(c.previous is None and c.delta is None for c in first.changes)


async def test_monthly_report_suggests_a_revision(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    rows = [
        mql(f"M{i}", f"2027-02-{1 + i % 28:02d} 10:00", f"2027-02-{1 + i % 28:02d} 11:00")
        for i in range(40)
    ]
    rows += [
        LeadStageRecord(
            f"M{i}", "sqls", local("2027-02-26 10:00"), first_touch_at=rows[i].first_touch_at
        )
        for i in range(10)
    ]
    await store_leads(engine, rows)
    report = await build(engine, agreement, local("2027-03-01 09:00"), kind="monthly")
    assert report.key == "digest:monthly:2027-02"
    kpis = {k.id: k for team in report.kpis.values() for k in team}
    assert (kpis["mqls"].actual, kpis["mqls"].target_to_date) == (40, 83)  # ceil(534 * 28 / 181)
    assert report.revision is not None
    (rate,) = report.revision.rates
    assert (rate.id, rate.observed, rate.denominator, rate.suggested) == (
        "sqls_rate",
        0.25,
        40,
        Decimal("0.25"),
    )
    assert rate.relative_change == -0.5
    # customers 40 -> proposals 134 -> sqls 267 stay; mqls = 800/3 / 0.25 rounded up, and above.
    assert [(s.stage, s.agreed, s.revised) for s in report.revision.stages] == [
        ("visits", 106667, 213334),
        ("leads", 2134, 4267),
        ("mqls", 534, 1067),
    ]
    (rule,) = report.followup
    assert (rule.window.due, rule.window.met) == (40, 40)
    assert rule.median_first_touch == timedelta(hours=1)


async def test_an_earlier_week_keeps_its_agreement(engine: AsyncEngine) -> None:
    h1 = await store_agreement(engine)
    spring = h1.model_copy(
        update={
            "name": "Spring reset",
            "revenue_goal": Decimal(1500000),
            "period": Period(start=date(2027, 3, 15), end=date(2027, 6, 30)),
        }
    )
    async with session_scope(engine) as session:
        await apply_agreement(
            session,
            agreement=spring,
            source_text=canonical_json(spring),
            file="test",
            by="test",
            at=local("2027-03-12 10:00"),
        )
    async with session_scope(engine) as session:
        later = await governing_agreement(session, "weekly", local("2027-03-22 09:00"))
        earlier = await governing_agreement(session, "weekly", local("2027-03-15 09:00"))
    assert later is not None and earlier is not None
    assert (later[1].label, later[0].name) == ("2027-W11", "Spring reset")
    # Applied on Friday 12 March, the reset governs from the 15th: W10 keeps the H1 targets.
    assert (earlier[1].label, earlier[0].name) == ("2027-W10", example().name)
    report = await build(engine, earlier[0], local("2027-03-15 09:00"))
    assert report.status.revenue.target == 1200000.0
