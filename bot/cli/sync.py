"""`slabot sync`: poll the KPI sources of the agreement in force once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from bot.cli.app import app
from bot.cli.common import (
    agreement_in_force,
    console,
    errors,
    open_store,
    parse_at,
    print_json,
    run,
    settings,
)
from bot.errors import BadInput
from bot.settings import Settings
from bot.slack import slack_client
from models.agreement import HubspotSource, Source
from models.db import session_scope
from scheduler.sources.csv_files import BadRow
from scheduler.sources.hubspot_client import HubSpotConfig
from scheduler.sources.hubspot_records import BadRecord
from scheduler.sync import Progress as ProgressCallback
from scheduler.sync import SourceResult, UnknownSource, selected_sources, sync_sources

SHOW_BAD_ROWS = 20


@app.command("sync")
def sync_command(
    source: str | None = typer.Option(None, "--source", help="Sync only the source NAME."),
    at: str | None = typer.Option(None, "--at", help="Record the sync as done at this instant."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Poll the KPI sources once (a progress bar on a terminal); exit 1 if a source failed."""
    config = settings()
    when = parse_at(at)

    async def go() -> list[SourceResult]:
        async with open_store(config) as engine:
            async with session_scope(engine) as session:
                agreement = await agreement_in_force(session, when)
            try:
                hubspot = hubspot_config(config, selected_sources(agreement, source))
            except UnknownSource as exc:
                raise BadInput(str(exc)) from None
            # HubSpot owners are matched to Slack users when the bot token is there; optional.
            slack = slack_client(config) if hubspot and config.slack_bot_token else None
            with _progress(enabled=console.is_terminal and not as_json) as progress:
                return await sync_sources(
                    engine,
                    agreement,
                    at=when,
                    only=source,
                    progress=progress,
                    hubspot=hubspot,
                    slack=slack,
                )

    results = run(go())
    if as_json:
        print_json(sync_json(results, when))
    else:
        _print(results)
    failed = [result for result in results if result.status == "failed"]
    for result in failed:
        errors.print(f"error: source {result.name} failed: {result.error}", markup=False)
    if failed:
        raise typer.Exit(1)


def hubspot_config(config: Settings, sources: list[Source]) -> HubSpotConfig | None:
    """How to reach HubSpot when a HubSpot source is synced; without a token that is bad input."""
    names = [source.name for source in sources if isinstance(source, HubspotSource)]
    if not names:
        return None
    if config.hubspot_token is None:
        raise BadInput(
            f"HUBSPOT_TOKEN is not set: source {names[0]} is a HubSpot source; set it to the "
            "access token of a HubSpot private app with the scopes crm.objects.contacts.read, "
            "crm.objects.deals.read and crm.objects.owners.read"
        )
    return HubSpotConfig(
        token=config.hubspot_token.get_secret_value(), base_url=config.hubspot_api_url
    )


def sync_json(results: list[SourceResult], at: datetime) -> dict[str, Any]:
    """The sync's outcome as `--json` prints it (`status`, `file` and `note` are extra keys)."""
    return {
        "at": at.isoformat(),
        "sources": [
            {
                "name": r.name,
                "kind": r.kind,
                "status": r.status,
                "file": r.file,
                "fetched": r.fetched,
                "new": r.new,
                "changed": r.changed,
                "unchanged": r.unchanged,
                "bad": r.bad,
                "bad_rows": [_bad_json(b) for b in r.bad_rows],
                "error": r.error,
                "note": r.note,
            }
            for r in results
        ],
    }


def _bad_json(bad: BadRow) -> dict[str, Any]:
    """A bad row by its line, or a bad HubSpot record by its `record` ("contact 123")."""
    if isinstance(bad, BadRecord):
        return {"record": bad.record, "field": bad.field, "message": bad.message}
    return {"line": bad.line, "field": bad.field, "message": bad.message}


def _print(results: list[SourceResult]) -> None:
    if not results:
        console.print("The agreement lists no sources; nothing to sync.", markup=False)
    for result in results:
        if result.status == "skipped":
            console.print(f"{result.name}: {result.note}", markup=False)
            continue
        file = _shown(result.file or result.name)
        for bad in result.bad_rows[:SHOW_BAD_ROWS]:
            console.print(bad.render(file), markup=False)
        if result.bad > SHOW_BAD_ROWS:
            console.print(f"… and {result.bad - SHOW_BAD_ROWS} more bad rows", markup=False)
        read = "records" if result.kind == "hubspot" else "rows"
        if result.status == "failed":
            kept = result.kind == "hubspot" and result.fetched  # its pages are stored as they come
            stored = f" ({result.fetched} records read before it were stored)" if kept else ""
            console.print(f"{result.name}: failed: {result.error}{stored}", markup=False)
            continue
        note = f"; {result.note}" if result.note else ""
        console.print(
            f"{result.name}: {result.fetched} {read} read, {result.new} new, "
            f"{result.changed} changed, {result.unchanged} unchanged, {result.bad} bad{note}",
            markup=False,
        )


def _shown(file: str) -> str:
    """The file relative to the working folder when it is inside it (shorter to read)."""
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except ValueError:
        return file


@contextmanager
def _progress(*, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar per source, or nothing when stdout is not a terminal."""
    if not enabled:
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(name: str, rows: int) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=None)
        bar.update(tasks[name], completed=rows)

    with bar:
        yield advance
