"""KPI arithmetic: actuals against pro-rated targets, pace and status, forecasts, revenue at risk.

Pure: callers pass counts and sums (`models.kpi_queries`) and `at`/`today`. Decisions:
- A `Window` is inclusive local dates in the agreement's zone; `today` is the local date of `at`.
- Stage target to date = `prorate(target, period, window start .. min(window end, today))`:
  0 before the period, the full target after it. Pace = actual / target to date as an exact
  Fraction (19/20 is exactly 0.95): `on_track` >= 0.95, `behind` >= 0.80, `at_risk` below;
  `not_started` when the target to date is 0 (no window: before the period); `no_data` when the
  actual is undefined (a rate over a stage above at 0, a ratio over a denominator of 0).
- `<stage>_rate` = count(stage) / count(stage above) in the same window vs the agreed rate (not
  pro-rated); pace = actual rate / target rate.
- Extra KPIs: window = the current `every` window (day, ISO week, calendar month or quarter,
  period) clipped to the period and to today; value = sum(metric) / sum(per), or sum(metric).
  Pace = value / target for `>=`/`>`, target / value for `<=`/`<` (value 0: `on_track`, no
  pace), the smaller of both for `==`; strict operators pace like non-strict ones. A count KPI
  (no `per`) is pro-rated: with `every: period` like a stage (rounded up when its target is
  whole, else exact); with a shorter `every` by the share of that calendar window gone by (50
  calls a week is 150/7 on Wednesday). Ratio KPIs compare with the full target. Floats read through
  their shortest repr (0.285 is 285/1000, not its binary neighbour) so boundaries do not flip.
- Forecast = actual / elapsed days (today included) x period days, only for a window starting
  at the period's start. Revenue: the goal is pro-rated exactly (money: no rounding up).
- Revenue at risk = open breached leads x observed conversion down to the bottom stage (each
  step count(lower) / count(upper) to date, capped at 1; the agreed rate where either counted
  0, i.e. nothing observed yet) x average deal size, rounded to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from bot.funnel import prorate, reverse_funnel
from models.agreement import Agreement, Kpi

ON_TRACK, BEHIND, AT_RISK = "on_track", "behind", "at_risk"
NOT_STARTED, NO_DATA = "not_started", "no_data"
ON_TRACK_AT = Fraction(95, 100)
BEHIND_AT = Fraction(80, 100)

Kind = Literal["stage", "rate", "extra", "revenue"]
Number = int | float | None
Exact = Fraction | Decimal | int


@dataclass(frozen=True, order=True)
class Window:
    """Inclusive local dates [start, end] in the agreement's time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class KpiResult:
    """One KPI at an instant; numbers are plain ints and floats so they serialise to JSON."""

    id: str
    team: str
    kind: Kind
    actual: Number
    target: Number
    target_to_date: Number
    pace: float | None
    status: str
    forecast: float | None = None
    op: str = ">="

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def local_today(agreement: Agreement, at: datetime) -> date:
    """The local date of the instant `at` in the agreement's time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass an instant with its offset")
    return at.astimezone(agreement.zone).date()


def period_to_date(agreement: Agreement, at: datetime) -> Window | None:
    """The period from its start to the local date of `at` (clipped); None before it starts."""
    today, period = local_today(agreement, at), agreement.period
    return Window(period.start, min(today, period.end)) if today >= period.start else None


def pace_status(pace: Exact | None) -> str:
    """`on_track`, `behind` or `at_risk` for an exact pace; `no_data` for None."""
    if pace is None:
        return NO_DATA
    exact = Fraction(pace)
    if exact >= ON_TRACK_AT:
        return ON_TRACK
    return BEHIND if exact >= BEHIND_AT else AT_RISK


def exact_float(value: float) -> Fraction:
    """A float from the store as the decimal it was written as (its shortest repr)."""
    return Fraction(repr(float(value)))


def elapsed_days(agreement: Agreement, window: Window, today: date) -> int:
    """Calendar days of the window inside the period up to today (0 when none)."""
    first = max(window.start, agreement.period.start)
    last = min(window.end, agreement.period.end, today)
    return max(0, (last - first).days + 1)


def forecast(
    actual: Exact, agreement: Agreement, window: Window | None, today: date
) -> float | None:
    """Run rate to the end of the period, for a period-to-date window; None otherwise."""
    if window is None or window.start != agreement.period.start:
        return None
    elapsed = elapsed_days(agreement, window, today)
    if elapsed == 0:
        return None
    return float(Fraction(actual) / elapsed * agreement.days)


def kpi_window(agreement: Agreement, every: str, today: date) -> Window | None:
    """The current `every` window, clipped to the period and to today; None before the period."""
    period = agreement.period
    if today < period.start:
        return None
    day = min(today, period.end)
    first = {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "quarter": date(day.year, 3 * ((day.month - 1) // 3) + 1, 1),
        "period": period.start,
    }[every]
    return Window(max(first, period.start), day)


def kpi_metrics(agreement: Agreement, today: date) -> dict[Window, set[str]]:
    """The metrics each extra KPI window needs summed (for `metric_sums_by_window`)."""
    wanted: dict[Window, set[str]] = {}
    for kpi in agreement.kpis:
        window = kpi_window(agreement, kpi.every, today)
        if window is not None:
            wanted.setdefault(window, set()).update(m for m in (kpi.metric, kpi.per) if m)
    return wanted


def team_kpis(
    agreement: Agreement,
    *,
    counts: Mapping[str, int],
    kpi_sums: Mapping[Window, Mapping[str, float]],
    window: Window | None,
    today: date,
) -> dict[str, list[KpiResult]]:
    """Each team's KPIs in agreement order: its stages' counts, the rates into them, its extras.

    `counts` are the stage counts over `window` (usually the period to date; None before the
    period), `kpi_sums` the extra KPIs' metric sums by their own windows (see `kpi_metrics`).
    """
    out: dict[str, list[KpiResult]] = {team: [] for team in agreement.teams}
    above: str | None = None
    for stage, planned in zip(agreement.funnel, reverse_funnel(agreement).stages, strict=True):
        kpis = out.setdefault(stage.team, [])
        kpis.append(stage_kpi(agreement, stage.stage, planned.target, counts, window, today))
        if above is not None and stage.rate is not None:
            kpis.append(rate_kpi(stage.stage, above, stage.team, stage.rate, counts, window))
        above = stage.stage
    for kpi in agreement.kpis:
        out.setdefault(kpi.team, []).append(extra_kpi(agreement, kpi, kpi_sums, today))
    return out


def stage_kpi(
    agreement: Agreement,
    stage: str,
    target: int,
    counts: Mapping[str, int],
    window: Window | None,
    today: date,
) -> KpiResult:
    """A stage's count against its target pro-rated to date."""
    actual = counts.get(stage, 0)
    to_date = 0
    if window is not None:
        period = agreement.period
        to_date = prorate(target, period.start, period.end, window.start, min(window.end, today))
    pace = Fraction(actual, to_date) if to_date else None
    return KpiResult(
        id=stage,
        team=agreement.stage(stage).team,
        kind="stage",
        actual=actual,
        target=target,
        target_to_date=to_date,
        pace=_float(pace),
        status=pace_status(pace) if to_date else NOT_STARTED,
        forecast=forecast(actual, agreement, window, today),
    )


def rate_kpi(
    stage: str,
    above: str,
    team: str,
    rate: Decimal,
    counts: Mapping[str, int],
    window: Window | None,
) -> KpiResult:
    """`<stage>_rate`: count(stage) / count(stage above) in the window, against the agreed rate."""
    target = Fraction(rate)
    top = counts.get(above, 0)
    actual = Fraction(counts.get(stage, 0), top) if window is not None and top else None
    pace = actual / target if actual is not None else None
    status = NOT_STARTED if window is None else pace_status(pace)
    return KpiResult(
        id=f"{stage}_rate",
        team=team,
        kind="rate",
        actual=_float(actual),
        target=float(target),
        target_to_date=float(target),
        pace=_float(pace),
        status=status,
    )


def extra_kpi(
    agreement: Agreement, kpi: Kpi, kpi_sums: Mapping[Window, Mapping[str, float]], today: date
) -> KpiResult:
    """An extra KPI over its current `every` window."""
    op, number = kpi.comparison
    target = to_date = Fraction(number)
    window = kpi_window(agreement, kpi.every, today)
    sums = kpi_sums.get(window, {}) if window is not None else {}
    total = exact_float(sums.get(kpi.metric, 0.0))
    value: Fraction | None = total
    if kpi.per is not None:
        denominator = exact_float(sums.get(kpi.per, 0.0))
        value = total / denominator if denominator else None
    run_rate = None
    if window is None:
        value, to_date = None, Fraction(0)
    elif kpi.per is None and kpi.every == "period":
        to_date = _prorate_target(agreement, target, window)
        run_rate = forecast(total, agreement, window, today)
    elif kpi.per is None:
        # A count per week (month, …) is paced against the share of that window gone by.
        to_date = target * Fraction(window.days, _calendar_days(kpi.every, window.end))
    pace, status = _compare(op, value, to_date) if window is not None else (None, NOT_STARTED)
    return KpiResult(
        id=kpi.id,
        team=kpi.team,
        kind="extra",
        actual=_float(value),
        target=_number(target),
        target_to_date=_number(to_date),
        pace=_float(pace),
        status=status,
        forecast=run_rate,
        op=op,
    )


def _calendar_days(every: str, day: date) -> int:
    """Days in the whole calendar `every` window (day, ISO week, month, quarter) holding `day`."""
    if every == "day":
        return 1
    if every == "week":
        return 7
    first = (
        day.replace(day=1)
        if every == "month"
        else date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    )
    months = 1 if every == "month" else 3
    following = date(
        first.year + (first.month + months - 1) // 12, (first.month + months - 1) % 12 + 1, 1
    )
    return (following - first).days


def _prorate_target(agreement: Agreement, target: Fraction, window: Window) -> Fraction:
    """A count KPI's target for the window: rounded up when whole (like a stage), else exact."""
    period = agreement.period
    if target.denominator == 1:
        return Fraction(prorate(int(target), period.start, period.end, window.start, window.end))
    return target * Fraction(elapsed_days(agreement, window, window.end), agreement.days)


def _compare(op: str, value: Fraction | None, target: Fraction) -> tuple[Fraction | None, str]:
    """Pace and status of a value against a target with its operator."""
    if value is None:
        return None, NO_DATA
    if op in (">=", ">"):
        pace = value / target if target else None
    elif op in ("<=", "<"):
        pace = target / value if value else None
    else:  # "==": how close, from either side
        pace = min(value / target, target / value) if value and target else None
        if pace is None and value != target:
            pace = Fraction(0)
    return pace, ON_TRACK if pace is None else pace_status(pace)


def revenue_kpi(
    agreement: Agreement, *, won: Decimal, window: Window | None, today: date
) -> KpiResult:
    """Revenue won in the window against the goal pro-rated exactly to date."""
    goal = Fraction(agreement.revenue_goal)
    days = elapsed_days(agreement, window, today) if window is not None else 0
    to_date = goal * Fraction(days, agreement.days)
    pace = Fraction(won) / to_date if to_date else None
    return KpiResult(
        id="revenue",
        team=agreement.funnel[-1].team,
        kind="revenue",
        actual=float(won),
        target=float(goal),
        target_to_date=float(to_date),
        pace=_float(pace),
        status=pace_status(pace) if to_date else NOT_STARTED,
        forecast=forecast(won, agreement, window, today),
    )


def downstream_conversion(
    agreement: Agreement, counts: Mapping[str, int], from_stage: str
) -> Fraction:
    """Observed conversion from `from_stage` down to the funnel's bottom stage (1 at the bottom).

    A step with nothing observed yet (no leads above, or none converted so far) uses the agreed
    rate: early in a period a zero would say no revenue is ever at risk.
    """
    index = agreement.stage_names.index(from_stage)  # ValueError for a stage not in the funnel
    product = Fraction(1)
    for upper, lower in pairwise(agreement.funnel[index:]):
        top, converted = counts.get(upper.stage, 0), counts.get(lower.stage, 0)
        assert lower.rate is not None  # every stage below the top has a rate
        step = Fraction(converted, top) if top and converted else Fraction(lower.rate)
        product *= min(step, Fraction(1))
    return product


def revenue_at_risk(
    open_breached: int, downstream_rate: Fraction | None, average_deal_size: Decimal
) -> Decimal:
    """Open breached leads x their expected conversion x average deal size, to the cent."""
    if downstream_rate is None or open_breached <= 0:
        return Decimal("0.00")
    exact = open_breached * downstream_rate * Fraction(average_deal_size)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"))


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)
