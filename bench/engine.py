"""The bench run: every selected benchmark on every selected store, as rows in a fixed order.

The engine rows are here: deadlines in memory, `check` at 1M leads, `status` and `/sla status`
at 100k leads. The load rows (the `/sla` burst, the breach storm) and the HubSpot sync are
built by `bench.load_rows`; the measurements themselves by `bench.jobs`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rich.console import Console

from bench import load_rows
from bench.data import AT, Shape, postgres_problem, scratch_store, tidy
from bench.jobs import STATUS_WARMUP, Job, Runner, settle
from bench.options import BENCHMARKS, DEFAULT_POSTGRES_URL, STORES, Options, Sizes
from bench.results import (
    Row,
    facts_text,
    failed_row,
    failure_text,
    make_row,
    skipped_row,
    tidied_note,
)

__all__ = [
    "BENCHMARKS",
    "DEFAULT_POSTGRES_URL",
    "STORES",
    "Options",
    "Report",
    "Row",
    "Sizes",
    "run",
]

CHECK_TARGET_S = 3.0
STATUS_TARGET_S = 0.050
CHECK_EVERY = timedelta(minutes=5)
PER_STORE = ("check", "status", "slack", "burst", "storm", "hubspot")

RowsOf = Callable[[Runner, str, Sizes], Iterator[Row]]


@dataclass
class Report:
    started_at: datetime
    at: datetime
    options: Options
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0


def run(options: Options, *, console: Console | None = None) -> Report:
    """Every selected benchmark on every selected store; rows in a fixed order."""
    started = time.perf_counter()
    report = Report(started_at=datetime.now(UTC), at=AT, options=options)
    runner = Runner(options, console)
    sizes = options.sizes
    if "deadlines" in options.only:
        runner.say(f"deadlines: rule_times for {sizes.deadlines:,} hand-offs")
        report.rows.append(_deadline_row(runner, sizes))
    for store in options.stores:
        problem = None
        if store == "postgresql":
            problem = asyncio.run(postgres_problem(options.postgres_url))
        wanted = [b for b in PER_STORE if b in options.only]
        if problem is not None:
            report.rows.extend(skipped_row(b, store, problem) for b in wanted)
            runner.say(f"[yellow]{store} skipped: {problem}[/]")
            continue
        groups: tuple[tuple[str, RowsOf], ...] = (
            ("check", _check_rows),
            ("status", _status_rows),  # also `/sla status` and the burst, on its store
            ("storm", load_rows.storm_rows),
            ("hubspot", load_rows.hubspot_rows),
        )
        for name, rows_of in groups:
            if name in wanted or (name == "status" and {"slack", "burst"} & set(wanted)):
                _collect(report, runner, name, store, rows_of)
    report.seconds = time.perf_counter() - started
    return report


def _collect(report: Report, runner: Runner, name: str, store: str, rows_of: RowsOf) -> None:
    """The rows of one benchmark; if it fails, a row that says how, and the run goes on."""
    try:
        report.rows.extend(rows_of(runner, store, report.options.sizes))  # earlier rows kept
    except Exception as exc:
        runner.say(f"[red]{name} on {store} failed: {failure_text(exc)}[/]")
        report.rows.append(failed_row(name, store, exc))


def _deadline_row(runner: Runner, sizes: Sizes) -> Row:
    job = Job("deadlines", count=sizes.deadlines, days=sizes.days)
    timed = runner.job(job)
    traced = runner.job(replace(job, trace=True))
    seconds = timed.seconds[0]
    per = seconds / max(timed.facts["hand-offs"], 1) * 1e6
    return make_row(
        "deadlines (rule_times)",
        "in memory",
        f"{sizes.deadlines:,} hand-offs",
        timed,
        traced,
        runner.options.isolate,
        time_target=None,
        notes=f"{per:.1f} µs per hand-off; RSS includes the {sizes.deadlines:,} input instants",
    )


def _check_rows(runner: Runner, store: str, sizes: Sizes) -> Iterator[Row]:
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
        yield make_row(
            "first check (deadline backfill)",
            store,
            size,
            timed,
            traced,
            runner.options.isolate,
            time_target=None,
            notes="one-off (first start after an upgrade): no time target; "
            + facts_text(timed.facts)
            + tidied_note(store),
        )
        later = tuple(AT + CHECK_EVERY * (i + 1) for i in range(sizes.steady_runs))
        runner.say(f"check on {store}: steady state, {len(later)} runs {CHECK_EVERY} apart")
        timed = runner.job(Job("check", url=url, instants=later))
        after = (later[-1] + CHECK_EVERY,)
        traced = runner.job(Job("check", url=url, instants=after, trace=True, commit=False))
        yield make_row(
            "check (steady, every 5 min)",
            store,
            size,
            timed,
            traced,
            runner.options.isolate,
            time_target=CHECK_TARGET_S if store == "postgresql" else None,
            notes=facts_text(timed.facts) + tidied_note(store),
        )


def _status_rows(runner: Runner, store: str, sizes: Sizes) -> Iterator[Row]:
    """`build_status` alone, `/sla status` as a person meets it, and the `/sla` burst, on one
    filled store."""
    only = runner.options.only
    shape = Shape(leads=sizes.status_leads, open_leads=sizes.status_open, days=sizes.days)
    size = f"{shape.leads:,} leads, {shape.days} days of metrics"
    with scratch_store(
        store, "status", postgres_url=runner.options.postgres_url, folder=runner.options.folder
    ) as url:
        runner.fill(url, shape, f"status store on {store} ({shape.leads:,} leads)")
        asyncio.run(settle(url, AT))
        asyncio.run(tidy(url))
        if "status" in only:
            runner.say(f"status on {store}: {sizes.status_runs} runs after {STATUS_WARMUP} warm-up")
            job = Job("status", url=url, instants=(AT,), runs=sizes.status_runs)
            timed = runner.job(job)
            traced = runner.job(replace(job, runs=1, trace=True))
            yield make_row(
                "status (build_status + status_json)",
                store,
                size,
                timed,
                traced,
                runner.options.isolate,
                time_target=STATUS_TARGET_S,
                notes=f"{STATUS_WARMUP} warm-up runs excluded; "
                + facts_text(timed.facts)
                + tidied_note(store),
            )
        if "slack" in only:
            runner.say(f"/sla status on {store}: {sizes.slack_runs} signed requests")
            timed = runner.job(Job("slack", url=url, instants=(AT,), runs=sizes.slack_runs))
            yield make_row(
                "/sla status (signed request → answer)",
                store,
                size,
                timed,
                None,
                runner.options.isolate,
                time_target=STATUS_TARGET_S,
                judged_on="p99",
                notes="the real HTTP listener and Bolt dispatch; the answer is the reply "
                "through response_url, received by the fake Slack on loopback; the replica's "
                "status kept fresh as `slabot run` keeps it (a request that must compute pays "
                f"the status row); 3 warm-up requests excluded{tidied_note(store)}",
            )
        if "burst" in only:
            yield load_rows.burst_row(runner, store, url, f"{shape.leads:,} leads", sizes)
