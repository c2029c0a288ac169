"""The benchmark at a tiny size on SQLite: every row is produced, so the bench code cannot rot.

No timing is asserted here; speed and memory are what `python -m bench` reports.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bench.__main__ import as_json, parse, render
from bench.data import AT, Shape, generate, handoff_instants
from bench.engine import Options, Report, Sizes, run

TINY = Sizes().scaled(0.0005)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    options = Options(
        sizes=TINY, stores=("sqlite",), isolate=False, folder=tmp_path_factory.mktemp("bench")
    )
    return run(options)


def test_every_benchmark_has_its_row(report: Report) -> None:
    rows = [(r.benchmark, r.store, r.size, r.runs) for r in report.rows]
    assert rows == [
        ("deadlines (rule_times)", "in memory", "500 hand-offs", 1),
        ("first check (deadline backfill)", "sqlite", "500 leads, 50 open", 1),
        ("check (steady, every 5 min)", "sqlite", "500 leads, 50 open", 3),
        ("status (build_status + status_json)", "sqlite", "50 leads, 730 days of metrics", 50),
        ("/sla status (signed request → answer)", "sqlite", "50 leads, 730 days of metrics", 200),
    ]
    for row in report.rows:
        assert row.p50 is not None and row.p50 > 0
        through_slack = row.benchmark.startswith("/sla")
        assert (row.python_peak_mb is None) == through_slack  # no tracing of a server round trip
        assert row.rss_peak_mb is None  # in-process: no per-benchmark RSS
        assert row.verdict in ("met", "missed: time", "missed: memory", "missed: time, memory")


def test_check_rows_say_what_the_check_did(report: Report) -> None:
    first, steady = report.rows[1], report.rows[2]
    # 450 hand-offs (90% of 500) get deadlines; the 50 open ones are all past their warn point.
    assert "deadlines kept 450" in first.notes
    assert "changes 0" in steady.notes
    assert steady.target.startswith("≤ 300 MB")  # the 3 s target is PostgreSQL's


def test_the_table_and_json_show_every_row(report: Report) -> None:
    console = Console(record=True, width=250)
    render(report, console)
    text = console.export_text()
    assert "Python peak" in text and "RSS peak" in text
    for row in report.rows:
        assert row.benchmark in text
    data = json.loads(json.dumps(as_json(report), default=str))
    assert [r["benchmark"] for r in data["rows"]] == [r.benchmark for r in report.rows]
    assert data["machine"]["cores"] >= 1


def test_an_unreachable_postgresql_is_one_clear_line_per_benchmark(tmp_path: Path) -> None:
    options = Options(
        sizes=TINY,
        only=("check", "status"),
        stores=("postgresql",),
        postgres_url="postgresql://postgres@127.0.0.1:1/postgres",
        isolate=False,
        folder=tmp_path,
    )
    rows = run(options).rows
    assert [(r.benchmark, r.verdict) for r in rows] == [
        ("check", "skipped"),
        ("status", "skipped"),
    ]
    assert all(r.notes.startswith("PostgreSQL not reachable") for r in rows)


def test_generated_data_is_exact_and_seeded() -> None:
    shape = Shape(leads=2_000, open_leads=150)
    batches = list(generate(shape, at=AT))
    leads = [lead for batch in batches for lead in batch.leads]
    stages = [stage for batch in batches for stage in batch.stages]
    assert len(leads) == 2_000
    assert sum(1 for s in stages if s[1] == "mqls") == shape.mqls == 1_800
    handed_off = {s[0] for s in stages if s[1] == "mqls"}
    open_leads = [x for x in leads if x[0] in handed_off and x[6] is None and x[8] is None]
    assert len(open_leads) == 150
    assert all(s[2] <= AT for s in stages)
    assert max(s[2] for s in stages if s[1] == "mqls") > AT - timedelta(days=1)
    assert leads == [lead for batch in generate(shape, at=AT) for lead in batch.leads]
    instants = list(handoff_instants(1_000, at=AT, days=730, seed=1))
    assert instants == sorted(instants) and instants[0] >= AT - timedelta(days=730)


def test_command_line_options() -> None:
    options, machine_readable = parse(
        ["--scale", "0.01", "--only", "check,status", "--stores", "sqlite", "--json"]
    )
    assert options.sizes.check_leads == 10_000 and options.sizes.check_open == 1_000
    assert options.only == ("check", "status") and options.stores == ("sqlite",)
    assert machine_readable
    with pytest.raises(SystemExit):
        parse(["--only", "everything"])


def test_the_slack_row_is_judged_on_its_p99(report: Report) -> None:
    row = report.rows[-1]
    assert row.target.startswith("p99 ≤ 50 ms")
    assert row.p99 is not None and row.p99 >= row.p50
    assert "response_url" in row.notes
