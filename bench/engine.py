"""The engine benchmarks: deadlines in memory, `check` at 1M leads, `status` at 100k leads.

Each measurement runs in a fresh process (unless `isolate` is off), so its RSS high-water mark
is its own; Python allocations are measured by tracemalloc in a separate, untimed pass because
tracing slows allocation-heavy code several times over.
"""

from __future__ import annotations

import asyncio
import math
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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

from bench.data import (
    AGREEMENT_FILE,
    AT,
    Shape,
    handoff_instants,
    load,
    postgres_problem,
    scratch_store,
    tidy,
)
from bot.check import run_check
from bot.clock import BusinessClock
from bot.followup import rule_times
from bot.status import build_status, status_json
from models.agreement_loader import load_agreement
from models.db import create_engine
from models.tables import FollowupState

BENCHMARKS = ("deadlines", "check", "status", "slack")
STORES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MEMORY_TARGET_MB = 300.0
CHECK_TARGET_S = 3.0
STATUS_TARGET_S = 0.050
STATUS_WARMUP = 3
CHECK_EVERY = timedelta(minutes=5)
MB = 1024 * 1024

Kind = Literal["deadlines", "check", "status", "slack"]


@dataclass(frozen=True)
class Sizes:
    """The full sizes of the issue; `scaled` shrinks the data, never the number of runs."""

    deadlines: int = 1_000_000
    check_leads: int = 1_000_000
    check_open: int = 100_000
    status_leads: int = 100_000
    status_open: int = 10_000
    status_runs: int = 50
    slack_runs: int = 200  # `/sla status` through the HTTP listener; p99 is the 2nd slowest
    steady_runs: int = 3
    days: int = 730

    def scaled(self, factor: float) -> Sizes:
        if factor <= 0:
            raise ValueError("the scale must be positive")

        def n(value: int) -> int:
            return max(1, round(value * factor))

        return replace(
            self,
            deadlines=n(self.deadlines),
            check_leads=max(2, n(self.check_leads)),
            check_open=n(self.check_open),
            status_leads=max(2, n(self.status_leads)),
            status_open=n(self.status_open),
        )


@dataclass(frozen=True)
class Options:
    sizes: Sizes = field(default_factory=Sizes)
    only: tuple[str, ...] = BENCHMARKS
    stores: tuple[str, ...] = STORES
    postgres_url: str = DEFAULT_POSTGRES_URL
    isolate: bool = True  # one process per measurement (RSS per benchmark)
    folder: Path | None = None  # where the SQLite files go (a temp folder by default)


@dataclass(frozen=True)
class Row:
    """One line of the result table; times in seconds, memory in MB (None: not measured)."""

    benchmark: str
    store: str
    size: str
    runs: int
    p50: float | None
    p99: float | None
    python_peak_mb: float | None
    rss_peak_mb: float | None
    target: str
    verdict: str
    notes: str = ""


@dataclass
class Report:
    started_at: datetime
    at: datetime
    options: Options
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0


# -- measurements (run in a child process when isolated) --------------------------------------


@dataclass(frozen=True)
class Job:
    """One measurement: `deadlines` times `rule_times` over `count` hand-offs; `check` runs
    `run_check` once per instant (committed unless `commit` is off); `status` runs
    `build_status` `runs` times at its one instant. `trace` measures tracemalloc's peak instead.
    """

    kind: Kind
    url: str = ""
    instants: tuple[datetime, ...] = ()
    runs: int = 1
    count: int = 0
    days: int = 730
    trace: bool = False
    commit: bool = True
    agreement_file: str = str(AGREEMENT_FILE)


@dataclass(frozen=True)
class Measured:
    seconds: tuple[float, ...]
    python_peak: int | None  # bytes, tracemalloc
    rss_peak: int  # bytes, the process's high-water mark
    facts: dict[str, int]


class _Meter:
    """Wall time of a block, and its tracemalloc peak when tracing."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.seconds = 0.0
        self.peak = 0

    def __enter__(self) -> _Meter:
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
    elif job.kind == "check":
        seconds, peak, facts = asyncio.run(_check(job))
    elif job.kind == "slack":
        seconds, peak, facts = asyncio.run(_slack(job))
    else:
        seconds, peak, facts = asyncio.run(_status(job))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return Measured(tuple(seconds), peak if job.trace else None, rss, facts)


Outcome = tuple[list[float], int, dict[str, int]]


def _deadlines(job: Job) -> Outcome:
    """`rule_times` for `count` hand-offs over `days` (results dropped, as the store pages them)."""
    agreement = load_agreement(Path(job.agreement_file))
    clock = BusinessClock.of(agreement)
    instants = list(handoff_instants(job.count, at=AT, days=job.days, seed=Shape.seed))
    timers = [partial(rule_times, clock, rule) for rule in agreement.followup]
    with _Meter(job.trace) as meter:
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
    facts: dict[str, int] = {}
    try:
        for at in job.instants:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                with _Meter(job.trace) as meter:
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
            with _Meter(job.trace and warm) as meter:
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    report = status_json(await build_status(session, agreement, at=at))
            if warm:
                seconds.append(meter.seconds)
                peak = max(peak, meter.peak)
    finally:
        await engine.dispose()
    facts: dict[str, int] = {}
    for rule in report["followup"]:
        facts["due in period"] = facts.get("due in period", 0) + int(rule["due"])
        facts["open"] = facts.get("open", 0) + sum(rule["open"].values())
    return seconds, peak, facts


async def _slack(job: Job) -> Outcome:
    """`/sla status` `runs` times through the bot's HTTP listener, request to answer."""
    from bench.slack import sla_status

    (at,) = job.instants
    seconds = await sla_status(job.url, at=at, runs=job.runs, user="U0BENCHUSR")
    return seconds, 0, {"requests": len(seconds)}


async def _settle(url: str, at: datetime) -> None:
    """The check the scheduler would have run before anyone asks for the status."""
    agreement = load_agreement(AGREEMENT_FILE)
    engine = create_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await run_check(session, agreement, at=at)
            await session.commit()
    finally:
        await engine.dispose()


# -- the run ----------------------------------------------------------------------------------


class _Runner:
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


def run(options: Options, *, console: Console | None = None) -> Report:
    """Every selected benchmark on every selected store; rows in a fixed order."""
    started = time.perf_counter()
    report = Report(started_at=datetime.now(UTC), at=AT, options=options)
    runner = _Runner(options, console)
    sizes = options.sizes
    if "deadlines" in options.only:
        runner.say(f"deadlines: rule_times for {sizes.deadlines:,} hand-offs")
        report.rows.append(_deadline_row(runner, sizes))
    for store in options.stores:
        problem = None
        if store == "postgresql":
            problem = asyncio.run(postgres_problem(options.postgres_url))
        wanted = [b for b in ("check", "status", "slack") if b in options.only]
        if problem is not None:
            report.rows.extend(_skipped(b, store, problem) for b in wanted)
            runner.say(f"[yellow]{store} skipped: {problem}[/]")
            continue
        if "check" in options.only:
            report.rows.extend(_check_rows(runner, store, sizes))
        if "status" in options.only or "slack" in options.only:
            report.rows.extend(_status_rows(runner, store, sizes))
    report.seconds = time.perf_counter() - started
    return report


def _deadline_row(runner: _Runner, sizes: Sizes) -> Row:
    job = Job("deadlines", count=sizes.deadlines, days=sizes.days)
    timed = runner.job(job)
    traced = runner.job(replace(job, trace=True))
    seconds = timed.seconds[0]
    per = seconds / max(timed.facts["hand-offs"], 1) * 1e6
    return _row(
        "deadlines (rule_times)",
        "in memory",
        f"{sizes.deadlines:,} hand-offs",
        timed,
        traced,
        runner.options.isolate,
        time_target=None,
        notes=f"{per:.1f} µs per hand-off; RSS includes the {sizes.deadlines:,} input instants",
    )


def _check_rows(runner: _Runner, store: str, sizes: Sizes) -> Iterator[Row]:
    shape = Shape(leads=sizes.check_leads, open_leads=sizes.check_open, days=sizes.days)
    size = f"{shape.leads:,} leads, {shape.open_leads:,} open"
    with scratch_store(
        store, "check", postgres_url=runner.options.postgres_url, folder=runner.options.folder
    ) as url:
        runner.fill(url, shape, f"check store on {store} ({shape.leads:,} leads)")
        first = Job("check", url=url, instants=(AT,))
        runner.say(f"check on {store}: first run (deadline backfill), traced and rolled back")
        traced = runner.job(replace(first, trace=True, commit=False))
        runner.say(f"check on {store}: first run (deadline backfill), timed and committed")
        timed = runner.job(first)
        asyncio.run(tidy(url))
        yield _row(
            "first check (deadline backfill)",
            store,
            size,
            timed,
            traced,
            runner.options.isolate,
            time_target=None,
            notes="one-off (first start after an upgrade): no time target; "
            + _facts(timed.facts)
            + _tidied(store),
        )
        later = tuple(AT + CHECK_EVERY * (i + 1) for i in range(sizes.steady_runs))
        runner.say(f"check on {store}: steady state, {len(later)} runs {CHECK_EVERY} apart")
        timed = runner.job(Job("check", url=url, instants=later))
        after = (later[-1] + CHECK_EVERY,)
        traced = runner.job(Job("check", url=url, instants=after, trace=True, commit=False))
        yield _row(
            "check (steady, every 5 min)",
            store,
            size,
            timed,
            traced,
            runner.options.isolate,
            time_target=CHECK_TARGET_S if store == "postgresql" else None,
            notes=_facts(timed.facts) + _tidied(store),
        )


def _status_rows(runner: _Runner, store: str, sizes: Sizes) -> Iterator[Row]:
    """`build_status` alone, and `/sla status` as a person meets it, on one filled store."""
    shape = Shape(leads=sizes.status_leads, open_leads=sizes.status_open, days=sizes.days)
    size = f"{shape.leads:,} leads, {shape.days} days of metrics"
    with scratch_store(
        store, "status", postgres_url=runner.options.postgres_url, folder=runner.options.folder
    ) as url:
        runner.fill(url, shape, f"status store on {store} ({shape.leads:,} leads)")
        asyncio.run(_settle(url, AT))
        asyncio.run(tidy(url))
        if "status" in runner.options.only:
            runner.say(f"status on {store}: {sizes.status_runs} runs after {STATUS_WARMUP} warm-up")
            job = Job("status", url=url, instants=(AT,), runs=sizes.status_runs)
            timed = runner.job(job)
            traced = runner.job(replace(job, runs=1, trace=True))
            yield _row(
                "status (build_status + status_json)",
                store,
                size,
                timed,
                traced,
                runner.options.isolate,
                time_target=STATUS_TARGET_S,
                notes=f"{STATUS_WARMUP} warm-up runs excluded; "
                + _facts(timed.facts)
                + _tidied(store),
            )
        if "slack" in runner.options.only:
            runner.say(f"/sla status on {store}: {sizes.slack_runs} signed requests")
            timed = runner.job(Job("slack", url=url, instants=(AT,), runs=sizes.slack_runs))
            yield _row(
                "/sla status (signed request → answer)",
                store,
                size,
                timed,
                None,
                runner.options.isolate,
                time_target=STATUS_TARGET_S,
                on_p99=True,
                notes="the real HTTP listener and Bolt dispatch; the answer is the reply "
                "through response_url, received by the fake Slack on loopback; the replica's "
                "status kept fresh as `slabot run` keeps it (a request that must compute pays "
                f"the status row); 3 warm-up requests excluded{_tidied(store)}",
            )


def _tidied(store: str) -> str:
    return "; VACUUM ANALYZE after the load and the first check" if store == "postgresql" else ""


def _facts(facts: dict[str, int]) -> str:
    return ", ".join(f"{name} {value:,}" for name, value in facts.items())


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 50 runs is the slowest run)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _row(
    name: str,
    store: str,
    size: str,
    timed: Measured,
    traced: Measured | None,
    isolated: bool,
    *,
    time_target: float | None,
    notes: str,
    on_p99: bool = False,
) -> Row:
    seconds = list(timed.seconds)
    p50 = median(seconds)
    p99 = percentile(seconds, 0.99) if len(seconds) > 1 else None
    python_mb = None if traced is None else (traced.python_peak or 0) / MB
    # The traced pass's RSS would include tracemalloc's own bookkeeping: use the timed one.
    rss_mb = timed.rss_peak / MB if isolated else None
    memory_mb = rss_mb if rss_mb is not None else python_mb
    memory_ok = memory_mb is None or memory_mb <= MEMORY_TARGET_MB
    targets = [f"≤ {MEMORY_TARGET_MB:.0f} MB"]
    missed = [] if memory_ok else ["memory"]
    if time_target is not None:
        which = ("p99 " if on_p99 else "p50 ") if len(seconds) > 1 else ""
        targets.insert(0, f"{which}≤ {_duration(time_target)}")
        measured = p99 if on_p99 and p99 is not None else p50
        if measured > time_target:
            missed.insert(0, "time")
    verdict = "met" if not missed else "missed: " + ", ".join(missed)
    return Row(
        benchmark=name,
        store=store,
        size=size,
        runs=len(seconds),
        p50=p50,
        p99=p99,
        python_peak_mb=python_mb,
        rss_peak_mb=rss_mb,
        target=", ".join(targets),
        verdict=verdict,
        notes=notes,
    )


def _skipped(benchmark: str, store: str, problem: str) -> Row:
    return Row(
        benchmark=benchmark,
        store=store,
        size="",
        runs=0,
        p50=None,
        p99=None,
        python_peak_mb=None,
        rss_peak_mb=None,
        target="",
        verdict="skipped",
        notes=f"PostgreSQL not reachable: {problem}",
    )


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.0f} s"
