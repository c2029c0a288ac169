"""`slabot digest` without `--dry-run`: claim the window, record the digest, post it and its
charts, and say what happened (exit 1 when it is recorded but not, or not all, in Slack)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.common import NO_AGREEMENT, console, open_store, print_json
from bot.digest_message import write_files
from bot.digest_post import deliver_digest, record_digest_once
from bot.errors import NotReady
from bot.report_window import Kind
from bot.settings import Settings
from bot.slack import slack_client
from models import outbox
from models.outbox_files import DONE, UPLOADING, FileEntry, files_of
from scheduler.leader import holder_id

REPORTS = Path("reports")


async def post_digest(
    config: Settings, kind: Kind, when: datetime, *, as_json: bool, out: Path | None
) -> None:
    """Post the digest due at `when` once (see `bot.digest_post`), then report on it."""
    now = datetime.now(UTC)  # the claim's and the outbox's instant; `when` is the report's
    async with open_store(config) as engine:
        client = slack_client(config)
        recorded = await record_digest_once(
            engine, kind, report_at=when, at=now, holder=f"cli:{holder_id()}"
        )
        if recorded is None:
            raise NotReady(NO_AGREEMENT)
        await deliver_digest(engine, client, recorded.key, at=now)
        entry = await outbox.find(engine, recorded.key)
        files = await files_of(engine, recorded.key)
    if entry is None:  # another run holds the window's claim and is recording it now
        note = f"{recorded.key} is being recorded and posted by another run"
        if as_json:
            print_json({"kind": kind, "key": recorded.key, "posted": {"status": "elsewhere"}})
        else:
            console.print(note, markup=False)
        return
    written: list[Path] = []
    folder = out if out is not None else (REPORTS if kind == "monthly" else None)
    if recorded.digest is not None and folder is not None:
        written = write_files(recorded.digest, folder)
    if as_json:
        print_json(_json(kind, entry, files, written, fresh=recorded.fresh))
    else:
        verb = "posted" if recorded.fresh else "already recorded, not posted again"
        where = f"#{entry.channel} (key {entry.key}"
        console.print(f"{verb}: {where}, ts {entry.ts or '-'})", markup=False)
        shared = sum(1 for f in files if f.status == DONE)
        console.print(f"charts shared in its thread: {shared} of {len(files)}", markup=False)
        for path in written:
            console.print(f"wrote {path}", markup=False)
    if entry.ts is None and entry.status == outbox.SENDING and not entry.last_error:
        # Another run (a second cron job, the bot) is posting it right now: not a failure.
        if not as_json:
            console.print(f"{entry.key} is being posted by another run", markup=False)
        return
    if entry.ts is None:
        cause = entry.last_error or "not delivered yet"
        raise NotReady(f"{entry.key} is recorded but not in Slack: {cause}; run again to retry")
    elsewhere = [f for f in files if f.status == UPLOADING and not f.last_error]
    if elsewhere and not as_json:
        console.print(f"{len(elsewhere)} chart(s) being shared by another run", markup=False)
    failed = [f for f in files if f.status != DONE and f not in elsewhere]
    if failed:
        cause = failed[0].last_error or "not uploaded yet"
        raise NotReady(f"{len(failed)} chart(s) of {entry.key} not shared: {cause}")


def _json(
    kind: Kind, entry: outbox.Entry, files: list[FileEntry], written: list[Path], *, fresh: bool
) -> dict[str, Any]:
    """CONTRACT.md's `digest` shape, from what the outbox holds, and what was posted."""
    return {
        "kind": kind,
        "key": entry.key,
        "channel": entry.channel,
        "text": entry.message.get("text"),
        "blocks": entry.message.get("blocks", []),
        "files": [str(path) for path in written],
        "posted": {
            "status": entry.status,
            "ts": entry.ts,
            "recorded_now": fresh,
            "error": entry.last_error,
            "charts": [
                {"name": f.filename, "status": f.status, "file_id": f.file_id} for f in files
            ],
        },
    }
