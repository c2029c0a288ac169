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
from models.db import session_scope
from scheduler.sync import Progress as ProgressCallback
from scheduler.sync import SourceResult, UnknownSource, sync_sources

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
            with _progress(enabled=console.is_terminal and not as_json) as progress:
                try:
                    return await sync_sources(
                        engine, agreement, at=when, only=source, progress=progress
                    )
                except UnknownSource as exc:
                    raise BadInput(str(exc)) from None

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
                "bad_rows": [
                    {"line": b.line, "field": b.field, "message": b.message} for b in r.bad_rows
                ],
                "error": r.error,
                "note": r.note,
            }
            for r in results
        ],
    }


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
        if result.status == "failed":
            console.print(f"{result.name}: failed: {result.error}", markup=False)
            continue
        console.print(
            f"{result.name}: {result.fetched} rows read, {result.new} new, "
            f"{result.changed} changed, {result.unchanged} unchanged, {result.bad} bad",
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
