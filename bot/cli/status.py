"""`slabot status`: what `/sla status` shows, in the terminal."""

from __future__ import annotations

import typer
from rich.table import Table

from bot.check import refresh_all_deadlines
from bot.cli.app import app
from bot.cli.common import (
    agreement_in_force,
    console,
    open_store,
    parse_at,
    print_json,
    run,
    settings,
)
from bot.errors import BadInput
from bot.followup import Compliance
from bot.humanize import percent
from bot.kpis import KpiResult
from bot.status import StatusReport, build_status, status_json
from models.db import session_scope

SHOW_UNMATCHED = 10  # owners named in the text; `--json` lists them all

COLOURS = {
    "on_track": "green",
    "kept": "green",
    "behind": "yellow",
    "at_risk": "red",
    "broken": "red",
}


@app.command("status")
def status_command(
    team: str | None = typer.Option(None, "--team", help="Only this team's KPIs and promises."),
    at: str | None = typer.Option(None, "--at", help="Evaluate as if now were this instant."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Each team's KPIs against pace, revenue, follow-up compliance and the two-sided ledger."""
    config = settings()
    when = parse_at(at)

    async def go() -> StatusReport:
        async with open_store(config) as engine:
            async with session_scope(engine) as session:
                agreement = await agreement_in_force(session, when)
                if team is not None and team not in agreement.teams:
                    raise BadInput(
                        f"--team: unknown team {team!r}; the teams are {', '.join(agreement.teams)}"
                    )
                await refresh_all_deadlines(session, agreement, at=when)
            async with session_scope(engine) as session:
                return await build_status(session, agreement, at=when, team=team)

    report = run(go())
    if as_json:
        print_json(status_json(report))
        return
    _print(report)


def _cell(status: str) -> str:
    colour = COLOURS.get(status)
    return f"[{colour}]{status}[/{colour}]" if colour else status


def _number(kpi: KpiResult, value: float | int | None) -> str:
    if value is None:
        return "-"
    if kpi.kind == "rate" or (isinstance(value, float) and value < 1 and kpi.kind == "extra"):
        return percent(value, 1)
    return f"{value:,.0f}" if isinstance(value, int) or value >= 100 else f"{value:,.2f}"


def _print(report: StatusReport) -> None:
    a = report.agreement
    when = report.at.astimezone(a.zone)
    if report.window is None:
        period = f"starts {a.period.start}"
    else:
        period = f"day {report.window.days} of {a.days}"
    console.print(f"[bold]{a.name}[/bold]: {period}, as of {when:%Y-%m-%d %H:%M %Z}")
    for team, kpis in report.teams.items():
        table = Table(
            "KPI",
            "actual",
            "to date",
            "target",
            "pace",
            "status",
            title=team.replace("_", " ").title(),
        )
        for kpi in kpis:
            table.add_row(
                kpi.id,
                _number(kpi, kpi.actual),
                _number(kpi, kpi.target_to_date),
                _number(kpi, kpi.target),
                percent(kpi.pace),
                _cell(kpi.status),
            )
        console.print(table)
    r = report.revenue
    won = r.actual or 0
    console.print(
        f"Revenue: {won:,.0f} of {a.revenue_goal:,} {a.currency} won "
        f"({_cell(r.status)}, pace {percent(r.pace)}"
        + (f", forecast {r.forecast:,.0f}" if r.forecast is not None else "")
        + ")"
    )
    for rule in report.followup:
        c = rule.compliance
        console.print(
            f"Follow-up {rule.rule}: {percent(c.ratio, 1)} on time ({c.met}/{c.due}, target "
            f"{percent(c.target)}), {budget(c)}; open "
            + (", ".join(f"{n} {s}" for s, n in rule.open.items() if n) or "none")
            + f"; {rule.breaching_next} breach by {rule.horizon.astimezone(a.zone):%a %H:%M} unless touched"
            + (
                f"; {rule.revenue_at_risk:,.0f} {a.currency} at risk"
                if rule.revenue_at_risk
                else ""
            ),
            markup=False,
        )
    if report.ledger:
        table = Table(
            "team", "promise", "to", "target", "actual", "status", title="The agreement, both sides"
        )
        for line in report.ledger:
            table.add_row(
                line.team,
                line.promise,
                line.to,
                _plain(line.target),
                _plain(line.actual),
                _cell(line.status),
            )
        console.print(table)
    ages = ", ".join(
        f"{s.name} {s.last_success_at.astimezone(a.zone):%Y-%m-%d %H:%M}"
        if s.last_success_at
        else f"{s.name} never"
        for s in report.sources
    )
    if ages:
        console.print(f"Data as of: {ages}", markup=False)
    stale = [s.name for s in report.sources if s.stale]
    if stale:
        console.print(f"[yellow]Stale: {', '.join(stale)}: run `slabot sync`.[/yellow]")
    if report.unmatched_owners:
        console.print(unmatched_line(report), style="yellow", markup=False)


def unmatched_line(report: StatusReport) -> str:
    """`No Slack user for: ana@example.com, …; add them to Slack or map them (admins)`."""
    emails = [owner.email for owner in report.unmatched_owners]
    shown = ", ".join(emails[:SHOW_UNMATCHED])
    more = len(emails) - SHOW_UNMATCHED
    if more > 0:
        shown += f" and {more} more"
    return f"No Slack user for: {shown}; add them to Slack or map them (admins)"


def budget(c: Compliance) -> str:
    """The error budget for people: `1 of 3 misses left` or `budget overspent by 5 (1 allowed)`."""
    if c.budget_left >= 0:
        return f"{c.budget_left} of {c.budget} allowed misses left"
    return f"error budget overspent by {-c.budget_left} ({c.budget} allowed)"


def _plain(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value <= 1:
        return percent(value, 1)
    return f"{value:,.0f}"
