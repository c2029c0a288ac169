"""SQL aggregates for the KPIs: stage counts, metric sums and revenue won in a window.

Decisions:
- A window is inclusive local dates [start, end] in the agreement's time zone. Instants are
  compared with [start 00:00 local, (end + 1) 00:00 local) in UTC, computed with zoneinfo, so a
  window is DST-correct (a midnight that a DST change skips or repeats resolves, with fold=0, to
  the day's first instant). Metric days are local dates already and compare as dates.
- A stage's count = lead_stage rows for it entered in the window + the sum of metric_value rows
  whose metric is the stage's name, dated in the window (all sources and teams), rounded to a
  whole number. The funnel's bottom stage falls back to closed-won deals in the window when the
  store has no lead_stage and no metric_value row for it at all (CSV users keep customers in
  deals_csv); one such row, of any date, switches the fallback off.
- One GROUP BY query per table (not per stage), answered from the (stage, entered_at),
  (metric, day) and closed_won_at indexes; no row is loaded into Python.
- Money is summed by the database (PostgreSQL numeric is exact; SQLite keeps floating point and
  the column type gives the sum back as a Decimal with 4 places).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import Agreement
from models.tables import Deal, LeadStage, MetricValue


class DateRange(Protocol):
    """Inclusive local dates (`bot.kpis.Window`, or the agreement's period)."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...


W = TypeVar("W", bound=DateRange)  # and hashable: a dict key


def utc_bounds(window: DateRange, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants [start 00:00 local, (end + 1) 00:00 local) of a window of local dates."""
    first = datetime.combine(window.start, time(), zone).astimezone(UTC)
    after = datetime.combine(window.end + timedelta(days=1), time(), zone).astimezone(UTC)
    return first, after


async def stage_counts(
    *, session: AsyncSession, agreement: Agreement, window: DateRange
) -> dict[str, int]:
    """Every funnel stage's count in the window (0 when none), in funnel order."""
    names = agreement.stage_names
    first, after = utc_bounds(window, agreement.zone)
    counts = dict.fromkeys(names, 0)
    entered = await session.exec(
        select(LeadStage.stage, func.count())
        .where(
            col(LeadStage.stage).in_(names),
            col(LeadStage.entered_at) >= first,
            col(LeadStage.entered_at) < after,
        )
        .group_by(col(LeadStage.stage))
    )
    for stage, count in entered.all():
        counts[stage] += int(count)
    for stage, total in (await metric_sums(session=session, metrics=names, window=window)).items():
        counts[stage] += round(total)
    counts[names[-1]] += await _won_deals_for_bottom_stage(session, names[-1], first, after)
    return counts


async def _won_deals_for_bottom_stage(
    session: AsyncSession, bottom: str, first: datetime, after: datetime
) -> int:
    """Deals won in [first, after) while the store knows nothing else of the bottom stage."""
    result = await session.exec(
        select(func.count())
        .select_from(Deal)
        .where(
            col(Deal.closed_won_at) >= first,
            col(Deal.closed_won_at) < after,
            ~exists().where(col(LeadStage.stage) == bottom),
            ~exists().where(col(MetricValue.metric) == bottom),
        )
    )
    return int(result.one())


async def metric_sums(
    *, session: AsyncSession, metrics: Iterable[str], window: DateRange
) -> dict[str, float]:
    """Each metric's sum over the window's days (all sources and teams); 0.0 when none."""
    names = sorted(set(metrics))
    sums = dict.fromkeys(names, 0.0)
    if not names:
        return sums
    result = await session.exec(
        select(MetricValue.metric, func.sum(MetricValue.value))
        .where(
            col(MetricValue.metric).in_(names),
            col(MetricValue.day) >= window.start,
            col(MetricValue.day) <= window.end,
        )
        .group_by(col(MetricValue.metric))
    )
    for metric, total in result.all():
        sums[metric] = float(total or 0.0)
    return sums


async def metric_sums_by_window(
    *, session: AsyncSession, wanted: Mapping[W, Iterable[str]]
) -> dict[W, dict[str, float]]:
    """`metric_sums` for each window and its metrics (one query per window)."""
    out: dict[W, dict[str, float]] = {}
    for window, metrics in wanted.items():
        out[window] = await metric_sums(session=session, metrics=metrics, window=window)
    return out


async def revenue_won(*, session: AsyncSession, agreement: Agreement, window: DateRange) -> Decimal:
    """The amount of deals won in the window (0 when none)."""
    first, after = utc_bounds(window, agreement.zone)
    result = await session.exec(
        select(func.sum(Deal.amount)).where(
            col(Deal.closed_won_at) >= first, col(Deal.closed_won_at) < after
        )
    )
    total = result.one()
    return Decimal(0) if total is None else Decimal(total)
