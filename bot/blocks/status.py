"""`/sla status` and `/sla report`: the engine's `StatusReport` as a message, within Slack's limits."""

from __future__ import annotations

from bot.blocks.common import (
    MESSAGE_BLOCKS,
    Block,
    Reply,
    capped,
    context,
    header,
    lines_within,
    section,
)
from bot.blocks.figures import badge, budget, kpi_value, ledger_value, money, team_title
from bot.humanize import percent
from bot.kpis import KpiResult
from bot.ledger import LedgerLine
from bot.status import RuleStatus, StatusReport

SHOW_UNMATCHED = 10


def as_of(report: StatusReport) -> str:
    """`Day 62 of 181, as of Wed 03 Mar 2027 09:00 CST` (or when the period starts)."""
    a = report.agreement
    when = report.at.astimezone(a.zone)
    where = (
        f"starts {a.period.start}"
        if report.window is None
        else (f"day {report.window.days} of {a.days}")
    )
    return f"{where.capitalize()}, as of {when:%a %d %b %Y %H:%M %Z}"


def kpi_line(kpi: KpiResult) -> str:
    target = f" (target {kpi_value(kpi, kpi.target)})" if kpi.target is not None else ""
    return (
        f"`{kpi.id}` {kpi_value(kpi, kpi.actual)} of {kpi_value(kpi, kpi.target_to_date)} "
        f"to date{target} · pace {percent(kpi.pace)} · {badge(kpi.status)}"
    )


def revenue_line(report: StatusReport) -> str:
    r, a = report.revenue, report.agreement
    forecast = f" · forecast {money(r.forecast, a.currency)}" if r.forecast is not None else ""
    return (
        f":moneybag: *Revenue* {money(r.actual, a.currency)} of "
        f"{money(a.revenue_goal, a.currency)} won · {badge(r.status)} · pace {percent(r.pace)}"
        f"{forecast}"
    )


def rule_line(report: StatusReport, rule: RuleStatus) -> str:
    a = report.agreement
    c = rule.compliance
    within = next((r.within for r in a.followup if r.name == rule.rule), None)
    limit = f" within {within} of business time" if within else ""
    opened = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in rule.open.items() if n)
    at_risk = (
        f" · {money(rule.revenue_at_risk, a.currency)} at risk" if rule.revenue_at_risk else ""
    )
    return (
        f"*{rule.rule}* (first touch{limit}): {percent(c.ratio, 1)} on time "
        f"({c.met}/{c.due}, target {percent(c.target)}) · {budget(c)} · open: {opened or 'none'}"
        f" · {rule.breaching_next} breach by {rule.horizon.astimezone(a.zone):%a %H:%M} "
        f"unless touched{at_risk}"
    )


def ledger_line(line: LedgerLine) -> str:
    return (
        f"{badge(line.status)} *{line.team}* → {line.to}: {line.promise} · "
        f"{ledger_value(line.actual)} of {ledger_value(line.target)}"
    )


def sources_line(report: StatusReport) -> str | None:
    zone = report.agreement.zone
    ages = ", ".join(
        f"{s.name} {s.last_success_at.astimezone(zone):%Y-%m-%d %H:%M}"
        if s.last_success_at
        else f"{s.name} never"
        for s in report.sources
    )
    if not ages:
        return None
    stale = [s.name for s in report.sources if s.stale]
    warning = f" · :warning: stale: {', '.join(stale)} (run `slabot sync`)" if stale else ""
    return f"Data as of: {ages}{warning}"


def unmatched_line(report: StatusReport) -> str | None:
    emails = [owner.email for owner in report.unmatched_owners]
    if not emails:
        return None
    shown = ", ".join(emails[:SHOW_UNMATCHED])
    more = f" and {len(emails) - SHOW_UNMATCHED} more" if len(emails) > SHOW_UNMATCHED else ""
    return f"No Slack user for: {shown}{more}; add them to Slack or map them (admins)"


def _footer(report: StatusReport) -> list[Block]:
    notes = [note for note in (sources_line(report), unmatched_line(report)) if note]
    return [context(*notes)] if notes else []


def status_reply(report: StatusReport) -> Reply:
    """Each team's KPIs, revenue, follow-up and the ledger, as `slabot status` shows them."""
    a = report.agreement
    top = [header(a.name), context(as_of(report))]
    rest: list[Block] = [section(revenue_line(report))]
    if report.followup:
        rest.append(
            section(lines_within(["*Follow-up*", *(rule_line(report, r) for r in report.followup)]))
        )
    if report.ledger:
        rest.append(
            section(lines_within(["*The agreement, both sides*", *map(ledger_line, report.ledger)]))
        )
    rest += _footer(report)
    teams = [
        section(lines_within([f"*{team_title(team)}*", *map(kpi_line, kpis)]))
        for team, kpis in report.teams.items()
    ]
    room = MESSAGE_BLOCKS - len(top) - len(rest)
    blocks = [*top, *capped(teams, room, "…and {n} more teams: ask `/sla status TEAM`"), *rest]
    r = report.revenue
    text = (
        f"{a.name}: {as_of(report)}. Revenue {money(r.actual, a.currency)} of "
        f"{money(a.revenue_goal, a.currency)} ({r.status.replace('_', ' ')})."
    )
    return Reply(text, blocks)


def report_reply(report: StatusReport) -> Reply:
    """The two-sided ledger for the period to date, team by team, with each team's KPIs."""
    a = report.agreement
    top = [header(f"Report: {a.name}"), context(f"Period to date. {as_of(report)}")]
    teams = []
    for team, kpis in report.teams.items():
        promises = [ledger_line(line) for line in report.ledger if line.team == team]
        lines = [f"*{team_title(team)}*", *(promises or ["no promises of its own"])]
        lines += ["_KPIs_", *map(kpi_line, kpis)] if kpis else []
        teams.append(section(lines_within(lines)))
    rest = [section(revenue_line(report)), *_footer(report)]
    room = MESSAGE_BLOCKS - len(top) - len(rest)
    blocks = [*top, *capped(teams, room, "…and {n} more teams: ask `/sla status TEAM`"), *rest]
    counts = {status: 0 for status in ("kept", "behind", "broken")}
    for line in report.ledger:
        if line.status in counts:
            counts[line.status] += 1
    text = (
        f"Report {a.name}, period to date: {counts['kept']} promises kept, "
        f"{counts['behind']} behind, {counts['broken']} broken."
    )
    return Reply(text, blocks)
