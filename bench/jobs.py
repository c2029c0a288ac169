"""The measurements, each run as a job: in a fresh process when isolated, so its RSS is its own.

Python allocations are measured by tracemalloc in a separate, untimed pass (`trace`) because
tracing slows allocation-heavy code several times over.
"""

from __future__ import annotations

import asyncio
import resource
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from statistics import median
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import hubspot, storm
from bench.data import AGREEMENT_FILE, AT, Shape, handoff_instants, load
from bench.load import sla_burst
from bench.options import Options
from bench.results import Facts, Measured
from bench.slack import sla_status
from bot.check import run_check
from bot.clock import BusinessClock
from bot.followup import rule_times
from bot.sandbox.slack import FakeSlack
from bot.status import build_status, status_json
from models.agreement_loader import load_agreement
from models.db import create_engine
from models.tables import FollowupState

STATUS_WARMUP = 3
BENCH_USER = "U0REP0001"  # a matched owner of the generated store (`bench.data.owner_rows`)

Kind = Literal["deadlines", "check", "status", "slack", "burst", "storm", "hubspot"]
Outcome = tuple[list[float], int, Facts]


@dataclass(frozen=True)
class Job:
    """One measurement: `deadlines` times `rule_times` over `count` hand-offs; `check` runs
    `run_check` once per instant (committed unless `commit` is off); `status` runs
    `build_status` `runs` times at its one instant; `slack` sends `runs` `/sla status` in turn;
    `burst` sends `runs` `/sla` commands at once; `storm` checks and delivers once (a dry run
    when traced); `hubspot` syncs `count` contacts at `speed`. `trace` measures tracemalloc's
    peak instead.
    """

    kind: Kind
    url: str = ""
    instants: tuple[datetime, ...] = ()
    runs: int = 1
    count: int = 0
    days: int = 730
    trace: bool = False
    commit: bool = True
    speed: float = 1.0
    agreement_file: str = str(AGREEMENT_FILE)


class Meter:
    """Wall time of a block, and its tracemalloc peak when tracing."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.seconds = 0.0
        self.peak = 0

    def __enter__(self) -> Meter:
        if self.trace:
            tracemalloc.start()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
        if self.trace:
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


def measure(job: Job) -> Measured:
    """Run one job in this process (a fresh one when isolated); see `Job`."""
    if job.kind == "deadlines":
        seconds, peak, facts = _deadlines(job)
    else:
        run = {
            "check": _check,
            "status": _status,
            "slack": _slack,
            "burst": _burst,
            "storm": _storm,
            "hubspot": _hubspot,
        }[job.kind]
        seconds, peak, facts = asyncio.run(run(job))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return Measured(tuple(seconds), peak if job.trace else None, rss, facts)


def _deadlines(job: Job) -> Outcome:
    """`rule_times` for `count` hand-offs over `days` (results dropped, as the store pages them)."""
    agreement = load_agreement(Path(job.agreement_file))
    clock = BusinessClock.of(agreement)
    instants = list(handoff_instants(job.count, at=AT, days=job.days, seed=Shape.seed))
    timers = [partial(rule_times, clock, rule) for rule in agreement.followup]
    with Meter(job.trace) as meter:
        for timer in timers:
            for instant in instants:
                timer(instant)
    return [meter.seconds], meter.peak, {"hand-offs": len(instants) * len(timers)}


async def _check(job: Job) -> Outcome:
    """`run_check` at each instant in turn, committed (or rolled back), one session each."""
    agreement = load_agreement(Path(job.agreement_file))
    engine = create_engine(job.url)
    seconds: list[float] = []
    peak = 0
    facts: Facts = {}
    try:
        for at in job.instants:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                with Meter(job.trace) as meter:
                    result = await run_check(session, agreement, at=at)
                    await (session.commit() if job.commit else session.rollback())
            seconds.append(meter.seconds)
            peak = max(peak, meter.peak)
            facts = {
                "leads loaded": len(result.leads),
                "changes": len(result.changes),
                "posts": len(result.posts),
            }
        async with AsyncSession(engine) as session:
            stored = (await session.exec(select(func.count()).select_from(FollowupState))).one()
        facts["deadlines kept"] = int(stored)
    finally:
        await engine.dispose()
    return seconds, peak, facts


async def _status(job: Job) -> Outcome:
    """`build_status` + `status_json` `runs` times after warm-up runs, one session each."""
    agreement = load_agreement(Path(job.agreement_file))
    engine = create_engine(job.url)
    (at,) = job.instants
    seconds: list[float] = []
    peak = 0
    try:
        for index in range(STATUS_WARMUP + job.runs):
            warm = index >= STATUS_WARMUP
            with Meter(job.trace and warm) as meter:
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    report = status_json(await build_status(session, agreement, at=at))
            if warm:
                seconds.append(meter.seconds)
                peak = max(peak, meter.peak)
    finally:
        await engine.dispose()
    facts: Facts = {}
    for rule in report["followup"]:
        facts["due in period"] = facts.get("due in period", 0) + int(rule["due"])
        facts["open"] = facts.get("open", 0) + sum(rule["open"].values())
    return seconds, peak, facts


async def _slack(job: Job) -> Outcome:
    """`/sla status` `runs` times through the bot's HTTP listener, request to answer."""
    (at,) = job.instants
    seconds = await sla_status(job.url, at=at, runs=job.runs, user="U0BENCHUSR")
    return seconds, 0, {"requests": len(seconds)}


async def _burst(job: Job) -> Outcome:
    """`runs` `/sla` commands at once to one replica: each one's time to its acknowledgement."""
    (at,) = job.instants
    burst = await sla_burst(job.url, at=at, requests=job.runs, user=BENCH_USER)
    replies = burst.reply_seconds
    facts: Facts = {
        "requests": len(burst.answers),
        "acknowledged (200)": burst.acknowledged,
        "replies": burst.replied,
        "failed replies": burst.failed,
        "max ack s": round(max(burst.ack_seconds, default=0.0), 3),
    }
    if replies:
        facts["reply p50 s"] = round(median(replies), 3)
        facts["slowest reply s"] = round(max(replies), 3)
    return burst.ack_seconds, 0, facts


async def _storm(job: Job) -> Outcome:
    """One check announcing every breach, then its delivery (the check alone, rolled back, when
    traced): [check seconds, delivery seconds]."""
    (at,) = job.instants
    rate = storm.CHANNEL_RATE
    with FakeSlack(channel_rate=rate, channel_burst=storm.CHANNEL_BURST) as fake:
        with Meter(job.trace) as meter:
            found = await storm.breach_storm(job.url, fake, at=at, dry_run=job.trace)
        if job.trace:
            return [found.check_seconds], meter.peak, {}
        posts = storm.posts_by_channel(fake)
        delivery = found.delivery
        assert delivery is not None
        facts: Facts = {
            "leads announced": found.announced,
            "messages": len(found.cycle.posts),
            "posted": sum(len(times) for times in posts.values()),
            "channels": len(posts),
            "429 answers": sum(1 for c in fake.calls_to("chat.postMessage") if c.status == 429),
            "most posts in one channel in 1 s": max(
                map(storm.busiest_second, posts.values()), default=0
            ),
            "left for the next check": len(delivery.retrying) + len(delivery.waiting),
            "failed": len(delivery.failed),
        }
    return [found.check_seconds, found.delivery_seconds], 0, facts


async def _hubspot(job: Job) -> Outcome:
    """One sync of `count` contacts from the fake portal (traced as it runs, as before)."""
    figures = await hubspot.run(job.count, job.url, job.speed)
    facts: Facts = {
        "contacts": figures.contacts,
        "requests": figures.requests,
        "requests per record": round(figures.requests_per_record, 4),
        "share of the bound": round(figures.share_of_bound, 3),
        "pages": figures.pages,
    }
    return [figures.wall_seconds], round(figures.peak_mb * 2**20), facts


async def settle(url: str, at: datetime) -> None:
    """The check the scheduler would have run at `at` (deadlines kept, states recorded)."""
    agreement = load_agreement(AGREEMENT_FILE)
    engine = create_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await run_check(session, agreement, at=at)
            await session.commit()
    finally:
        await engine.dispose()


class Runner:
    """Runs jobs (each in a fresh process when isolated) and fills stores, saying what it does."""

    def __init__(self, options: Options, console: Console | None) -> None:
        self.options = options
        self.console = console

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(f"[dim]{datetime.now():%H:%M:%S}[/] {text}")

    def job(self, job: Job) -> Measured:
        if not self.options.isolate:
            return measure(job)
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            return pool.submit(measure, job).result()

    def fill(self, url: str, shape: Shape, label: str) -> None:
        progress: AbstractContextManager[Any] = (
            nullcontext()
            if self.console is None
            else Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
        )
        with progress as bar:
            task = None if bar is None else bar.add_task(f"generating {label}", total=shape.leads)
            advance: Callable[[int], None] | None = (
                None if bar is None else (lambda n: bar.advance(task, n))
            )
            started = time.perf_counter()
            asyncio.run(load(url, shape, at=AT, progress=advance))
        self.say(f"generated {label} in {time.perf_counter() - started:.1f} s")
