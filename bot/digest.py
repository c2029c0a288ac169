"""The weekly digest and the monthly joint report as numbers: pure over store reads, `at` passed in.

Decisions (README, "Digests"):
- A report describes its window as of the window's last instant (`as_of`, Sunday 23:59:59.999999
  local for a week) with what the store knows at `at`: a touch recorded on Monday morning for a
  lead whose deadline passed on Friday does not make Friday's lead met.
- Window KPIs count only the window's days inside the agreement's period, against the stage
  targets pro-rated to those days (`bot.funnel.prorate`, as the plan's per-week and per-month
  shares); the period to date is `bot.status.build_status` at `as_of`.
- Change is against the window before (its days inside the period; unknown when it has none).
- Wins: deals won in the window, largest first, then recorded milestones and streaks and kudos.
- Data as of: each source's last successful sync, judged at `at`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import BusinessClock
from bot.followup import Compliance, compliance_of
from bot.followup_store import compliance_counts
from bot.kpis import KpiResult, Window, kpi_metrics, revenue_kpi, team_kpis
from bot.people import slack_user_of
from bot.report_window import (
    Kind,
    ReportWindow,
    closing,
    inside_period,
    opening,
    reported_window,
)
from bot.revision import RateObservation, Revision, observe_rates, suggest_revision
from bot.status import SourceAge, StatusReport, build_status, source_ages
from models.agreement import Agreement
from models.digest_queries import DealWon, deals_won, first_touches, recorded_wins
from models.kpi_queries import metric_sums_by_window, revenue_won, stage_counts


@dataclass(frozen=True)
class StageChange:
    """A stage's count in the window against the window before."""

    stage: str
    current: int
    previous: int | None  # None when the window before has no day inside the period
    delta: int | None
    ratio: float | None  # delta / previous; None when previous is 0 or unknown


@dataclass(frozen=True)
class RuleWindow:
    """A follow-up rule over the window's hand-offs and over the period to date."""

    rule: str
    within: str
    window: Compliance
    to_date: Compliance
    median_first_touch: timedelta | None  # business time, leads handed off and touched in it
    touched: int


@dataclass(frozen=True)
class WinLine:
    kind: str  # deal, milestone, streak, kudos
    title: str
    amount: Decimal | None
    user: str | None  # a Slack user when known, else the CRM owner's email
    at: datetime
    to_user: str | None = None


@dataclass(frozen=True)
class RevenueSeries:
    """Cumulative revenue won by day from the period's start, and the goal's straight pace."""

    days: list[date]
    cumulative: list[float]
    pace: list[float]
    goal: float


@dataclass(frozen=True)
class Report:
    """Everything a weekly digest or a monthly report says, every number already computed."""

    kind: Kind
    at: datetime
    agreement: Agreement
    window: ReportWindow
    inside: Window | None  # the window's days inside the period
    as_of: datetime
    status: StatusReport  # the period to date at `as_of`
    kpis: dict[str, list[KpiResult]]  # each team's KPIs over the window's days
    changes: list[StageChange]
    rates: list[RateObservation]  # observed in the window
    rates_to_date: list[RateObservation]
    followup: list[RuleWindow]
    revenue: KpiResult  # won in the window against the goal's share of its days
    wins: list[WinLine]
    series: RevenueSeries
    sources: list[SourceAge]
    revision: Revision | None = None

    @property
    def key(self) -> str:
        """The outbox key: one post per kind and window (`digest:weekly:2027-W10`)."""
        return f"digest:{self.kind}:{self.window.label}"

    @property
    def has_data(self) -> bool:
        """Whether anything happened in the window (else the report says "no data yet")."""
        return (
            any(c.current for c in self.changes)
            or bool(self.revenue.actual)
            or any(r.window.due or r.touched for r in self.followup)
            or bool(self.wins)
        )


async def weekly_digest(session: AsyncSession, agreement: Agreement, at: datetime) -> Report:
    """The digest of the last ISO week that ended by `at` (the agreement that governed it:
    `bot.report_window.governing_agreement`)."""
    return await _report(session, agreement, at, reported_window("weekly", agreement.zone, at))


async def monthly_report(session: AsyncSession, agreement: Agreement, at: datetime) -> Report:
    """The joint report of the last calendar month that ended by `at`, with a suggested revision."""
    report = await _report(session, agreement, at, reported_window("monthly", agreement.zone, at))
    return replace(report, revision=suggest_revision(agreement, report.rates_to_date))


async def build_report(
    session: AsyncSession, agreement: Agreement, kind: Kind, at: datetime
) -> Report:
    """`weekly_digest` or `monthly_report` by name."""
    if kind == "weekly":
        return await weekly_digest(session, agreement, at)
    return await monthly_report(session, agreement, at)


async def _report(
    session: AsyncSession, agreement: Agreement, at: datetime, window: ReportWindow
) -> Report:
    zone = agreement.zone
    as_of = closing(zone, window.last)
    inside = inside_period(agreement, window)
    status = await build_status(session, agreement, at=as_of)
    counts = await _counts(session, agreement, inside)
    before = inside_period(agreement, window.before())
    previous = await _counts(session, agreement, before) if before else None
    sums = await metric_sums_by_window(
        session=session, wanted=kpi_metrics(agreement, inside.end) if inside else {}
    )
    kpis = team_kpis(
        agreement,
        counts=counts,
        kpi_sums=sums,
        window=inside,
        today=inside.end if inside else window.last,
    )
    to_date = {
        k.id: int(k.actual or 0) for ks in status.teams.values() for k in ks if k.kind == "stage"
    }
    won = (
        await revenue_won(session=session, agreement=agreement, window=inside)
        if inside
        else Decimal(0)
    )
    deals = (
        await deals_won(session=session, agreement=agreement, window=status.window)
        if status.window
        else []
    )
    return Report(
        kind=window.kind,
        at=at,
        agreement=agreement,
        window=window,
        inside=inside,
        as_of=as_of,
        status=status,
        kpis=kpis,
        changes=[_change(stage, counts, previous) for stage in agreement.stage_names],
        rates=observe_rates(agreement, counts),
        rates_to_date=observe_rates(agreement, to_date),
        followup=await _followup(session, agreement, status, inside, as_of),
        revenue=revenue_kpi(
            agreement, won=won, window=inside, today=inside.end if inside else window.last
        ),
        wins=await _wins(session, agreement, inside, deals),
        series=_series(agreement, status.window, deals),
        sources=await source_ages(session, agreement, at=at),
    )


async def _counts(
    session: AsyncSession, agreement: Agreement, window: Window | None
) -> dict[str, int]:
    if window is None:
        return dict.fromkeys(agreement.stage_names, 0)
    return await stage_counts(session=session, agreement=agreement, window=window)


def _change(stage: str, counts: dict[str, int], previous: dict[str, int] | None) -> StageChange:
    current = counts.get(stage, 0)
    if previous is None:
        return StageChange(stage, current, None, None, None)
    before = previous.get(stage, 0)
    delta = current - before
    return StageChange(
        stage, current, before, delta, float(Fraction(delta, before)) if before else None
    )


async def _followup(
    session: AsyncSession,
    agreement: Agreement,
    status: StatusReport,
    inside: Window | None,
    as_of: datetime,
) -> list[RuleWindow]:
    clock = BusinessClock.of(agreement)
    to_date = {r.rule: r.compliance for r in status.followup}
    out = []
    for rule in agreement.followup:
        due = met = 0
        spans: list[timedelta] = []
        if inside is not None:
            start = opening(agreement.zone, inside.start)
            due, met = await compliance_counts(session, rule=rule.name, start=start, at=as_of)
            touches = await first_touches(session=session, rule=rule.name, start=start, as_of=as_of)
            spans = sorted(clock.between(handed, touched) for handed, touched in touches)
        out.append(
            RuleWindow(
                rule=rule.name,
                within=rule.within,
                window=compliance_of(rule, due=due, met=met),
                to_date=to_date[rule.name],
                median_first_touch=_median(spans),
                touched=len(spans),
            )
        )
    return out


def _median(spans: list[timedelta]) -> timedelta | None:
    """The middle of sorted spans (the mean of the two middle ones for an even count)."""
    if not spans:
        return None
    middle = len(spans) // 2
    return spans[middle] if len(spans) % 2 else (spans[middle - 1] + spans[middle]) / 2


async def _wins(
    session: AsyncSession, agreement: Agreement, inside: Window | None, deals: list[DealWon]
) -> list[WinLine]:
    """The window's deals by amount (largest first), then recorded wins and kudos in time order."""
    if inside is None:
        return []
    zone = agreement.zone
    mine = [d for d in deals if inside.start <= d.won_at.astimezone(zone).date() <= inside.end]
    people: dict[str, str | None] = {}
    out = []
    for deal in sorted(mine, key=lambda d: (-d.amount, d.won_at, d.deal)):
        owner = deal.owner
        if owner is not None and owner not in people:
            people[owner] = await slack_user_of(session, owner) or owner
        out.append(WinLine("deal", deal.deal, deal.amount, people.get(owner or ""), deal.won_at))
    for win in await recorded_wins(session=session, agreement=agreement, window=inside):
        out.append(WinLine(win.kind, win.title, win.amount, win.user, win.at, win.to_user))
    return out


def _series(agreement: Agreement, to_date: Window | None, deals: list[DealWon]) -> RevenueSeries:
    goal = Fraction(agreement.revenue_goal)
    if to_date is None:
        return RevenueSeries([], [], [], float(goal))
    by_day: dict[date, Decimal] = {}
    for deal in deals:
        day = deal.won_at.astimezone(agreement.zone).date()
        by_day[day] = by_day.get(day, Decimal(0)) + deal.amount
    days, cumulative, pace = [], [], []
    total = Decimal(0)
    for offset in range(to_date.days):
        day = to_date.start + timedelta(days=offset)
        total += by_day.get(day, Decimal(0))
        days.append(day)
        cumulative.append(float(total))
        pace.append(float(goal * Fraction(offset + 1, agreement.days)))
    return RevenueSeries(days, cumulative, pace, float(goal))
