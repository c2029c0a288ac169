"""`python -m bench`: generate the stores, run every benchmark, print one table (or JSON).

The engine (deadlines, `check`, `status`, `/sla status`), the load (`/sla` burst, breach
storm) and the HubSpot sync, on SQLite and PostgreSQL; `--scale` shrinks the data, `--only`
picks benchmarks, `--stores` picks stores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.engine import Report, run
from bench.options import BENCHMARKS, DEFAULT_POSTGRES_URL, STORES, Options, Sizes


def machine() -> dict[str, Any]:
    """CPU model, cores and RAM of this machine (Linux /proc), and the Python running."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def _choices(text: str, allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    picked = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [p for p in picked if p not in allowed]
    if unknown or not picked:
        raise argparse.ArgumentTypeError(
            f"{option}: {', '.join(unknown) or 'nothing'} is not one of {', '.join(allowed)}"
        )
    return picked


def parse(argv: list[str] | None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="data size factor (0.01 for a quick run)"
    )
    parser.add_argument(
        "--only",
        type=lambda t: _choices(t, BENCHMARKS, "--only"),
        default=BENCHMARKS,
        help=f"benchmarks, comma-separated ({','.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--stores",
        type=lambda t: _choices(t, STORES, "--stores"),
        default=STORES,
        help=f"stores, comma-separated ({','.join(STORES)})",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SLABOT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a server where slabot_bench_* databases may be created and dropped "
        "(default: $SLABOT_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument(
        "--hubspot-speed",
        type=float,
        default=Sizes().hubspot_speed,
        help="the HubSpot clock's pace (default 1: real time, the honest share of the bound)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run measurements in this process (faster; no per-benchmark RSS)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = Sizes().scaled(args.scale)
    except ValueError as exc:
        parser.error(f"--scale: {exc}")
    if args.hubspot_speed <= 0:
        parser.error("--hubspot-speed: the pace must be positive")
    sizes = replace(sizes, hubspot_speed=args.hubspot_speed)
    options = Options(
        sizes=sizes,
        only=args.only,
        stores=args.stores,
        postgres_url=args.postgres_url,
        isolate=not args.in_process,
    )
    return options, args.json


def as_json(report: Report) -> dict[str, Any]:
    options = report.options
    return {
        "date": report.started_at.isoformat(timespec="seconds"),
        "machine": machine(),
        "at": report.at.isoformat(),
        "sizes": asdict(options.sizes),
        "isolated": options.isolate,
        "seconds": round(report.seconds, 1),
        "rows": [asdict(row) for row in report.rows],
    }


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mb(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} MB" if value < 10 else f"{value:.0f} MB"


def render(report: Report, console: Console) -> None:
    about = machine()
    console.print(
        f"SLA Bot benchmarks · {report.started_at.astimezone():%Y-%m-%d %H:%M %Z} · "
        f"{about['cpu']}, {about['cores']} cores, {about['ram_gb']} GB RAM · {about['python']}",
        highlight=False,
    )
    console.print(
        f"measured at {report.at.isoformat()} (America/Chicago 15:00, a Tuesday) · "
        f"whole run {report.seconds:.0f} s",
        highlight=False,
    )
    table = Table(show_lines=False)
    for name in ("Benchmark", "Store", "Size", "Runs", "Time (p50)", "p99"):
        table.add_column(name, justify="right" if name in ("Runs", "Time (p50)", "p99") else "left")
    table.add_column("Python peak\n(tracemalloc)", justify="right")
    table.add_column("RSS peak\n(process)", justify="right")
    table.add_column("Target")
    table.add_column("Verdict")
    for row in report.rows:
        style = {"met": "green", "skipped": "yellow"}.get(row.verdict, "red")
        table.add_row(
            row.benchmark,
            row.store,
            row.size,
            str(row.runs) if row.runs else "—",
            _time(row.p50),
            _time(row.p99),
            _mb(row.python_peak_mb),
            _mb(row.rss_peak_mb),
            row.target,
            f"[{style}]{row.verdict}[/]",
        )
    console.print(table)
    for row in report.rows:
        if row.notes:
            console.print(f"  {row.benchmark} · {row.store}: {row.notes}", highlight=False)
    console.print(
        "  RSS peak = the high-water mark of the fresh process that ran the measurement "
        "(interpreter and imports included); the memory verdict uses it, or the Python peak "
        "when run --in-process or when the process also holds a fake's data (HubSpot sync). "
        "p99 is nearest-rank.",
        highlight=False,
    )


def main(argv: list[str] | None = None) -> int:
    options, machine_readable = parse(argv)
    started = datetime.now()
    progress = Console(stderr=True)
    report = run(options, console=progress)
    if machine_readable:
        print(json.dumps(as_json(report), indent=2, default=str))
    else:
        render(report, Console(width=None if sys.stdout.isatty() else 200))
    progress.print(f"[dim]done in {(datetime.now() - started).total_seconds():.0f} s[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
