"""`slabot check`: evaluate the lead follow-up rules at an instant and record what changed."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.check import CheckResult, run_check
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
from bot.cli.status import budget
from bot.humanize import percent, span
from models.agreement import Agreement


def check_json(result: CheckResult) -> dict[str, Any]:
    """The result in CONTRACT.md's shape (`counts`, `breaching_next` and `flags` are extra)."""
    return {
        "at": result.at.isoformat(),
        "leads": [
            {
                "id": s.facts.external_id,
                "rule": s.rule,
                "state": s.state,
                "owner": result.owners.get(s.facts.lead_id) or s.facts.owner,
                "handed_off_at": s.times.handed_off_at.isoformat(),
                "deadline": s.times.deadline.isoformat(),
                "first_touch_at": s.facts.first_touch_at.isoformat()
                if s.facts.first_touch_at
                else None,
                "waited_minutes": int(s.waited.total_seconds() // 60),
                "flags": list(s.flags),
            }
            for s in result.leads
        ],
        "compliance": [r.compliance.as_json() for r in result.rules],
        "counts": {r.rule: r.open for r in result.rules},
        "breaching_next": [
            {"rule": r.rule, "until": r.horizon.isoformat(), "leads": r.breaching_next}
            for r in result.rules
        ],
        "changes": [
            {"id": s.facts.external_id, "rule": s.rule, "from": old, "to": s.state}
            for s, old in result.changes
        ],
        "posts": [
            {
                "key": p.key,
                "level": p.level,
                "rule": p.rule,
                "lead": p.lead,
                "channel": p.channel,
                "user": p.user,
                "mentions": list(p.mentions),
                "text": p.text,
            }
            for p in result.posts
        ],
    }


@app.command("check")
def check_command(
    at: str | None = typer.Option(None, "--at", help="Evaluate as if now were this instant."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Change nothing; print what would be posted."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    list_all: bool = typer.Option(
        False, "--all", help="List every open lead past its warn point, not only the changes."
    ),
) -> None:
    """Evaluate lead follow-up rules; record state changes (alerts are posted by the bot)."""
    config = settings()
    when = parse_at(at)

    async def go() -> tuple[Agreement, CheckResult]:
        async with (
            open_store(config) as engine,
            AsyncSession(engine, expire_on_commit=False) as session,
        ):
            agreement = await agreement_in_force(session, when)
            result = await run_check(session, agreement, at=when, list_all=list_all)
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
            return agreement, result

    agreement, result = run(go())
    if as_json:
        print_json(check_json(result))
        return
    _print(agreement, result, dry_run)


def _print(agreement: Agreement, result: CheckResult, dry_run: bool) -> None:
    zone = agreement.zone
    console.print(f"Follow-up at {result.at.astimezone(zone):%Y-%m-%d %H:%M %Z}", markup=False)
    for rule in result.rules:
        c = rule.compliance
        left = budget(c)
        console.print(
            f"  {rule.rule}: {percent(c.ratio, 1)} met ({c.met}/{c.due}, target {percent(c.target)}), "
            f"{left}; open: "
            + (", ".join(f"{n} {state}" for state, n in rule.open.items() if n) or "none")
            + f"; {rule.breaching_next} will breach by {rule.horizon.astimezone(zone):%a %H:%M} unless touched",
            markup=False,
        )
    if result.leads:
        table = Table("lead", "rule", "state", "owner", "deadline", "waited")
        for s in result.leads[:50]:
            table.add_row(
                s.facts.external_id,
                s.rule,
                s.state,
                result.owners.get(s.facts.lead_id) or s.facts.owner or "-",
                f"{s.times.deadline.astimezone(zone):%a %d %b %H:%M}",
                span(s.waited),
            )
        console.print(table)
        if len(result.leads) > 50:
            console.print(f"… and {len(result.leads) - 50} more (use --json for all)", markup=False)
    verb = "would post" if dry_run else "to post"
    for post in result.posts:
        where = f"#{post.channel}" if post.channel else f"@{post.user}"
        console.print(f"  {verb} {where}: {post.text}", markup=False)
    if dry_run:
        console.print("Dry run: nothing was recorded.", markup=False)
    else:
        console.print(f"Recorded {len(result.changes)} state changes.", markup=False)
