"""The reverse funnel: exact chain, each stage rounded up on its own, shares of sub-periods."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.funnel import iso_weeks, months, prorate, reverse_funnel
from models.agreement import Agreement
from models.agreement_loader import load_agreement, parse_agreement
from tests.conftest import CLI, EXAMPLES

BASE = (EXAMPLES / "agreement.yaml").read_text()


def agreement_with(
    goal: str, deal: str, rates: list[str], period: tuple[str, str] | None = None
) -> Agreement:
    """The example agreement with another goal, deal size and stage rates (top stage first)."""
    stages = ["visits", "leads", "mqls", "sqls", "proposals", "customers"][: len(rates) + 1]
    funnel = "funnel:\n  - {stage: visits, team: marketing}\n" + "".join(
        f"  - {{stage: {s}, team: sales, rate: {r}}}\n"
        for s, r in zip(stages[1:], rates, strict=True)
    )
    text = BASE.replace("revenue_goal: 1200000", f"revenue_goal: {goal}")
    text = text.replace("average_deal_size: 30000", f"average_deal_size: {deal}")
    start = text.index("funnel:")
    end = text.index("kpis:")
    text = text[:start] + funnel + "\n" + text[end:]
    text = text.replace("stage: mqls            #", f"stage: {stages[-1]}            #")
    if period:
        text = text.replace(
            "{start: 2027-01-01, end: 2027-06-30}", f"{{start: {period[0]}, end: {period[1]}}}"
        )
    return parse_agreement(text)


def test_example_targets() -> None:
    plan = reverse_funnel(load_agreement(EXAMPLES / "agreement.yaml"))
    assert [(s.stage, s.target) for s in plan.stages] == [
        ("visits", 106667),
        ("leads", 2134),
        ("mqls", 534),
        ("sqls", 267),
        ("proposals", 134),
        ("customers", 40),
    ]


def test_each_stage_is_rounded_on_its_own_not_from_the_rounded_stage_below() -> None:
    # 1,000,000 / 30,000 = 33.33 at the bottom -> 34; the stage above = 33.33 / 0.5 = 66.67
    # -> 67. Rounding the chain (34 / 0.5) would give 68: one too many.
    plan = reverse_funnel(agreement_with("1000000", "30000", ["0.02", "0.25", "0.5", "0.5"]))
    targets = {s.stage: s.target for s in plan.stages}
    assert targets == {"proposals": 34, "sqls": 67, "mqls": 134, "leads": 534, "visits": 26667}


@pytest.mark.parametrize(
    ("goal", "deal", "rates", "expected"),
    [
        # 30 customers / 0.3 is exactly 100; binary floats say 100.00000000000001 -> 101.
        ("900000", "30000", ["0.1", "0.3"], {"leads": 100, "visits": 1000}),
        # 0.7 * 3 style traps: 21 / 0.7 = 30 exactly (float: 30.000000000000004).
        ("2100", "100", ["0.7"], {"leads": 21, "visits": 30}),
        # 0.07: 7 / 0.07 = 100 exactly (float: 100.00000000000001).
        ("700", "100", ["0.07"], {"visits": 100}),
        # Rate 1 passes every lead through: same target.
        ("500", "100", ["1"], {"leads": 5, "visits": 5}),
        # A goal below one deal still needs one customer.
        ("10", "30000", ["0.5"], {"leads": 1, "visits": 1}),
    ],
)
def test_awkward_numbers_are_exact(
    goal: str, deal: str, rates: list[str], expected: dict[str, int]
) -> None:
    plan = reverse_funnel(agreement_with(goal, deal, rates))
    targets = {s.stage: s.target for s in plan.stages}
    for stage, value in expected.items():
        assert targets[stage] == value, (stage, targets)


rate = st.integers(min_value=1, max_value=1000).map(lambda n: Decimal(n) / 1000)


@settings(max_examples=60, deadline=None)
@given(
    goal=st.integers(min_value=1, max_value=10**9),
    deal=st.integers(min_value=1, max_value=10**6),
    rates=st.lists(rate, min_size=1, max_size=5),
)
def test_every_target_is_the_ceiling_of_the_exact_chain(
    goal: int, deal: int, rates: list[Decimal]
) -> None:
    plan = reverse_funnel(agreement_with(str(goal), str(deal), [str(r) for r in rates]))
    exact = Fraction(goal, deal)
    expected = [math.ceil(exact)]
    for r in reversed(rates):
        exact /= Fraction(r)
        expected.append(math.ceil(exact))
    assert [s.target for s in plan.stages] == list(reversed(expected))


def test_monthly_shares_are_rounded_up_by_calendar_days() -> None:
    plan = reverse_funnel(load_agreement(EXAMPLES / "agreement.yaml"))
    visits = plan.stages[0]
    assert list(visits.per_month) == [
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
        "2027-05",
        "2027-06",
    ]
    assert visits.per_month["2027-01"] == math.ceil(Fraction(106667 * 31, 181))  # 18269
    assert visits.per_month["2027-02"] == math.ceil(Fraction(106667 * 28, 181))
    assert visits.per_month["2027-04"] == math.ceil(Fraction(106667 * 30, 181))
    for stage in plan.stages:
        assert sum(stage.per_month.values()) >= stage.target


def test_iso_weeks_are_clipped_to_the_period() -> None:
    plan = reverse_funnel(load_agreement(EXAMPLES / "agreement.yaml"))
    visits = plan.stages[0]
    # 2027-01-01 is a Friday in ISO week 2026-W53: three of its days are in the period.
    first_key, first = next(iter(visits.per_week.items()))
    assert first_key == "2026-W53"
    assert first == math.ceil(Fraction(106667 * 3, 181))
    # 2027-06-30 is a Wednesday in 2027-W26: three days.
    assert list(visits.per_week)[-1] == "2027-W26"
    assert visits.per_week["2027-W26"] == math.ceil(Fraction(106667 * 3, 181))
    assert visits.per_week["2027-W10"] == math.ceil(Fraction(106667 * 7, 181))


def test_prorate_edges() -> None:
    start, end = date(2027, 1, 1), date(2027, 12, 31)
    assert prorate(365, start, end, start, end) == 365
    assert prorate(365, start, end, date(2027, 2, 1), date(2027, 2, 28)) == 28
    assert prorate(100, start, end, date(2026, 1, 1), date(2026, 12, 31)) == 0
    assert prorate(1, start, end, start, start) == 1  # a share is rounded up, never to 0
    assert prorate(0, start, end, start, end) == 0


def test_leap_february_and_a_single_day_period() -> None:
    assert [m for m, _, _ in months(date(2028, 2, 10), date(2028, 3, 1))] == ["2028-02", "2028-03"]
    assert months(date(2028, 2, 1), date(2028, 2, 29))[0][2] == date(2028, 2, 29)
    one_day = reverse_funnel(agreement_with("300", "100", ["0.5"], ("2027-03-14", "2027-03-14")))
    assert one_day.stages[0].per_month == {"2027-03": 6}
    assert list(one_day.stages[0].per_week) == ["2027-W10"]
    assert iso_weeks(date(2027, 12, 27), date(2028, 1, 9))[-1][0] == "2028-W01"


def test_plan_json_shape_and_table(cli: CLI) -> None:
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    result = cli("plan", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["agreement"] == "Sales & Marketing SLA 2027 H1"
    assert data["period"] == {"start": "2027-01-01", "end": "2027-06-30"}
    mqls = data["stages"][2]
    assert mqls["stage"] == "mqls" and mqls["team"] == "marketing" and mqls["target"] == 534
    assert mqls["per_month"]["2027-01"] == 92
    assert all(isinstance(v, int) for v in mqls["per_month"].values())
    table = cli("plan")
    assert table.code == 0
    assert "106,667" in table.out and "mqls" in table.out


def test_plan_of_a_file_without_storing_it(sqlite_cli: CLI, tmp_path: Path) -> None:
    result = sqlite_cli("plan", "--json", "--file", str(EXAMPLES / "agreement.yaml"))
    assert result.code == 0, result.err
    assert json.loads(result.out)["stages"][-1]["target"] == 40
    assert sqlite_cli("agreement", "history", "--json").out.strip() == "[]"


def test_plan_without_an_agreement_says_what_to_do(sqlite_cli: CLI) -> None:
    result = sqlite_cli("plan")
    assert result.code == 1
    assert "slabot agreement apply" in result.err


def test_the_plan_of_an_agreement_is_computed_once_per_agreement() -> None:
    from bot.funnel import reverse_funnel
    from tests.utils.store import example

    first, second = example(), example()
    assert reverse_funnel(first) is reverse_funnel(first)
    assert reverse_funnel(second) is not reverse_funnel(first)
    assert reverse_funnel(second) == reverse_funnel(first)
