"""The reverse funnel: stage targets from the revenue goal, and their share of any sub-period."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from models.agreement import Agreement


@dataclass(frozen=True)
class StageTarget:
    """A funnel stage's target for the whole period, and its monthly and ISO-weekly shares."""

    stage: str
    team: str
    rate: Decimal | None
    exact: Fraction
    target: int
    per_month: dict[str, int]
    per_week: dict[str, int]


@dataclass(frozen=True)
class Plan:
    agreement: str
    start: date
    end: date
    stages: list[StageTarget]

    def target(self, stage: str) -> int:
        for item in self.stages:
            if item.stage == stage:
                return item.target
        raise KeyError(stage)


def exact_targets(agreement: Agreement) -> list[Fraction]:
    """Each stage's exact target, top to bottom: customers = goal / deal size, upwards / rate."""
    bottom = Fraction(agreement.revenue_goal) / Fraction(agreement.average_deal_size)
    exact = [bottom]
    for lower in reversed(agreement.funnel[1:]):
        assert lower.rate is not None  # checked on load: every stage but the top has a rate
        exact.append(exact[-1] / Fraction(lower.rate))
    return list(reversed(exact))


def prorate(target: int, start: date, end: date, window_start: date, window_end: date) -> int:
    """`target` times the share of the period's calendar days inside the window, rounded up."""
    first, last = max(start, window_start), min(end, window_end)
    if last < first:
        return 0
    days = (last - first).days + 1
    total = (end - start).days + 1
    return math.ceil(Fraction(target * days, total))


def months(start: date, end: date) -> list[tuple[str, date, date]]:
    """Calendar months touching [start, end], as (`YYYY-MM`, first day, last day)."""
    out = []
    cursor = start.replace(day=1)
    while cursor <= end:
        following = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append((f"{cursor:%Y-%m}", cursor, following - timedelta(days=1)))
        cursor = following
    return out


def iso_weeks(start: date, end: date) -> list[tuple[str, date, date]]:
    """ISO weeks touching [start, end], as (`YYYY-Www`, Monday, Sunday)."""
    out = []
    cursor = start - timedelta(days=start.weekday())
    while cursor <= end:
        year, week, _ = cursor.isocalendar()
        out.append((f"{year}-W{week:02d}", cursor, cursor + timedelta(days=6)))
        cursor += timedelta(days=7)
    return out


# Plans by agreement object; the agreement is kept with its plan so its id is not reused while
# cached. Agreements are frozen, and a stored version is parsed once (`agreement_of`).
_PLANS: dict[int, tuple[Agreement, Plan]] = {}
_PLANS_KEEP = 16


def reverse_funnel(agreement: Agreement) -> Plan:
    """The plan of an agreement: every stage's target, per month and per ISO week."""
    cached = _PLANS.get(id(agreement))
    if cached is not None and cached[0] is agreement:
        return cached[1]
    plan = _plan(agreement)
    if len(_PLANS) >= _PLANS_KEEP:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[id(agreement)] = (agreement, plan)
    return plan


def _plan(agreement: Agreement) -> Plan:
    start, end = agreement.period.start, agreement.period.end
    stages = []
    for stage, exact in zip(agreement.funnel, exact_targets(agreement), strict=True):
        target = math.ceil(exact)
        stages.append(
            StageTarget(
                stage=stage.stage,
                team=stage.team,
                rate=stage.rate,
                exact=exact,
                target=target,
                per_month={k: prorate(target, start, end, a, b) for k, a, b in months(start, end)},
                per_week={
                    k: prorate(target, start, end, a, b) for k, a, b in iso_weeks(start, end)
                },
            )
        )
    return Plan(agreement=agreement.name, start=start, end=end, stages=stages)
