"""The two-sided ledger: what each team promised the other side, next to what it delivered.

Promises come from the agreement itself:
- a team whose stage feeds another team's stage promises that stage's count (marketing: MQLs);
- the team that owes a follow-up rule promises its target share of timely first touches;
- a team converting between two of its own stages promises the agreed rate (sales: SQLs to
  proposals), and the team owning the bottom stage promises the revenue goal;
- every extra KPI is a promise of its team (any further party likewise).
A line is `kept` (on pace, or within the follow-up error budget), `behind` or `broken`
(at risk), or `no_data` / `not_started` when there is nothing to judge yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise

from bot.followup import Compliance, responsible_team
from bot.humanize import percent
from bot.kpis import AT_RISK, BEHIND, ON_TRACK, KpiResult
from models.agreement import Agreement

KEPT, LEDGER_BEHIND, BROKEN = "kept", "behind", "broken"
_FROM_PACE = {ON_TRACK: KEPT, BEHIND: LEDGER_BEHIND, AT_RISK: BROKEN}


@dataclass(frozen=True)
class LedgerLine:
    team: str
    to: str
    promise: str
    target: float | int | None
    actual: float | int | None
    status: str
    kpi: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def from_pace(status: str) -> str:
    """A KPI's pace status as a ledger status (no_data and not_started pass through)."""
    return _FROM_PACE.get(status, status)


def from_compliance(compliance: Compliance) -> str:
    """Kept within the error budget; behind down to 80% of the target; broken below."""
    if compliance.ratio is None:
        return "no_data"
    if compliance.budget_left >= 0:
        return KEPT
    return LEDGER_BEHIND if compliance.ratio >= 0.8 * compliance.target else BROKEN


def ledger(
    agreement: Agreement,
    *,
    kpis: Mapping[str, list[KpiResult]],
    revenue: KpiResult,
    compliance: Mapping[str, Compliance],
) -> list[LedgerLine]:
    """Every promise of the agreement, grouped by team in the agreement's order."""
    by_id = {kpi.id: kpi for results in kpis.values() for kpi in results}
    lines: list[LedgerLine] = []
    funnel = agreement.funnel
    for upper, lower in pairwise(funnel):
        if upper.team != lower.team and upper.stage in by_id:
            kpi = by_id[upper.stage]
            lines.append(
                LedgerLine(
                    team=upper.team,
                    to=lower.team,
                    promise=f"hand over {upper.stage} to {lower.team}",
                    target=kpi.target_to_date,
                    actual=kpi.actual,
                    status=from_pace(kpi.status),
                    kpi=kpi.id,
                )
            )
        rate = by_id.get(f"{lower.stage}_rate")
        if rate is not None:
            lines.append(
                LedgerLine(
                    team=lower.team,
                    to=partner(agreement, lower.team),
                    promise=f"turn {percent(rate.target)} of {upper.stage} into {lower.stage}",
                    target=rate.target,
                    actual=rate.actual,
                    status=from_pace(rate.status),
                    kpi=rate.id,
                )
            )
    for rule in agreement.followup:
        c = compliance.get(rule.name)
        if c is None:
            continue
        team = responsible_team(agreement, rule)
        stage_team = agreement.stage(rule.stage).team
        lines.append(
            LedgerLine(
                team=team,
                to=stage_team if stage_team != team else partner(agreement, team),
                promise=f"touch {percent(c.target)} of {rule.stage} within {rule.within} ({rule.name})",
                target=c.target,
                actual=c.ratio,
                status=from_compliance(c),
                kpi=rule.name,
            )
        )
    bottom = funnel[-1].team
    lines.append(
        LedgerLine(
            team=bottom,
            to="everyone",
            promise=f"win {agreement.revenue_goal:,} {agreement.currency} by {agreement.period.end}",
            target=revenue.target_to_date,
            actual=revenue.actual,
            status=from_pace(revenue.status),
            kpi="revenue",
        )
    )
    for extra in agreement.kpis:
        result = by_id.get(extra.id)
        if result is None:
            continue
        per = f" per {extra.per}" if extra.per else ""
        lines.append(
            LedgerLine(
                team=extra.team,
                to=partner(agreement, extra.team),
                promise=f"{extra.metric}{per} {result.op} {extra.comparison[1]} every {extra.every}",
                target=result.target,
                actual=result.actual,
                status=from_pace(result.status),
                kpi=result.id,
            )
        )
    order = list(agreement.teams)
    return sorted(lines, key=lambda line: order.index(line.team))


def partner(agreement: Agreement, team: str) -> str:
    """The side a team's promises are owed to: the next team down the funnel, else the one
    above it; a team outside the funnel (customer success) owes them to everyone."""
    teams = [stage.team for stage in agreement.funnel]
    if team not in teams:
        return "everyone"
    last = len(teams) - 1 - teams[::-1].index(team)
    below = [t for t in teams[last + 1 :] if t != team]
    if below:
        return below[0]
    above = [t for t in reversed(teams[: teams.index(team)]) if t != team]
    return above[0] if above else "everyone"
