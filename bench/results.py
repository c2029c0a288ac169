"""The result table's rows: what one measurement gives, and the verdict against its targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Literal

MB = 1024 * 1024
MEMORY_TARGET_MB = 300.0

Facts = dict[str, float]
JudgedOn = Literal["p50", "p99", "max"]


@dataclass(frozen=True)
class Measured:
    """What one job gave back (see `bench.jobs.measure`)."""

    seconds: tuple[float, ...]
    python_peak: int | None  # bytes, tracemalloc
    rss_peak: int  # bytes, the process's high-water mark
    facts: Facts


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


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 50 runs is the slowest run)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def make_row(
    name: str,
    store: str,
    size: str,
    timed: Measured,
    traced: Measured | None,
    isolated: bool,
    *,
    time_target: float | None,
    notes: str,
    judged_on: JudgedOn = "p50",
    memory_target_mb: float = MEMORY_TARGET_MB,
    memory_of: Literal["process", "python"] = "process",
    more_targets: tuple[str, ...] = (),
    missed: tuple[str, ...] = (),
) -> Row:
    """The row of a measurement: its times, its memory and the verdict.

    Memory is judged on the process's RSS when isolated (else the Python peak), or on the
    Python peak alone (`memory_of="python"`) when the process also holds a fake server's data.
    `more_targets` are written after the time and memory ones; `missed` names those of them the
    caller found missed (a lost reply, a rate exceeded), so the verdict says so too.
    """
    seconds = list(timed.seconds)
    p50 = median(seconds)
    p99 = percentile(seconds, 0.99) if len(seconds) > 1 else None
    python_mb = None if traced is None else (traced.python_peak or 0) / MB
    # The traced pass's RSS would include tracemalloc's own bookkeeping: use the timed one.
    rss_mb = timed.rss_peak / MB if isolated else None
    memory_mb = rss_mb if rss_mb is not None and memory_of == "process" else python_mb
    which = " (Python)" if memory_of == "python" else ""
    targets = [f"≤ {memory_target_mb:.0f} MB{which}", *more_targets]
    misses = [] if memory_mb is None or memory_mb <= memory_target_mb else ["memory"]
    if time_target is not None:
        which = f"{judged_on} " if len(seconds) > 1 else ""
        targets.insert(0, f"{which}≤ {duration_text(time_target)}")
        measured = {"p50": p50, "p99": p99 or p50, "max": max(seconds)}[judged_on]
        if measured > time_target:
            misses.insert(0, "time")
    misses.extend(missed)
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
        verdict="met" if not misses else "missed: " + ", ".join(misses),
        notes=notes,
    )


def skipped_row(benchmark: str, store: str, problem: str) -> Row:
    return _unmeasured(benchmark, store, "skipped", f"PostgreSQL not reachable: {problem}")


def tidied_note(store: str) -> str:
    return "; VACUUM ANALYZE after the load and the first check" if store == "postgresql" else ""


def failed_row(benchmark: str, store: str, exc: BaseException) -> Row:
    """A benchmark that raised: the table says so, and what it was."""
    return _unmeasured(benchmark, store, "failed", failure_text(exc))


def _unmeasured(benchmark: str, store: str, verdict: str, notes: str) -> Row:
    """A row with no figures, only a verdict and why."""
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
        verdict=verdict,
        notes=notes,
    )


def failure_text(exc: BaseException) -> str:
    """The error's type and first line, without the statement a database error carries."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}".strip()


def facts_text(facts: Facts) -> str:
    return ", ".join(f"{name} {_number(value)}" for name, value in facts.items())


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def duration_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.0f} s"
