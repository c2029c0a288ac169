"""Syncing CSV sources into the store (SQLite and PostgreSQL): upserts, history, isolation."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select, update

from models.agreement import Agreement
from models.agreement_loader import load_agreement
from models.db import session_scope
from models.ingest import Counts, MetricRecord, upsert_metrics
from models.tables import Deal, Lead, LeadStage, MetricValue, MetricValueHistory, SourceState
from scheduler.sync import SourceResult, UnknownSource, sync_sources
from tests.conftest import EXAMPLES

AT = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
LATER = AT + timedelta(hours=1)
LEADS_HEADER = "id,owner_email,stage,entered_at,first_touch_at,disqualified_at,reason\n"


def agreement_with(**paths: Path) -> Agreement:
    """The example agreement with its sources (traffic, sheet, deals) at these paths."""
    kinds = {"traffic": "metrics_csv", "sheet": "leads_csv", "deals": "deals_csv"}
    example = load_agreement(EXAMPLES / "agreement.yaml")
    document = example.model_dump(mode="json")
    document["sources"] = [
        {"name": name, "kind": kinds[name], "path": str(path)} for name, path in paths.items()
    ]
    return Agreement.model_validate(document)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the example data files to change at will."""
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES / "data", folder)
    return folder


@pytest.fixture
def example(data: Path) -> Agreement:
    return agreement_with(
        traffic=data / "visits.csv", sheet=data / "leads.csv", deals=data / "deals.csv"
    )


def by_name(results: list[SourceResult]) -> dict[str, SourceResult]:
    return {result.name: result for result in results}


def counts(result: SourceResult) -> tuple[int, int, int, int, int]:
    return result.fetched, result.new, result.changed, result.unchanged, result.bad


async def rows(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with session_scope(engine) as session:
        return list((await session.exec(statement)).all())


async def count(engine: AsyncEngine, table: Any) -> int:
    (n,) = await rows(engine, select(func.count()).select_from(table))
    return int(n)


async def test_examples_sync_then_resync_changes_nothing(
    engine: AsyncEngine, example: Agreement
) -> None:
    first = by_name(await sync_sources(engine, example, at=AT))
    assert {name: counts(r) for name, r in first.items()} == {
        "traffic": (60, 60, 0, 0, 0),
        "sheet": (79, 79, 0, 0, 0),
        "deals": (8, 8, 0, 0, 0),
    }
    assert all(r.status == "ok" and r.error is None for r in first.values())
    assert await count(engine, Lead) == 40
    assert await count(engine, LeadStage) == 79

    again = by_name(await sync_sources(engine, example, at=LATER))
    assert {name: counts(r) for name, r in again.items()} == {
        "traffic": (60, 0, 0, 60, 0),
        "sheet": (79, 0, 0, 79, 0),
        "deals": (8, 0, 0, 8, 0),
    }
    assert await count(engine, MetricValueHistory) == 0
    stamps = await rows(engine, select(Lead.updated_at).distinct())
    assert stamps == [AT]  # no lead was touched by the second sync
    entered = await rows(engine, select(MetricValue.entered_at).distinct())
    assert entered == [AT]

    states = {s.name: s for s in await rows(engine, select(SourceState))}
    assert states["sheet"].last_success_at == LATER
    assert (states["sheet"].fetched, states["sheet"].stored, states["sheet"].bad) == (79, 79, 0)
    assert states["sheet"].kind == "leads_csv"
    assert states["sheet"].last_error is None


async def test_a_changed_metric_value_is_updated_and_the_old_one_kept(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("date,metric,value\n2027-01-04,visits,600\n2027-01-05,visits,610\n")
    agreement = agreement_with(traffic=path)
    await sync_sources(engine, agreement, at=AT)
    path.write_text("date,metric,value\n2027-01-04,visits,600\n2027-01-05,visits,640\n")
    (result,) = await sync_sources(engine, agreement, at=LATER)
    assert counts(result) == (2, 0, 1, 1, 0)

    current = await rows(engine, select(MetricValue).order_by(col(MetricValue.day)))
    assert [(m.day, m.value, m.entered_at) for m in current] == [
        (date(2027, 1, 4), 600.0, AT),
        (date(2027, 1, 5), 640.0, LATER),
    ]
    (old,) = await rows(engine, select(MetricValueHistory))
    assert (old.source, old.metric, old.day, old.team, old.value) == (
        "traffic",
        "visits",
        date(2027, 1, 5),
        "",
        610.0,
    )
    assert (old.entered_at, old.replaced_at) == (AT, LATER)


async def test_lead_journey_current_stage_comes_from_the_latest_entry(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    # rows out of order in the file: the latest entered_at decides, not the row's position
    path.write_text(
        LEADS_HEADER
        + "L-1,ana@example.com,sqls,2027-01-07T10:00:00-06:00,2027-01-05T11:00:00-06:00,,\n"
        + "L-1,old@example.com,leads,2027-01-04T09:00:00-06:00,,,\n"
        + "L-1,ana@example.com,mqls,2027-01-05T10:00:00-06:00,2027-01-05T11:00:00-06:00,,\n"
        + "L-2,ben@example.com,mqls,2027-01-05T10:00:00-06:00,,2027-01-06T09:00:00Z,duplicate\n"
    )
    agreement = agreement_with(sheet=path)
    (result,) = await sync_sources(engine, agreement, at=AT)
    assert counts(result) == (4, 4, 0, 0, 0)

    leads = {lead.external_id: lead for lead in await rows(engine, select(Lead))}
    one = leads["L-1"]
    assert (one.source, one.stage, one.owner_email) == ("sheet", "sqls", "ana@example.com")
    assert one.first_touch_at == datetime(2027, 1, 5, 17, tzinfo=UTC)
    assert one.updated_at == AT
    two = leads["L-2"]
    assert (two.stage, two.disqualified_at, two.disqualify_reason) == (
        "mqls",
        datetime(2027, 1, 6, 9, tzinfo=UTC),
        "duplicate",
    )
    stages = await rows(
        engine,
        select(LeadStage.stage, LeadStage.entered_at)
        .where(LeadStage.lead_id == one.id)
        .order_by(col(LeadStage.entered_at)),
    )
    assert stages == [
        ("leads", datetime(2027, 1, 4, 15, tzinfo=UTC)),
        ("mqls", datetime(2027, 1, 5, 16, tzinfo=UTC)),
        ("sqls", datetime(2027, 1, 7, 16, tzinfo=UTC)),
    ]
    assert all(entered.tzinfo is not None for _, entered in stages)

    # the lead is reassigned and its hand-off moved: two rows changed, one unchanged
    path.write_text(
        LEADS_HEADER
        + "L-1,cara@example.com,sqls,2027-01-07T10:00:00-06:00,2027-01-05T11:00:00-06:00,,\n"
        + "L-1,old@example.com,leads,2027-01-04T09:00:00-06:00,,,\n"
        + "L-1,ana@example.com,mqls,2027-01-05T10:30:00-06:00,2027-01-05T11:00:00-06:00,,\n"
        + "L-2,ben@example.com,mqls,2027-01-05T10:00:00-06:00,,2027-01-06T09:00:00Z,duplicate\n"
        + "L-2,ben@example.com,sqls,2027-01-08T10:00:00-06:00,,2027-01-06T09:00:00Z,duplicate\n"
    )
    (result,) = await sync_sources(engine, agreement, at=LATER)
    assert counts(result) == (5, 1, 2, 2, 0)
    leads = {lead.external_id: lead for lead in await rows(engine, select(Lead))}
    assert (leads["L-1"].owner_email, leads["L-1"].updated_at) == ("cara@example.com", LATER)
    assert (leads["L-2"].stage, leads["L-2"].updated_at) == ("sqls", LATER)
    moved = await rows(
        engine,
        select(LeadStage.entered_at).where(LeadStage.lead_id == one.id, LeadStage.stage == "mqls"),
    )
    assert moved == [datetime(2027, 1, 5, 16, 30, tzinfo=UTC)]


async def test_a_first_touch_recorded_by_a_person_stays_when_the_source_has_none(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_HEADER + "L-1,ana@example.com,mqls,2027-01-05T10:00:00-06:00,,,\n")
    agreement = agreement_with(sheet=path)
    await sync_sources(engine, agreement, at=AT)
    touched = datetime(2027, 1, 5, 17, tzinfo=UTC)
    async with session_scope(engine) as session:
        await session.exec(
            update(Lead).values(first_touch_at=touched, first_touch_by="U01ANA")  # the button
        )
    (result,) = await sync_sources(engine, agreement, at=LATER)
    assert counts(result) == (1, 0, 0, 1, 0)
    (lead,) = await rows(engine, select(Lead))
    assert (lead.first_touch_at, lead.first_touch_by, lead.updated_at) == (touched, "U01ANA", AT)


async def test_deals_are_upserted_by_id(engine: AsyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    header = "id,owner_email,amount,stage,created_at,closed_won_at\n"
    path.write_text(
        header
        + "D-1,ana@example.com,30000.25,closedwon,2027-01-05T10:00:00-06:00,2027-02-01T12:00:00-06:00\n"
        + "D-2,ben@example.com,12000,open,2027-01-06T10:00:00-06:00,\n"
    )
    agreement = agreement_with(deals=path)
    (result,) = await sync_sources(engine, agreement, at=AT)
    assert counts(result) == (2, 2, 0, 0, 0)
    path.write_text(
        header
        + "D-1,ana@example.com,30000.2500,closedwon,2027-01-05T10:00:00-06:00,2027-02-01T12:00:00-06:00\n"
        + "D-2,ben@example.com,12000,closedwon,2027-01-06T10:00:00-06:00,2027-03-01T09:00:00-06:00\n"
    )
    (result,) = await sync_sources(engine, agreement, at=LATER)
    assert counts(result) == (2, 0, 1, 1, 0)
    deals = {d.external_id: d for d in await rows(engine, select(Deal))}
    assert deals["D-1"].amount == Decimal("30000.25")
    assert deals["D-1"].closed_won_at == datetime(2027, 2, 1, 18, tzinfo=UTC)
    assert (deals["D-2"].stage, deals["D-2"].closed_won_at) == (
        "closedwon",
        datetime(2027, 3, 1, 15, tzinfo=UTC),
    )


async def test_bad_rows_are_counted_and_the_rest_stored(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "visits.csv"
    path.write_text(
        "date,metric,value\n2027-01-04,visits,600\n2027-01-05,visits,lots\n"
        "2027-01-04,visits,601\n2027-01-06,visits,620\n"
    )
    (result,) = await sync_sources(engine, agreement_with(traffic=path), at=AT)
    assert counts(result) == (4, 2, 0, 0, 2)
    assert [(b.line, b.field) for b in result.bad_rows] == [(3, "value"), (4, "date")]
    (state,) = await rows(engine, select(SourceState))
    assert (state.fetched, state.stored, state.bad) == (4, 2, 2)
    assert await count(engine, MetricValue) == 2


async def test_a_failing_source_does_not_stop_or_roll_back_the_others(
    engine: AsyncEngine, data: Path, example: Agreement
) -> None:
    await sync_sources(engine, example, at=AT)
    before = await rows(engine, select(Lead.external_id, Lead.owner_email, Lead.updated_at))

    # the leads file changes every owner, then turns out not to be UTF-8 near its end
    leads = data / "leads.csv"
    text = leads.read_text().replace("@example.com", "@example.org")
    leads.write_bytes(text.encode() + b"L-9999,x\xff@example.org,leads,2027-03-01T09:00:00Z,,,\n")
    visits = data / "visits.csv"
    visits.write_text(visits.read_text() + "2027-03-02,visits,777\n")
    (data / "deals.csv").unlink()

    results = by_name(await sync_sources(engine, example, at=LATER))
    assert results["traffic"].status == "ok"
    assert counts(results["traffic"]) == (61, 1, 0, 60, 0)
    assert results["sheet"].status == "failed"
    assert (
        results["sheet"].error
        == f"{leads}:81: is not UTF-8 text (byte 0xff at column 9); save it as UTF-8 (in Excel: CSV UTF-8)"
    )
    assert (results["sheet"].new, results["sheet"].changed) == (0, 0)
    assert results["deals"].status == "failed"
    assert results["deals"].error == f"{data / 'deals.csv'}: no such file"

    # the failed sources' rows are as they were; the good one's new row is stored
    after = await rows(engine, select(Lead.external_id, Lead.owner_email, Lead.updated_at))
    assert sorted(after) == sorted(before)
    assert await count(engine, Deal) == 8
    assert await count(engine, MetricValue) == 61

    states = {s.name: s for s in await rows(engine, select(SourceState))}
    assert states["traffic"].last_success_at == LATER
    sheet = states["sheet"]
    assert (sheet.last_attempt_at, sheet.last_error_at, sheet.last_success_at) == (LATER, LATER, AT)
    assert sheet.last_error == results["sheet"].error
    assert (sheet.fetched, sheet.stored) == (79, 79)  # the counts of the last success stay
    assert states["deals"].last_error == results["deals"].error


async def test_a_failure_on_the_first_sync_is_recorded(engine: AsyncEngine, tmp_path: Path) -> None:
    agreement = agreement_with(sheet=tmp_path / "missing.csv")
    (result,) = await sync_sources(engine, agreement, at=AT)
    assert result.status == "failed"
    (state,) = await rows(engine, select(SourceState))
    assert (state.name, state.kind, state.last_error_at, state.last_success_at) == (
        "sheet",
        "leads_csv",
        AT,
        None,
    )
    assert state.last_error is not None and state.last_error.endswith("missing.csv: no such file")


async def test_only_one_source_and_an_unknown_name(engine: AsyncEngine, example: Agreement) -> None:
    (result,) = await sync_sources(engine, example, at=AT, only="deals")
    assert (result.name, result.new) == ("deals", 8)
    assert await count(engine, MetricValue) == 0
    assert await count(engine, Lead) == 0
    with pytest.raises(UnknownSource) as caught:
        await sync_sources(engine, example, at=AT, only="crm")
    assert str(caught.value) == (
        "--source: 'crm' is not a source of the agreement (its sources: traffic, sheet, deals)"
    )


async def test_progress_is_reported_per_source(engine: AsyncEngine, example: Agreement) -> None:
    seen: list[tuple[str, int]] = []
    await sync_sources(engine, example, at=AT, progress=lambda name, n: seen.append((name, n)))
    assert seen == [("traffic", 60), ("sheet", 79), ("deals", 8)]


async def test_upsert_metrics_takes_plain_lists(engine: AsyncEngine) -> None:
    day = date(2027, 1, 4)
    async with session_scope(engine) as session:
        first = await upsert_metrics(
            session=session,
            source="manual",
            rows=[MetricRecord("visits", day, 1.0), MetricRecord("visits", day, 1.0, "sales")],
            at=AT,
        )
    assert first == Counts(new=2)
    async with session_scope(engine) as session:
        again = await upsert_metrics(
            session=session, source="manual", rows=[MetricRecord("visits", day, 2.0)], at=LATER
        )
    assert again == Counts(changed=1)
    assert await count(engine, MetricValueHistory) == 1


async def test_a_large_leads_file(engine: AsyncEngine, tmp_path: Path) -> None:
    """20,000 stage rows (8,000 leads) sync, then re-sync unchanged, in reasonable time."""
    path = tmp_path / "leads.csv"
    start = datetime(2027, 1, 4, 14, tzinfo=UTC)
    with path.open("w") as out:
        out.write(LEADS_HEADER)
        for n in range(20_000):
            lead, step = n % 8_000, n // 8_000  # each lead's stages are far apart in the file
            stage = ("leads", "mqls", "sqls")[step]
            entered = (start + timedelta(minutes=lead, days=step)).isoformat()
            out.write(f"L-{lead},rep{lead % 7}@example.com,{stage},{entered},,,\n")
    agreement = agreement_with(sheet=path)

    began = time.monotonic()
    (result,) = await sync_sources(engine, agreement, at=AT)
    assert counts(result) == (20_000, 20_000, 0, 0, 0)
    (again,) = await sync_sources(engine, agreement, at=LATER)
    assert counts(again) == (20_000, 0, 0, 20_000, 0)
    assert time.monotonic() - began < 20

    assert await count(engine, Lead) == 8_000
    assert await count(engine, LeadStage) == 20_000
    by_stage = dict(await rows(engine, select(Lead.stage, func.count()).group_by(Lead.stage)))
    assert by_stage == {"sqls": 4_000, "mqls": 4_000}
    assert await rows(engine, select(Lead.updated_at).distinct()) == [AT]
