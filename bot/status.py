"""What `/sla status` and `slabot status` show: KPIs by team, revenue, follow-up, the ledger.

`build_status` only reads: follow-up figures come from the deadlines `check` keeps (the CLI
refreshes them first; in Slack the scheduled check keeps them at most `check_every` old).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.check import period_start
from bot.clock import BusinessClock
from bot.followup import Compliance, compliance_of
from bot.followup_store import rule_figures
from bot.kpis import (
    KpiResult,
    Window,
    downstream_conversion,
    kpi_metrics,
    local_today,
    period_to_date,
    revenue_at_risk,
    revenue_kpi,
    team_kpis,
)
from bot.ledger import LedgerLine, ledger
from models.agreement import Agreement
from models.durations import parse_duration
from models.kpi_queries import metric_sums_by_window, revenue_won, stage_counts
from models.tables import SourceState
from scheduler.owners import unmatched_owners


@dataclass(frozen=True)
class RuleStatus:
    rule: str
    stage: str
    compliance: Compliance
    open: dict[str, int]
    breaching_next: int
    horizon: datetime
    revenue_at_risk: Decimal


@dataclass(frozen=True)
class SourceAge:
    name: str
    last_success_at: datetime | None
    last_error: str | None
    stale: bool


@dataclass(frozen=True)
class UnmatchedOwner:
    """A CRM owner with no Slack user: their alerts cannot mention them."""

    email: str
    name: str | None


@dataclass(frozen=True)
class StatusReport:
    at: datetime
    agreement: Agreement
    window: Window | None
    teams: dict[str, list[KpiResult]]
    revenue: KpiResult
    followup: list[RuleStatus]
    ledger: list[LedgerLine]
    sources: list[SourceAge]
    unmatched_owners: list[UnmatchedOwner] = field(default_factory=list)


async def build_status(
    session: AsyncSession, agreement: Agreement, *, at: datetime, team: str | None = None
) -> StatusReport:
    """The status at `at`, for one team or for all (`team` must be one of the agreement's)."""
    today = local_today(agreement, at)
    window = period_to_date(agreement, at)
    counts: dict[str, int] = (
        await stage_counts(session=session, agreement=agreement, window=window)
        if window
        else dict.fromkeys(agreement.stage_names, 0)
    )
    sums = await metric_sums_by_window(session=session, wanted=kpi_metrics(agreement, today))
    kpis = team_kpis(agreement, counts=counts, kpi_sums=sums, window=window, today=today)
    won = (
        await revenue_won(session=session, agreement=agreement, window=window)
        if window
        else Decimal(0)
    )
    revenue = revenue_kpi(agreement, won=won, window=window, today=today)
    clock = BusinessClock.of(agreement)
    rules = []
    for rule in agreement.followup:
        horizon = clock.add(at, clock.span(parse_duration(rule.within)))
        figures = await rule_figures(
            session, rule=rule.name, start=period_start(agreement), at=at, horizon=horizon
        )
        breached = figures.open["breached"] + figures.open["escalated"]
        rules.append(
            RuleStatus(
                rule=rule.name,
                stage=rule.stage,
                compliance=compliance_of(rule, due=figures.due, met=figures.met),
                open=figures.open,
                breaching_next=figures.breaching,
                horizon=horizon,
                revenue_at_risk=revenue_at_risk(
                    breached,
                    downstream_conversion(agreement, counts, rule.stage),
                    agreement.average_deal_size,
                ),
            )
        )
    lines = ledger(
        agreement, kpis=kpis, revenue=revenue, compliance={r.rule: r.compliance for r in rules}
    )
    if team is not None:
        kpis = {team: kpis[team]}
        lines = [line for line in lines if line.team == team]
    return StatusReport(
        at=at,
        agreement=agreement,
        window=window,
        teams=kpis,
        revenue=revenue,
        followup=rules,
        ledger=lines,
        sources=await source_ages(session, agreement, at=at),
        unmatched_owners=await owners_without_slack(session),
    )


async def owners_without_slack(session: AsyncSession) -> list[UnmatchedOwner]:
    """Active CRM owners that have no Slack user, one per email (sources may share people)."""
    seen: dict[str, UnmatchedOwner] = {}
    for owner in await unmatched_owners(session):
        email = (owner.email or "").strip()
        if email.lower() not in seen:
            seen[email.lower()] = UnmatchedOwner(email=email, name=owner.name)
    return list(seen.values())


async def source_ages(
    session: AsyncSession, agreement: Agreement, *, at: datetime
) -> list[SourceAge]:
    """Each source's last successful sync; stale when older than twice `sync_every`."""
    states = {s.name: s for s in (await session.exec(select(SourceState))).all()}
    limit = 2 * timedelta(
        minutes=parse_duration(agreement.schedule.sync_every).total_minutes(24 * 60)
    )
    out = []
    for source in agreement.sources:
        state = states.get(source.name)
        last = state.last_success_at if state else None
        out.append(
            SourceAge(
                name=source.name,
                last_success_at=last,
                last_error=state.last_error
                if state and state.last_error_at and (last is None or state.last_error_at > last)
                else None,
                stale=last is None or at - last > limit,
            )
        )
    return out


def status_json(report: StatusReport) -> dict[str, Any]:
    """The report in CONTRACT.md's `status --json` shape (extra keys allowed)."""
    return {
        "at": report.at.isoformat(),
        "agreement": report.agreement.name,
        "period": {
            "start": report.agreement.period.start.isoformat(),
            "end": report.agreement.period.end.isoformat(),
        },
        "teams": [
            {"team": team, "kpis": [kpi.as_json() for kpi in kpis]}
            for team, kpis in report.teams.items()
        ],
        "revenue": {
            "won": report.revenue.actual,
            "goal": float(report.agreement.revenue_goal),
            "target_to_date": report.revenue.target_to_date,
            "pace": report.revenue.pace,
            "status": report.revenue.status,
            "forecast": report.revenue.forecast,
            "currency": report.agreement.currency,
        },
        "followup": [
            {
                **r.compliance.as_json(),
                "stage": r.stage,
                "open": r.open,
                "breaching_next": r.breaching_next,
                "breaching_until": r.horizon.isoformat(),
                "revenue_at_risk": float(r.revenue_at_risk),
            }
            for r in report.followup
        ],
        "ledger": [line.as_json() for line in report.ledger],
        "data_as_of": {
            s.name: s.last_success_at.isoformat() if s.last_success_at else None
            for s in report.sources
        },
        "stale_sources": [s.name for s in report.sources if s.stale],
        "unmatched_owners": [{"email": o.email, "name": o.name} for o in report.unmatched_owners],
    }
