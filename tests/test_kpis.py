"""KPI arithmetic: pacing at exact thresholds, windows, rates, extra KPIs, revenue and its risk."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from bot.kpis import (
    KpiResult,
    Window,
    downstream_conversion,
    kpi_metrics,
    kpi_window,
    local_today,
    pace_status,
    period_to_date,
    revenue_at_risk,
    revenue_kpi,
    team_kpis,
)
from models.agreement import Agreement
from models.agreement_loader import parse_agreement
from tests.utils.agreements import edit

# A leap-year quarter: 31 + 29 + 31 = 91 days. Targets: customers 100000 / 5000 = 20,
# leads 20 / 0.1 = 200, visits 200 / 0.05 = 4000.
TEXT = """\
name: KPI test SLA
period: {start: 2028-01-01, end: 2028-03-31}
timezone: America/Chicago
currency: USD
revenue_goal: 100000
average_deal_size: 5000
teams:
  marketing: {lead: U01MKT}
  sales: {lead: U01SALES}
  customer_success: {lead: U01CS}
funnel:
  - {stage: visits, team: marketing}
  - {stage: leads, team: marketing, rate: 0.05}
  - {stage: customers, team: sales, rate: 0.1}
kpis:
  - {id: churn_rate, team: customer_success, metric: churned, per: active, target: "<= 0.02",
     every: month}
  - {id: demos, team: sales, metric: demos, target: 91, every: period}
  - {id: calls, team: sales, metric: calls, target: ">= 50", every: week}
business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
channels: {progress: C01PROGRESS, alerts: C01ALERTS, wins: C01WINS}
"""
START, END = date(2028, 1, 1), date(2028, 3, 31)
WHOLE = Window(START, END)


def agreement(*replacements: tuple[str, str]) -> Agreement:
    return parse_agreement(edit(TEXT, *replacements) if replacements else TEXT)


A = agreement()


def kpis_at(
    today: date,
    counts: dict[str, int],
    sums: dict[Window, dict[str, float]] | None = None,
    of: Agreement = A,
) -> dict[str, KpiResult]:
    window = Window(of.period.start, min(today, of.period.end)) if today >= START else None
    teams = team_kpis(of, counts=counts, kpi_sums=sums or {}, window=window, today=today)
    return {kpi.id: kpi for kpis in teams.values() for kpi in kpis}


@pytest.mark.parametrize(
    ("pace", "status"),
    [
        (Fraction(19, 20), "on_track"),
        (Fraction(19, 20) - Fraction(1, 10**12), "behind"),
        (Fraction(4, 5), "behind"),
        (Fraction(4, 5) - Fraction(1, 10**12), "at_risk"),
        (Decimal("0.95"), "on_track"),
        (Decimal("0.7999"), "at_risk"),
        (Fraction(3, 2), "on_track"),
        (0, "at_risk"),
        (None, "no_data"),
    ],
)
def test_pace_status_thresholds(pace: Fraction | Decimal | int | None, status: str) -> None:
    assert pace_status(pace) == status


@pytest.mark.parametrize(
    ("customers", "pace", "status"),
    [(19, 0.95, "on_track"), (16, 0.8, "behind"), (15, 0.75, "at_risk"), (20, 1.0, "on_track")],
)
def test_stage_pace_exactly_at_the_thresholds(customers: int, pace: float, status: str) -> None:
    kpi = kpis_at(END, {"customers": customers})["customers"]
    assert (kpi.actual, kpi.target, kpi.target_to_date) == (customers, 20, 20)
    assert (kpi.pace, kpi.status) == (pace, status)


def test_rate_pace_is_exact_where_floats_would_flip_the_status() -> None:
    # In floats 0.04 / 0.05 is 0.7999999999999999 (at risk); exactly it is 0.8 (behind).
    kpis = kpis_at(END, {"visits": 100, "leads": 4, "customers": 0})
    assert (kpis["leads_rate"].actual, kpis["leads_rate"].target) == (0.04, 0.05)
    assert (kpis["leads_rate"].pace, kpis["leads_rate"].status) == (0.8, "behind")
    # 19 / 200 = 0.095 against 0.1: exactly 0.95.
    kpis = kpis_at(END, {"visits": 4000, "leads": 200, "customers": 19})
    assert (kpis["customers_rate"].pace, kpis["customers_rate"].status) == (0.95, "on_track")


def test_a_rate_over_an_empty_stage_above_has_no_data() -> None:
    kpi = kpis_at(END, {"visits": 0, "leads": 3})["leads_rate"]
    assert (kpi.actual, kpi.pace, kpi.status, kpi.target_to_date) == (None, None, "no_data", 0.05)


def test_team_kpis_mid_period_by_hand() -> None:
    # 14 of 91 days: visits ceil(4000*14/91 = 615.4) = 616, leads ceil(30.8) = 31, customers 4.
    today = date(2028, 1, 14)
    teams = team_kpis(
        A,
        counts={"visits": 600, "leads": 31, "customers": 2},
        kpi_sums={},
        window=Window(START, today),
        today=today,
    )
    assert list(teams) == ["marketing", "sales", "customer_success"]
    assert {team: [k.id for k in kpis] for team, kpis in teams.items()} == {
        "marketing": ["visits", "leads", "leads_rate"],
        "sales": ["customers", "customers_rate", "demos", "calls"],
        "customer_success": ["churn_rate"],
    }
    kpis = {k.id: k for k in teams["marketing"] + teams["sales"]}
    assert [kpis[s].target_to_date for s in ("visits", "leads", "customers")] == [616, 31, 4]
    assert kpis["visits"].status == "on_track"  # 600 / 616 = 0.974
    assert kpis["visits"].forecast == pytest.approx(600 / 14 * 91)  # 3900
    assert (kpis["leads"].pace, kpis["leads"].status) == (1.0, "on_track")
    assert (kpis["customers"].pace, kpis["customers"].status) == (0.5, "at_risk")
    assert kpis["leads_rate"].actual == pytest.approx(31 / 600)
    assert kpis["customers_rate"].status == "at_risk"  # 2/31 = 0.065 against 0.1


def test_before_the_period_nothing_has_started() -> None:
    assert period_to_date(A, datetime(2028, 1, 1, 5, 59, tzinfo=UTC)) is None  # 23:59 local
    assert period_to_date(A, datetime(2028, 1, 1, 6, 0, tzinfo=UTC)) == Window(START, START)
    kpis = kpis_at(date(2027, 12, 31), {})
    assert {k.status for k in kpis.values()} == {"not_started"}
    assert {k.target_to_date for k in kpis.values() if k.kind != "rate"} == {0}
    assert {k.forecast for k in kpis.values()} == {None}
    revenue = revenue_kpi(A, won=Decimal(0), window=None, today=date(2027, 12, 31))
    assert (revenue.target_to_date, revenue.pace, revenue.status) == (0.0, None, "not_started")


def test_after_the_period_targets_are_whole_and_the_forecast_is_the_actual() -> None:
    assert period_to_date(A, datetime(2028, 6, 1, tzinfo=UTC)) == WHOLE
    kpis = kpis_at(date(2028, 6, 1), {"visits": 3000, "leads": 150, "customers": 15})
    assert [kpis[s].target_to_date for s in ("visits", "leads", "customers")] == [4000, 200, 20]
    assert kpis["customers"].forecast == 15.0
    assert kpis["visits"].status == "at_risk"  # 0.75


def test_leap_day_counts_in_the_period() -> None:
    # 31 + 29 = 60 days elapsed on Feb 29: customers ceil(20 * 60 / 91 = 13.2) = 14.
    kpi = kpis_at(date(2028, 2, 29), {"customers": 10})["customers"]
    assert kpi.target_to_date == 14
    assert kpi.forecast == pytest.approx(10 / 60 * 91)
    february = agreement(("2028-01-01, end: 2028-03-31", "2028-02-01, end: 2028-02-29"))
    assert february.days == 29
    whole = kpis_at(date(2028, 2, 29), {"customers": 20}, of=february)["customers"]
    assert (whole.target_to_date, whole.forecast) == (20, 20.0)
    half = kpis_at(date(2028, 2, 28), {"customers": 19}, of=february)["customers"]
    assert half.target_to_date == 20  # ceil(20 * 28 / 29 = 19.3)


@pytest.mark.parametrize(
    ("at", "today"),
    [
        # Before the DST change (CST, UTC-6): the last evening of February and March 1st.
        (datetime(2028, 3, 1, 5, 30, tzinfo=UTC), date(2028, 2, 29)),  # 23:30 local
        (datetime(2028, 3, 1, 6, 30, tzinfo=UTC), date(2028, 3, 1)),  # 00:30 local
        # After it (CDT from March 12, UTC-5): the last evening of March and April 1st.
        (datetime(2028, 4, 1, 4, 30, tzinfo=UTC), date(2028, 3, 31)),  # 23:30 local
        (datetime(2028, 4, 1, 5, 30, tzinfo=UTC), date(2028, 4, 1)),  # 00:30 local
    ],
)
def test_the_local_date_of_an_instant_follows_dst(at: datetime, today: date) -> None:
    assert local_today(A, at) == today
    assert period_to_date(A, at) == Window(START, min(today, END))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_today(A, datetime(2028, 1, 1))


@pytest.mark.parametrize(
    ("every", "today", "window"),
    [
        ("day", date(2028, 2, 10), (date(2028, 2, 10), date(2028, 2, 10))),
        ("week", date(2028, 1, 5), (date(2028, 1, 3), date(2028, 1, 5))),  # Mon .. Wed
        ("week", date(2028, 1, 1), (START, START)),  # a Saturday: its week began in 2027
        ("month", date(2028, 2, 10), (date(2028, 2, 1), date(2028, 2, 10))),
        ("quarter", date(2028, 2, 10), (START, date(2028, 2, 10))),
        ("period", date(2028, 2, 10), (START, date(2028, 2, 10))),
        ("month", date(2028, 5, 2), (date(2028, 3, 1), END)),  # after the period: its last month
    ],
)
def test_kpi_windows_are_clipped_to_the_period_and_today(
    every: str, today: date, window: tuple[date, date]
) -> None:
    assert kpi_window(A, every, today) == Window(*window)


def test_kpi_windows_before_the_period_and_the_metrics_they_need() -> None:
    assert kpi_window(A, "month", date(2027, 12, 31)) is None
    assert kpi_metrics(A, date(2027, 12, 31)) == {}
    assert kpi_metrics(A, date(2028, 2, 10)) == {
        Window(date(2028, 2, 1), date(2028, 2, 10)): {"churned", "active"},
        Window(START, date(2028, 2, 10)): {"demos"},
        Window(date(2028, 2, 7), date(2028, 2, 10)): {"calls"},
    }


FEB = Window(date(2028, 2, 1), date(2028, 2, 10))


@pytest.mark.parametrize(
    ("churned", "active", "actual", "pace", "status"),
    [
        (2, 100, 0.02, 1.0, "on_track"),
        (2, 95, 2 / 95, 0.95, "on_track"),  # 0.02 / (2/95) is exactly 0.95
        (1, 40, 0.025, 0.8, "behind"),  # in floats 0.02 / 0.025 is 0.7999999999999999
        (3, 100, 0.03, 2 / 3, "at_risk"),
        (0, 100, 0.0, None, "on_track"),  # nothing churned meets a "<=" target
        (5, 0, None, None, "no_data"),  # no active customers: no ratio
    ],
)
def test_a_ratio_kpi_with_an_upper_bound(
    churned: float, active: float, actual: float | None, pace: float | None, status: str
) -> None:
    kpi = kpis_at(date(2028, 2, 10), {}, {FEB: {"churned": churned, "active": active}})
    churn = kpi["churn_rate"]
    assert (churn.actual, churn.pace, churn.status) == (actual, pace, status)
    assert (churn.target, churn.target_to_date, churn.op, churn.team) == (
        0.02,
        0.02,
        "<=",
        "customer_success",
    )


def test_a_count_kpi_over_the_period_is_pro_rated_like_a_stage() -> None:
    to_date = Window(START, date(2028, 1, 14))
    demos = kpis_at(date(2028, 1, 14), {}, {to_date: {"demos": 13.0}})["demos"]
    assert (demos.target, demos.target_to_date, demos.actual) == (91, 14, 13.0)  # 91 * 14 / 91
    assert demos.status == "behind"  # 13 / 14 = 0.93
    assert demos.forecast == pytest.approx(13 / 14 * 91)
    # A target that is not whole is pro-rated exactly: 45.5 * 1 / 91 = 0.5, not 1.
    half = agreement(("target: 91, every: period", "target: 45.5, every: period"))
    first_day = kpis_at(START, {}, {Window(START, START): {"demos": 0.5}}, of=half)["demos"]
    assert (first_day.target_to_date, first_day.pace, first_day.status) == (0.5, 1.0, "on_track")


def test_a_weekly_count_kpi_is_paced_by_the_share_of_the_week_gone_by() -> None:
    # On Wednesday, 3 of the week's 7 days are gone: 50 calls a week means 150/7 by now.
    wednesday = Window(date(2028, 1, 3), date(2028, 1, 5))
    calls = kpis_at(date(2028, 1, 5), {}, {wednesday: {"calls": 16.0}})["calls"]
    assert calls.target_to_date == pytest.approx(150 / 7)
    assert (calls.actual, calls.status) == (16.0, "at_risk")
    assert calls.forecast is None
    # On Sunday the whole target is due.
    week = Window(date(2028, 1, 3), date(2028, 1, 9))
    calls = kpis_at(date(2028, 1, 9), {}, {week: {"calls": 40.0}})["calls"]
    assert (calls.actual, calls.target_to_date, calls.pace, calls.status) == (
        40.0,
        50,
        0.8,
        "behind",
    )
    # Decimals typed into a metric are read as written: 47.5 / 50 is exactly 0.95.
    calls = kpis_at(date(2028, 1, 9), {}, {week: {"calls": 47.5}})["calls"]
    assert calls.status == "on_track"


@pytest.mark.parametrize(
    ("won", "status"),
    [("95000", "on_track"), ("80000", "behind"), ("79999.99", "at_risk")],
)
def test_revenue_at_the_end_of_the_period(won: str, status: str) -> None:
    revenue = revenue_kpi(A, won=Decimal(won), window=WHOLE, today=date(2028, 4, 2))
    assert (revenue.actual, revenue.target, revenue.target_to_date) == (
        float(won),
        100000.0,
        100000.0,
    )
    assert revenue.status == status
    assert revenue.forecast == float(won)


def test_revenue_goal_is_pro_rated_exactly_without_rounding_up() -> None:
    odd = agreement(("revenue_goal: 100000", "revenue_goal: 1000.5"))
    revenue = revenue_kpi(odd, won=Decimal("5.5"), window=Window(START, START), today=START)
    assert revenue.target_to_date == float(Fraction("1000.5") / 91)  # 10.99, not 11
    assert revenue.pace == float(Fraction("5.5") / (Fraction("1000.5") / 91))
    mid = revenue_kpi(
        A, won=Decimal(14000), window=Window(START, date(2028, 1, 14)), today=date(2028, 1, 14)
    )
    assert mid.target_to_date == pytest.approx(100000 * 14 / 91)
    assert mid.forecast == pytest.approx(91000.0)


def test_downstream_conversion_uses_observed_rates_and_falls_back_to_agreed_ones() -> None:
    counts = {"visits": 0, "leads": 50, "customers": 10}
    assert downstream_conversion(A, counts, "customers") == 1
    assert downstream_conversion(A, counts, "leads") == Fraction(1, 5)
    # No visits counted: the agreed 0.05 from visits to leads, then the observed 1/5.
    assert downstream_conversion(A, counts, "visits") == Fraction(1, 100)
    # More customers than leads in a window (timing) does not convert above 1.
    assert downstream_conversion(A, {"leads": 5, "customers": 10}, "leads") == 1
    with pytest.raises(ValueError, match="proposals"):
        downstream_conversion(A, counts, "proposals")


def test_revenue_at_risk() -> None:
    assert revenue_at_risk(3, Fraction(1, 5), Decimal(5000)) == Decimal("3000.00")
    assert revenue_at_risk(1, Fraction(1, 3), Decimal(1000)) == Decimal("333.33")
    assert revenue_at_risk(0, Fraction(1, 5), Decimal(5000)) == 0
    assert revenue_at_risk(4, None, Decimal(5000)) == 0


def test_results_serialise_with_the_contract_keys() -> None:
    kpis = kpis_at(date(2028, 1, 14), {"visits": 600, "leads": 31, "customers": 2})
    data = json.loads(json.dumps([k.as_json() for k in kpis.values()]))
    assert {"id", "actual", "target_to_date", "target", "pace", "status"} <= set(data[0])
    assert data[0] == kpis["visits"].as_json()
