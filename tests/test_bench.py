"""The benchmark at a tiny size on SQLite: every row is produced, so the bench code cannot rot.

No timing is asserted here; speed and memory are what `python -m bench` reports. The load rows
at a size that still exercises them are `tests/test_load.py`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bench.__main__ import as_json, parse, render
from bench.data import AT, Shape, generate, handoff_instants
from bench.engine import Options, Report, Row, Sizes, run

TINY = Sizes().scaled(0.0005)
STORM = "50 leads, 25 breached, 2 owners"


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
        ("/sla burst (200 at once → ack)", "sqlite", "50 leads", 200),
        ("breach storm: check (alert_cycle)", "sqlite", STORM, 1),
        ("breach storm: delivery (outbox → Slack)", "sqlite", STORM, 1),
        ("HubSpot sync (fake portal, real HTTP)", "sqlite", "50 contacts", 1),
    ]
    for row in report.rows:
        assert row.p50 is not None and row.p50 > 0
        # No tracing of a server round trip, nor of a delivery paced by Slack.
        untraced = row.benchmark.startswith(("/sla", "breach storm: delivery"))
        assert (row.python_peak_mb is None) == untraced
        assert row.rss_peak_mb is None  # in-process: no per-benchmark RSS
        # Speed and memory may miss on a busy machine; nothing else may.
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


def test_a_benchmark_that_fails_is_a_row_saying_why_and_the_run_goes_on(tmp_path: Path) -> None:
    options = Options(
        sizes=TINY,
        only=("check", "hubspot"),
        stores=("sqlite",),
        isolate=False,
        folder=tmp_path / "nowhere",  # no such folder: each store fails to be made
    )
    rows = run(options).rows
    assert [(r.benchmark, r.verdict) for r in rows] == [("check", "failed"), ("hubspot", "failed")]
    assert all(r.notes.startswith("FileNotFoundError: ") for r in rows)


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
    options, _ = parse(
        ["--only", "burst,storm,hubspot", "--scale", "0.02", "--hubspot-speed", "20"]
    )
    sizes = options.sizes
    assert options.only == ("burst", "storm", "hubspot")
    assert (sizes.storm_leads, sizes.storm_open, sizes.storm_owners) == (2_000, 1_000, 2)
    assert sizes.burst_requests == 200  # the concurrency is never scaled down
    assert (sizes.hubspot_contacts, sizes.hubspot_speed) == (2_000, 20.0)
    with pytest.raises(SystemExit):
        parse(["--only", "everything"])


def _row(report: Report, name: str) -> Row:
    (row,) = [r for r in report.rows if r.benchmark.startswith(name)]
    return row


def test_the_slack_row_is_judged_on_its_p99(report: Report) -> None:
    row = _row(report, "/sla status")
    assert row.target.startswith("p99 ≤ 50 ms")
    assert row.p99 is not None and row.p50 is not None and row.p99 >= row.p50
    assert "response_url" in row.notes


def test_the_burst_row_counts_every_ack_and_reply(report: Report) -> None:
    row = _row(report, "/sla burst")
    assert row.target.startswith("max ≤ 3 s") and "every reply" in row.target
    assert "acknowledged (200) 200, replies 200, failed replies 0" in row.notes


def test_the_storm_rows_say_what_was_announced_and_posted(report: Report) -> None:
    check, delivery = _row(report, "breach storm: check"), _row(report, "breach storm: delivery")
    # The two owners' leads: one message each in the alerts channel (owner 0 is unmatched:
    # their team lead's), all 25 announced; none left for the next check.
    assert "leads announced 25, messages 2" in check.notes
    assert (
        "posted 2, channels 1" in delivery.notes and "left for the next check 0" in delivery.notes
    )
    assert "1/s per channel" in delivery.target and "every message posted" in delivery.target


def test_the_hubspot_row_reports_requests_per_record(report: Report) -> None:
    row = _row(report, "HubSpot sync")
    assert "requests per record" in row.notes and "contacts 50" in row.notes
    assert "not judged under 10 pages" in row.notes  # one page: its share is no measure
    assert row.target == "≤ 250 MB (Python), ≥ 90% of the search-limit bound"
