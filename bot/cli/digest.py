"""`slabot digest weekly|monthly`: build the weekly digest or the monthly joint report, and post
it (with `--dry-run`, only show it). Posting goes through the same slot claim and outbox as the
scheduler (`bot.digest_post`), so a cron job may drive it, and running it twice, or twice at
once, for the same instant posts once."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape

from bot.check import refresh_all_deadlines
from bot.cli.app import app
from bot.cli.common import (
    NO_AGREEMENT,
    console,
    open_store,
    parse_at,
    print_json,
    run,
    settings,
)
from bot.cli.digest_posting import post_digest
from bot.digest_markdown import block_texts, bold_spans
from bot.digest_message import Digest, build_digest, digest_json, write_files
from bot.errors import BadInput, NotReady
from bot.report_window import KINDS, Kind, governing_agreement
from models.db import session_scope

REPORTS = Path("reports")  # where `monthly` writes its charts and Markdown without `--out`
EMOJI = re.compile(r":[a-z_]+: ?")  # Slack's emoji codes: the words next to them say it all
NO_TOKEN = (
    "SLACK_BOT_TOKEN is not set: posting a digest needs the bot token (xoxb-…); "
    "add --dry-run to see it without posting"
)


@app.command("digest")
def digest_command(
    kind: str = typer.Argument(..., help="weekly or monthly", show_default=False),
    at: str | None = typer.Option(None, "--at", help="Build it as if now were this instant."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be posted."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the charts and a Markdown report here (monthly: ./reports)."
    ),
) -> None:
    """The weekly digest (last Monday to Sunday) or the monthly joint report (last month)."""
    if kind not in KINDS:
        raise BadInput(f"digest: unknown kind {kind!r}; use weekly or monthly")
    config = settings()
    when = parse_at(at)
    report_kind: Kind = "weekly" if kind == "weekly" else "monthly"
    if not dry_run:
        if config.slack_bot_token is None:
            raise BadInput(NO_TOKEN)
        run(post_digest(config, report_kind, when, as_json=as_json, out=out))
        return

    async def go() -> Digest:
        async with open_store(config) as engine:
            async with session_scope(engine) as session:
                governing = await governing_agreement(session, report_kind, when)
                if governing is None:
                    raise NotReady(NO_AGREEMENT)
                await refresh_all_deadlines(session, governing[0], at=when)
            async with session_scope(engine) as session:
                digest = await build_digest(session, report_kind, when)
                assert digest is not None  # an agreement was found above
                return digest

    digest = run(go())
    folder = out if out is not None else (REPORTS if report_kind == "monthly" else None)
    files = write_files(digest, folder) if folder is not None else []
    if as_json:
        print_json(digest_json(digest, files))
        return
    _print(digest, files)


def _print(digest: Digest, files: list[Path]) -> None:
    """The message as a person reads it in Slack, then where it would go and what was written."""
    for block in digest.reply.blocks:
        kind = block["type"]
        if kind == "divider":
            console.rule(style="dim")
            continue
        for text in block_texts(block):
            text = EMOJI.sub("", text)
            shown = bold_spans(
                escape(text).replace("```\n", "").replace("\n```", ""), "[bold]", "[/bold]"
            )
            console.print(
                shown, style="bold" if kind == "header" else ("dim" if kind == "context" else None)
            )
    console.print(f"would post to #{digest.channel} (key {digest.key})", style="dim", markup=False)
    for path in files:
        console.print(f"wrote {path}", markup=False)
