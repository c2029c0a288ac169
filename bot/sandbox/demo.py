"""`slabot demo`: the whole job, offline, on the real pipeline.

A fresh SQLite store in a temporary folder, the sample agreement, the fake HubSpot with six
months of sample data and the fake Slack printing everything posted to it; then the jobs the
scheduler runs (sync, check, the weekly digest, the monthly report with its charts, a win
celebrated) and a signed `/sla status` through the real HTTP listener. The charts, the reports
and a transcript of what reached Slack are written to the output folder.
"""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import httpx
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import Deps, build_app
from bot.digest_message import build_digest, write_files
from bot.report_window import Kind
from bot.sandbox.render import Shown, render_message
from bot.sandbox.sample_data import DEMO_AT
from bot.sandbox.slack_history import dm_channel
from bot.sandbox.slack_requests import command_form, sign, trigger_id
from bot.sandbox.world import World, open_world
from bot.server import EVENTS_PATH, web_app
from bot.settings import Settings
from bot.slack import slack_client
from models.agreement import Agreement
from models.agreement_loader import load_agreement
from models.agreements import apply_agreement
from models.db import create_engine, session_scope, upgrade
from models.tables import SourceState
from scheduler.jobs import Jobs
from scheduler.sources.hubspot_client import HubSpotConfig

STEPS = 6
ASKER = "U01SALESLEAD"  # who types /sla status in the demo: the sales lead
WIN_AFTER = timedelta(minutes=15)  # the next sync, after a deal is won in HubSpot
TRANSCRIPT = "slack.txt"


class DemoFailed(RuntimeError):
    """A step of the demo did not do what it shows (a source failed, nothing was posted)."""


@dataclass
class Transcript:
    """Prints each thing the bot does in Slack as it happens, and keeps it for the file."""

    stream: TextIO
    names: dict[str, str]
    width: int = 78
    kept: list[str] = field(default_factory=list)
    seen: list[Shown] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # the fake calls `shown` from its server threads
        people = [uid for uid in self.names if uid[:1] in ("U", "W")]
        self.names = {**self.names, **{dm_channel(uid): self.names[uid] for uid in people}}

    def say(self, text: str = "") -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def paragraph(self, text: str) -> None:
        self.say("\n".join(textwrap.wrap(text, self.width)))

    def step(self, n: int, text: str) -> None:
        self.say()
        self.say(f"[{n}/{STEPS}] {text}")

    def shown(self, item: Shown) -> None:
        rendered = render_message(item, names=self.names, width=self.width)
        with self._lock:
            self.seen.append(item)
            self.kept.append(rendered)
            print(_indented(rendered), file=self.stream, flush=True)


@dataclass(frozen=True)
class DemoResult:
    seconds: float
    posted: int  # things the bot did in the fake Slack
    files: list[Path]


async def run_demo(out: Path, stream: TextIO, *, at: datetime = DEMO_AT) -> DemoResult:
    """Run the demo at `at`, printing to `stream` and writing into `out`."""
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="slabot-demo-") as tmp,
        open_world(Path(tmp), at=at) as world,
    ):
        show = Transcript(stream, world.names)
        world.slack.watch(show.shown)
        agreement = load_agreement(world.agreement_file)
        _introduce(show, world, agreement, at)
        engine = create_engine(world.database_url)
        try:
            await upgrade(engine)
            files = await _pipeline(engine, world, agreement, show, at, out)
        finally:
            await engine.dispose()
        (out / TRANSCRIPT).write_text("\n\n".join(show.kept) + "\n", encoding="utf-8")
        files.append(out / TRANSCRIPT)
        seconds = time.monotonic() - started
        show.say()
        show.say(f"Done in {seconds:.0f} s: {len(show.seen)} things reached the fake Slack.")
        for path in files:
            show.say(f"  wrote {path}")
        show.say()
        show.say("Next: connect your own workspace (README: Set up in your workspace), or try")
        show.say("the bot by hand against these fakes with `slabot sandbox`.")
        return DemoResult(seconds, len(show.seen), files)


async def _pipeline(
    engine: AsyncEngine,
    world: World,
    agreement: Agreement,
    show: Transcript,
    at: datetime,
    out: Path,
) -> list[Path]:
    settings = world.settings()
    async with session_scope(engine) as session:
        await apply_agreement(
            session,
            agreement=agreement,
            source_text=world.agreement_file.read_text(encoding="utf-8"),
            file=world.agreement_file.name,
            by="slabot demo",
            at=at - timedelta(days=180),  # agreed before the data begins
        )
    hubspot = HubSpotConfig(token=world.hubspot.token, base_url=world.hubspot.url)
    jobs = Jobs(engine=engine, client=slack_client(settings), holder="demo", hubspot=hubspot)

    show.step(1, "Sync: HubSpot (contacts, deals, owners) and the traffic CSV, as every 15 minutes")
    await jobs.sync(at)
    await _report_sources(engine, show)

    show.step(2, "Check: the follow-up rule on every open lead; alerts with their buttons")
    await jobs.check(at)

    show.step(3, "The weekly progress digest (Mondays 09:00)")
    await _digest(jobs, "weekly", at)

    show.step(4, "The monthly joint report with its charts (the 1st, 09:00)")
    await _digest(jobs, "monthly", at)

    show.step(5, "A deal is won in HubSpot; the next sync celebrates it")
    _win_a_deal(world, at + WIN_AFTER / 2)
    before = len(world.slack.messages.get(agreement.channels.wins, []))
    await jobs.sync(at + WIN_AFTER)
    if len(world.slack.messages.get(agreement.channels.wins, [])) <= before:
        raise DemoFailed("the won deal was not celebrated in the wins channel")

    show.step(6, f"{world.names.get(ASKER, ASKER)} types /sla status (a signed request over HTTP)")
    await _ask_status(engine, world, settings, show, at + WIN_AFTER)

    return await _write_reports(engine, at, out)


def _introduce(show: Transcript, world: World, agreement: Agreement, at: datetime) -> None:
    local = at.astimezone(agreement.zone)
    summary = world.summary
    show.paragraph(
        f"SLA Bot demo, as if it were {local:%A %d %B %Y, %H:%M} ({local.tzinfo}). A fresh"
        f" SQLite store in {world.folder}, the sample agreement, a fake HubSpot with six months"
        f" of sample data ({summary.line()}) and a fake Slack that prints everything the bot"
        " posts. Nothing leaves this machine."
    )


async def _report_sources(engine: AsyncEngine, show: Transcript) -> None:
    async with session_scope(engine) as session:
        states = (await session.exec(select(SourceState).order_by(SourceState.name))).all()
    for state in states:
        if state.last_error:
            raise DemoFailed(f"source {state.name} failed: {state.last_error}")
        show.say(
            f"  source {state.name} ({state.kind}): {state.fetched:,} records read,"
            f" {state.stored:,} stored, {state.bad:,} bad"
        )


async def _digest(jobs: Jobs, kind: Kind, at: datetime) -> None:
    recorded = await jobs.digest(kind, at)
    if recorded is None:
        raise DemoFailed(f"no {kind} report was due at {at.isoformat()}")


def _win_a_deal(world: World, when: datetime) -> None:
    owner = world.summary.celebrated_owner
    world.hubspot.add_deal(
        modified=when,
        dealname="Northwind Logistics: annual plan",
        amount="54000",
        dealstage="closedwon",
        hs_is_closed_won=True,
        closedate=when,
        createdate=when - timedelta(days=41),
        hubspot_owner_id=owner,
    )


async def _ask_status(
    engine: AsyncEngine, world: World, settings: Settings, show: Transcript, at: datetime
) -> None:
    """`/sla status` as Slack sends it: signed, over HTTP, answered through `response_url`."""
    deps = Deps(engine=engine, settings=settings, now=lambda: at)
    runner = web.AppRunner(web_app(build_app(deps), deps), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host="127.0.0.1", port=0)
        await site.start()
        port = runner.addresses[0][1]
        response_url = world.slack.response_url(channel="C01SALES", origin="/sla status")
        body = command_form(
            "status",
            user=ASKER,
            channel="C01SALES",
            response_url=response_url,
            trigger_id=trigger_id(1),
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(body, secret=world.signing_secret, timestamp=int(time.time())),
        }
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"http://127.0.0.1:{port}{EVENTS_PATH}", content=body, headers=headers
            )
        show.say(f"  the bot acknowledged in time: HTTP {answer.status_code}")
        if answer.status_code != 200:
            raise DemoFailed(f"/sla status was refused: HTTP {answer.status_code}")
        deadline = time.monotonic() + 10
        while not world.slack.responses_to(response_url):
            if time.monotonic() > deadline:
                raise DemoFailed("/sla status got no reply within 10 s")
            await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()


async def _write_reports(engine: AsyncEngine, at: datetime, out: Path) -> list[Path]:
    """The weekly digest and the monthly report as files: their charts and Markdown."""
    files: list[Path] = []
    for kind in ("weekly", "monthly"):
        async with session_scope(engine) as session:
            digest = await build_digest(session, kind, at)
        if digest is not None:
            files.extend(write_files(digest, out))
    return files


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
