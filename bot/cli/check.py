"""`slabot check`: evaluate the lead follow-up rules at an instant, record what changed, and
post the alerts through the outbox (a cron job can drive the bot with it alone)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerting import AlertCycle, alert_cycle, deliver_alerts
from bot.check import CheckResult
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
from bot.errors import BadInput, NotReady
from bot.humanize import percent, span
from bot.outbox import Delivery
from bot.settings import Settings
from bot.slack import slack_client
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
    }


def cycle_json(cycle: AlertCycle, delivery: Delivery | None = None) -> dict[str, Any]:
    """The check and the messages it planned (`posts`), edits, and what delivery did."""
    data = check_json(cycle.check)
    data["posts"] = [p.as_json() for p in cycle.posts]
    data["edits"] = [e.as_json() for e in cycle.edits]
    data["paused_sources"] = [
        {"source": a.name, "since": a.last_success_at.isoformat() if a.last_success_at else None}
        for a in cycle.paused
    ]
    if delivery is not None:
        data["delivery"] = {
            "sent": delivery.sent + delivery.found,
            "edited": delivery.edited,
            "retrying": delivery.retrying,
            "failed": delivery.failed,
        }
    return data


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
    """Evaluate lead follow-up rules, record state changes, and post the alerts."""
    config = settings()
    when = parse_at(at)
    agreement, cycle, delivery = run(_check(config, when, dry_run=dry_run, list_all=list_all))
    if as_json:
        print_json(cycle_json(cycle, delivery))
    else:
        _print(agreement, cycle, delivery)
    if delivery is not None and delivery.failed:
        raise NotReady(f"{len(delivery.failed)} alert(s) could not be posted: {delivery.failed}")


async def _check(
    config: Settings, when: datetime, *, dry_run: bool, list_all: bool
) -> tuple[Agreement, AlertCycle, Delivery | None]:
    async with open_store(config) as engine:
        async with AsyncSession(engine) as session:
            agreement = await agreement_in_force(session, when)
        if not dry_run and config.slack_bot_token is None:  # refused before anything is written
            raise BadInput(
                "missing setting: SLACK_BOT_TOKEN (the bot token, xoxb-…) is needed to post the "
                "alerts; `slabot check --dry-run` needs none"
            )
        cycle = await alert_cycle(engine, agreement, at=when, dry_run=dry_run, list_all=list_all)
        if dry_run:
            return agreement, cycle, None
        started = time.monotonic()

        def now() -> datetime:  # `--at` moves the clock, not its pace (Retry-After waits)
            return when + timedelta(seconds=time.monotonic() - started)

        client = slack_client(config)
        delivery = await deliver_alerts(engine, client, cycle.keys, now=now)
        return agreement, cycle, delivery


def _print(agreement: Agreement, cycle: AlertCycle, delivery: Delivery | None) -> None:
    result = cycle.check
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
    for age in cycle.paused:
        console.print(f"  paused: data from {age.name} is stale", markup=False)
    verb = "would post" if cycle.dry_run else "posting"
    for post in cycle.posts:
        console.print(f"  {verb} {post.channel} [{post.key}]: {post.text}", markup=False)
    for edit in cycle.edits:
        console.print(f"  {verb} an edit of [{edit.key}]: {edit.text}", markup=False)
    if delivery is None:
        console.print("Dry run: nothing was recorded or posted.", markup=False)
        return
    console.print(f"Recorded {len(result.changes)} state changes.", markup=False)
    console.print(
        f"Posted {len(delivery.sent) + len(delivery.found)}, edited {len(delivery.edited)}"
        + (f"; {len(delivery.retrying)} left for the next check" if delivery.retrying else "")
        + (f"; {len(delivery.failed)} failed" if delivery.failed else "")
        + ".",
        markup=False,
    )
