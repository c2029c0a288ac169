"""`slabot log METRIC VALUE [--date D]`: record a daily value by hand (who and when are kept)."""

from __future__ import annotations

from datetime import date

import typer

from bot.actions import ActionError
from bot.cli.app import app
from bot.cli.common import agreement_in_force, console, open_store, parse_at, run, settings, who
from bot.errors import BadInput
from bot.manual import Logged, log_value, parse_value
from models.db import session_scope


@app.command("log")
def log_command(
    metric: str = typer.Argument(..., help="A funnel stage or a metric an extra KPI uses."),
    value: str = typer.Argument(..., help="The day's value, a plain number."),
    day: str | None = typer.Option(
        None, "--date", help="YYYY-MM-DD (default: today in the agreement's zone)."
    ),
    team: str | None = typer.Option(None, "--team", help="The team the value belongs to."),
    by: str | None = typer.Option(None, "--by", help="Who enters it (default: cli:<login>)."),
    at: str | None = typer.Option(None, "--at", help="Record it as entered at this instant."),
) -> None:
    """Record a manual daily value; a later value for the same day replaces the earlier one."""
    config = settings()
    when = parse_at(at)
    try:
        number = parse_value(value)
    except ActionError as exc:
        raise BadInput(f"VALUE: {exc}") from None
    if day is not None:
        try:
            chosen: date | None = date.fromisoformat(day)
        except ValueError:
            raise BadInput(
                f"--date: {day!r} is not a date; write YYYY-MM-DD, e.g. 2027-03-01"
            ) from None
    else:
        chosen = None

    async def go() -> Logged:
        async with open_store(config) as engine, session_scope(engine) as session:
            agreement = await agreement_in_force(session, when)
            try:
                return await log_value(
                    session,
                    agreement,
                    metric=metric,
                    value=number,
                    day=chosen or when.astimezone(agreement.zone).date(),
                    team=team or "",
                    by=who(by),
                    at=when,
                )
            except ActionError as exc:
                raise BadInput(str(exc)) from None

    console.print(run(go()).message, markup=False)
