"""`slabot agreement apply|show|history`: the agreement as versioned data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from bot.cli.app import agreement_app
from bot.cli.common import (
    NO_AGREEMENT,
    console,
    open_store,
    parse_at,
    print_json,
    run,
    settings,
    who,
)
from bot.errors import BadInput, NotReady
from bot.period import period_progress
from models.agreement_loader import AgreementError, load_agreement
from models.agreements import (
    Applied,
    agreement_of,
    apply_agreement,
    history,
    local_date,
    version_in_force,
)
from models.db import session_scope
from models.tables import AgreementVersion


@agreement_app.command("apply")
def apply_command(
    file: Path = typer.Argument(..., help="The agreement YAML file."),
    by: str | None = typer.Option(None, "--by", help="Who applies it (default: cli:<login>)."),
    at: str | None = typer.Option(None, "--at", help="Record it as applied at this instant."),
) -> None:
    """Validate FILE and store it as a new version if its content changed."""
    config = settings()
    when = parse_at(at)
    try:
        agreement = load_agreement(file)
    except AgreementError as exc:
        raise BadInput(str(exc)) from None
    text = file.read_text(encoding="utf-8")
    path = str(file.resolve())

    async def go() -> Applied:
        async with open_store(config) as engine, session_scope(engine) as session:
            return await apply_agreement(
                session,
                agreement=agreement,
                source_text=text,
                file=path,
                by=who(by),
                at=when,
            )

    result = run(go())
    version = result.version
    if not result.created:
        console.print(
            f"Unchanged: {file} matches version {version.version} ({version.name}); nothing stored.",
            markup=False,
        )
        return
    console.print(
        f"Stored version {version.version}: {version.name} "
        f"({version.period_start} to {version.period_end}, {version.timezone}).",
        markup=False,
    )
    for line in result.changes:
        console.print(f"  {line}", markup=False)
    console.print("Next: `slabot plan` shows the targets per stage.", markup=False)


def _days(version: AgreementVersion, at: datetime) -> dict[str, Any]:
    today = local_date(at, version.timezone)
    days = period_progress(version.period_start, version.period_end, today)
    return {
        "state": days.state,
        "days_left": days.days_left,
        "days_total": days.days_total,
        "today": today.isoformat(),
    }


@agreement_app.command("show")
def show_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    at: str | None = typer.Option(None, "--at", help="Show the version in force at this instant."),
) -> None:
    """The agreement in force, its version and the days left in its period."""
    config = settings()
    when = parse_at(at)

    async def go() -> AgreementVersion | None:
        async with open_store(config) as engine, session_scope(engine) as session:
            return await version_in_force(session, when)

    version = run(go())
    if version is None:
        raise NotReady(NO_AGREEMENT)
    days = _days(version, when)
    if as_json:
        print_json(
            {
                "version": version.version,
                "name": version.name,
                "applied_at": version.applied_at.isoformat(),
                "applied_by": version.applied_by,
                "period": {"start": str(version.period_start), "end": str(version.period_end)},
                **days,
                "agreement": version.document,
            }
        )
        return
    agreement = agreement_of(version)
    when_text = {
        "in_force": f"{days['days_left']} of {days['days_total']} days left",
        "not_started": f"starts {version.period_start} ({days['days_total']} days)",
        "ended": f"ended {version.period_end}: time to revise it",
    }[days["state"]]
    console.print(f"[bold]{version.name}[/bold]  (version {version.version})")
    console.print(
        f"Period {version.period_start} to {version.period_end} ({version.timezone}): {when_text}",
        markup=False,
    )
    console.print(
        f"Revenue goal {agreement.revenue_goal:,} {agreement.currency}, "
        f"average deal {agreement.average_deal_size:,} {agreement.currency}",
        markup=False,
    )
    console.print(
        f"Applied {version.applied_at:%Y-%m-%d %H:%M} UTC by {version.applied_by}", markup=False
    )
    teams = Table("team", "lead", "channel", "stages", title="Teams")
    for key, team in agreement.teams.items():
        stages = ", ".join(s.stage for s in agreement.funnel if s.team == key) or "-"
        teams.add_row(key, team.lead, team.channel or "-", stages)
    console.print(teams)
    if agreement.followup:
        rules = Table("rule", "stage", "within", "warn before", "escalate after", "target")
        for rule in agreement.followup:
            rules.add_row(
                rule.name,
                rule.stage,
                rule.within,
                rule.warn_before or "-",
                rule.escalate_after or "-",
                f"{rule.target:.0%}",
            )
        console.print(rules)


@agreement_app.command("history")
def history_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every version: who applied it, when, and what changed."""
    config = settings()

    async def go() -> list[AgreementVersion]:
        async with open_store(config) as engine, session_scope(engine) as session:
            return await history(session)

    versions = run(go())
    if as_json:
        print_json(
            [
                {
                    "version": v.version,
                    "name": v.name,
                    "applied_at": v.applied_at.isoformat(),
                    "applied_by": v.applied_by,
                    "period": {"start": str(v.period_start), "end": str(v.period_end)},
                    "changes": v.diff.splitlines(),
                }
                for v in versions
            ]
        )
        return
    if not versions:
        raise NotReady(NO_AGREEMENT)
    table = Table("version", "applied (UTC)", "by", "name / changes", title="Agreement history")
    for v in versions:
        changes = "\n".join(v.diff.splitlines()[:20])
        more = len(v.diff.splitlines()) - 20
        if more > 0:
            changes += f"\n… and {more} more"
        table.add_row(
            str(v.version), f"{v.applied_at:%Y-%m-%d %H:%M}", v.applied_by, f"{v.name}\n{changes}"
        )
    console.print(table)
