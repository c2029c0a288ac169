"""`slabot plan`: the reverse funnel of the agreement in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import typer
from rich import box
from rich.table import Table

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
from bot.funnel import Plan, reverse_funnel
from models.agreement import Agreement
from models.agreement_loader import AgreementError, load_agreement
from models.db import session_scope


def plan_json(plan: Plan) -> dict[str, object]:
    """The plan in CONTRACT.md's shape (`per_week` and `rate` are extra keys)."""
    return {
        "agreement": plan.agreement,
        "period": {"start": plan.start.isoformat(), "end": plan.end.isoformat()},
        "stages": [
            {
                "stage": s.stage,
                "team": s.team,
                "target": s.target,
                "rate": float(s.rate) if s.rate is not None else None,
                "per_month": s.per_month,
                "per_week": s.per_week,
            }
            for s in plan.stages
        ],
    }


@app.command("plan")
def plan_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    at: str | None = typer.Option(
        None, "--at", help="Plan of the version in force at this instant."
    ),
    file: Path | None = typer.Option(
        None, "--file", help="Plan this agreement file without storing it."
    ),
) -> None:
    """The reverse funnel: targets per stage for the period, per month."""
    if file is not None:
        try:
            agreement = load_agreement(file)
        except AgreementError as exc:
            raise BadInput(str(exc)) from None
    else:
        agreement = _in_force(at)
    plan = reverse_funnel(agreement)
    if as_json:
        print_json(plan_json(plan))
        return
    months = list(plan.stages[0].per_month)
    one_year = plan.start.year == plan.end.year
    header = ["stage", "team", "rate", "target"] + [
        date.fromisoformat(f"{m}-01").strftime("%b" if one_year else "%b %y") for m in months
    ]
    rows = [
        [
            s.stage,
            s.team,
            _percent(s.rate),
            f"{s.target:,}",
            *(f"{s.per_month[m]:,}" for m in months),
        ]
        for s in plan.stages
    ]
    table = Table(
        title=f"{plan.agreement}: {plan.start} to {plan.end}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 0, 0, 1),
    )
    for index, name in enumerate(header):
        width = max(len(name), *(len(row[index]) for row in rows))
        table.add_column(
            name,
            justify="left" if index < 2 else "right",
            no_wrap=True,
            min_width=width,
            style="bold" if name == "target" else None,
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"Revenue goal {agreement.revenue_goal:,} {agreement.currency} / "
        f"average deal {agreement.average_deal_size:,} = {plan.stages[-1].target:,} "
        f"{plan.stages[-1].stage}; each stage above divides by its rate, rounded up.",
        markup=False,
    )


def _percent(rate: Decimal | None) -> str:
    if rate is None:
        return ""
    return f"{rate:.0%}" if rate * 100 % 1 == 0 else f"{rate:.2%}"


def _in_force(at: str | None) -> Agreement:
    config = settings()
    when = parse_at(at)

    async def go() -> Agreement:
        async with open_store(config) as engine, session_scope(engine) as session:
            return await agreement_in_force(session, when)

    return run(go())
