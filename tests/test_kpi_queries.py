"""KPI aggregates over a real store (SQLite and PostgreSQL), filled through the sync upserts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.kpis import Window, kpi_metrics, period_to_date, team_kpis
from models.agreement_loader import parse_agreement
from models.db import session_scope
from models.ingest import (
    DealRecord,
    LeadStageRecord,
    MetricRecord,
    upsert_deals,
    upsert_leads,
    upsert_metrics,
)
from models.kpi_queries import (
    metric_sums,
    metric_sums_by_window,
    revenue_won,
    stage_counts,
    utc_bounds,
)
from tests.utils.agreements import MINIMAL, edit

# Europe/Berlin, 2027-01-01 .. 2027-03-31; summer time starts on 2027-03-28 (UTC+1 -> UTC+2).
AGREEMENT = parse_agreement(
    edit(
        MINIMAL,
        (
            "  - {stage: leads, team: sales}\n",
            "  - {stage: visits, team: sales}\n  - {stage: leads, team: sales, rate: 0.1}\n",
        ),
        (
            "business_hours:",
            "kpis:\n  - {id: churn_rate, team: sales, metric: churned, per: active,"
            ' target: "<= 0.02", every: month}\nbusiness_hours:',
        ),
    )
)
BERLIN = ZoneInfo("Europe/Berlin")
SYNCED = datetime(2027, 4, 2, 12, 0, tzinfo=UTC)
FEB = Window(date(2027, 2, 1), date(2027, 2, 28))
MARCH = Window(date(2027, 3, 1), date(2027, 3, 31))
APRIL = Window(date(2027, 4, 1), date(2027, 4, 30))


def berlin(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=BERLIN)


async def add_leads(engine: AsyncEngine, *entries: tuple[str, str, datetime]) -> None:
    rows = [LeadStageRecord(lead_id=i, stage=s, entered_at=t) for i, s, t in entries]
    async with session_scope(engine) as session:
        await upsert_leads(session=session, source="sheet", rows=rows, at=SYNCED)


async def add_metrics(engine: AsyncEngine, source: str, *rows: MetricRecord) -> None:
    async with session_scope(engine) as session:
        await upsert_metrics(session=session, source=source, rows=rows, at=SYNCED)


async def add_deals(engine: AsyncEngine, *won: tuple[str, str, datetime | None]) -> None:
    rows = [DealRecord(deal_id=i, amount=Decimal(a), closed_won_at=t) for i, a, t in won]
    async with session_scope(engine) as session:
        await upsert_deals(session=session, source="deals", rows=rows, at=SYNCED)


async def counts(engine: AsyncEngine, window: Window) -> dict[str, int]:
    async with session_scope(engine) as session:
        return await stage_counts(session=session, agreement=AGREEMENT, window=window)


def test_utc_bounds_are_local_midnights_on_both_sides_of_dst() -> None:
    assert utc_bounds(MARCH, BERLIN) == (
        datetime(2027, 2, 28, 23, 0, tzinfo=UTC),  # 00:00 CET
        datetime(2027, 3, 31, 22, 0, tzinfo=UTC),  # 00:00 CEST
    )
    chicago = ZoneInfo("America/Chicago")
    assert utc_bounds(Window(date(2028, 3, 12), date(2028, 3, 12)), chicago) == (
        datetime(2028, 3, 12, 6, 0, tzinfo=UTC),
        datetime(2028, 3, 13, 5, 0, tzinfo=UTC),  # a 23-hour day
    )


@pytest.mark.parametrize(
    ("day", "first", "after"),
    [
        # Santiago springs forward at midnight: 00:00 does not exist; the day starts at 01:00.
        (date(2027, 9, 5), datetime(2027, 9, 5, 4, 0), datetime(2027, 9, 6, 3, 0)),
        # It falls back at midnight: Saturday 23:00-24:00 happens twice and belongs to Saturday.
        (date(2027, 4, 3), datetime(2027, 4, 3, 3, 0), datetime(2027, 4, 4, 4, 0)),
    ],
)
def test_utc_bounds_where_dst_changes_at_midnight(
    day: date, first: datetime, after: datetime
) -> None:
    zone = ZoneInfo("America/Santiago")
    assert utc_bounds(Window(day, day), zone) == (
        first.replace(tzinfo=UTC),
        after.replace(tzinfo=UTC),
    )


async def test_empty_store_gives_zeros(engine: AsyncEngine) -> None:
    assert await counts(engine, MARCH) == {"visits": 0, "leads": 0, "customers": 0}
    async with session_scope(engine) as session:
        assert await metric_sums(session=session, metrics=["visits", "x"], window=MARCH) == {
            "visits": 0.0,
            "x": 0.0,
        }
        assert await metric_sums(session=session, metrics=[], window=MARCH) == {}
        won = await revenue_won(session=session, agreement=AGREEMENT, window=MARCH)
    assert won == 0
    assert isinstance(won, Decimal)


async def test_stage_counts_add_lead_entries_and_metric_values_in_the_window(
    engine: AsyncEngine,
) -> None:
    await add_metrics(
        engine,
        "traffic",
        MetricRecord("visits", date(2027, 2, 28), 7),
        MetricRecord("visits", date(2027, 3, 1), 100),
        MetricRecord("visits", date(2027, 3, 31), 50),
        MetricRecord("visits", date(2027, 4, 1), 9),
        MetricRecord("leads", date(2027, 3, 5), 3),
    )
    await add_metrics(engine, "manual", MetricRecord("visits", date(2027, 3, 15), 10, "sales"))
    await add_leads(
        engine,
        ("l1", "leads", berlin(3, 2)),
        ("l1", "customers", berlin(3, 20)),
        ("l2", "leads", berlin(3, 30)),
        ("l3", "leads", berlin(2, 10)),
    )
    await add_deals(engine, ("d1", "100", berlin(3, 10)))  # the bottom stage has lead rows
    assert await counts(engine, MARCH) == {"visits": 160, "leads": 5, "customers": 1}
    assert await counts(engine, FEB) == {"visits": 7, "leads": 1, "customers": 0}
    assert await counts(engine, Window(date(2027, 3, 2), date(2027, 3, 2))) == {
        "visits": 0,
        "leads": 1,
        "customers": 0,
    }


async def test_month_boundaries_follow_local_midnight_across_dst(engine: AsyncEngine) -> None:
    # Both the 23:30 and the 00:30 leads of each pair fall on the same UTC date.
    await add_leads(
        engine,
        ("feb-late", "leads", berlin(2, 28, 23, 30)),  # 22:30Z, February (CET)
        ("mar-early", "leads", berlin(3, 1, 0, 30)),  # 23:30Z on Feb 28, March
        ("mar-late", "leads", berlin(3, 31, 23, 30)),  # 21:30Z, March (CEST)
        ("apr-early", "leads", berlin(4, 1, 0, 30)),  # 22:30Z on Mar 31, April
    )
    assert [(await counts(engine, w))["leads"] for w in (FEB, MARCH, APRIL)] == [1, 2, 1]


@pytest.mark.parametrize("switch_off", ["lead row", "metric row"])
async def test_bottom_stage_counts_won_deals_until_the_store_has_its_own_rows(
    engine: AsyncEngine, switch_off: str
) -> None:
    await add_deals(
        engine,
        ("d1", "100", berlin(3, 10)),
        ("d2", "200", berlin(3, 31, 23, 30)),
        ("d3", "400", berlin(4, 1, 0, 30)),  # April, local time
        ("d4", "800", None),  # open
        ("d5", "1600", berlin(2, 15)),
    )
    assert await counts(engine, MARCH) == {"visits": 0, "leads": 0, "customers": 2}
    assert (await counts(engine, FEB))["customers"] == 1
    # One row of the bottom stage, outside the window even, switches the fallback off.
    if switch_off == "lead row":
        await add_leads(engine, ("c1", "customers", berlin(1, 5)))
    else:
        await add_metrics(engine, "manual", MetricRecord("customers", date(2027, 1, 5), 1))
    assert await counts(engine, MARCH) == {"visits": 0, "leads": 0, "customers": 0}
    assert (await counts(engine, Window(date(2027, 1, 1), date(2027, 1, 31))))["customers"] == 1


async def test_metric_sums_over_sources_teams_and_inclusive_days(engine: AsyncEngine) -> None:
    await add_metrics(
        engine,
        "sheet",
        MetricRecord("churned", date(2027, 3, 1), 1),
        MetricRecord("churned", date(2027, 3, 31), 1.5),
        MetricRecord("churned", date(2027, 4, 1), 100),
        MetricRecord("active", date(2027, 3, 10), 40, "sales"),
        MetricRecord("active", date(2027, 3, 10), 60, "marketing"),
    )
    await add_metrics(engine, "crm", MetricRecord("churned", date(2027, 3, 15), 0.25))
    async with session_scope(engine) as session:
        sums = await metric_sums(
            session=session, metrics=["churned", "active", "unknown"], window=MARCH
        )
        by_window = await metric_sums_by_window(
            session=session, wanted={MARCH: {"churned"}, APRIL: ["churned", "active"]}
        )
    assert sums == {"churned": 2.75, "active": 100.0, "unknown": 0.0}
    assert by_window == {MARCH: {"churned": 2.75}, APRIL: {"churned": 100.0, "active": 0.0}}


async def test_revenue_won_sums_closed_won_deals_in_the_window(engine: AsyncEngine) -> None:
    await add_deals(
        engine,
        ("d1", "1234.56", berlin(3, 1, 0, 0)),  # the window's first instant
        ("d2", "100.01", berlin(3, 31, 23, 59)),
        ("d3", "5000", berlin(4, 1, 0, 0)),  # the first instant after it
        ("d4", "7000", None),
    )
    async with session_scope(engine) as session:
        won = await revenue_won(session=session, agreement=AGREEMENT, window=MARCH)
        period = await revenue_won(session=session, agreement=AGREEMENT, window=AGREEMENT.period)
    assert won == Decimal("1334.57")
    assert period == Decimal("1334.57")


async def test_kpis_from_the_store_end_to_end(engine: AsyncEngine) -> None:
    at = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)  # day 69 of 90
    await add_leads(engine, *((f"l{n}", "leads", berlin(1, 1 + n)) for n in range(20)))
    await add_metrics(
        engine,
        "sheet",
        MetricRecord("visits", date(2027, 1, 20), 500),
        MetricRecord("churned", date(2027, 3, 2), 1),
        MetricRecord("active", date(2027, 3, 2), 40),
        MetricRecord("churned", date(2027, 2, 2), 9),  # last month: not in this month's ratio
    )
    window = period_to_date(AGREEMENT, at)
    assert window == Window(date(2027, 1, 1), date(2027, 3, 10))
    today = window.end
    async with session_scope(engine) as session:
        stage = await stage_counts(session=session, agreement=AGREEMENT, window=window)
        sums = await metric_sums_by_window(session=session, wanted=kpi_metrics(AGREEMENT, today))
    teams = team_kpis(AGREEMENT, counts=stage, kpi_sums=sums, window=window, today=today)
    kpis = {k.id: k for k in teams["sales"]}
    # Targets: customers 20, leads 200, visits 2000; to date ceil(x * 69 / 90).
    assert [(kpis[s].actual, kpis[s].target_to_date) for s in ("visits", "leads")] == [
        (500, 1534),
        (20, 154),
    ]
    assert kpis["leads_rate"].actual == 0.04
    assert (kpis["churn_rate"].actual, kpis["churn_rate"].status) == (0.025, "behind")
