"""Syncs the KPI sources of an agreement into the store, each in its own transaction.

A source that fails as a whole (its file is missing, not UTF-8, has a wrong header, or the store
refuses a write) leaves its rows as they were and records the cause in its `SourceState`; the
other sources are synced all the same. Bad rows are skipped, reported and counted. A HubSpot
source is stored a page at a time (with its cursor), so when it fails what it got stays stored
and the next sync resumes from there. After a HubSpot source, when a Slack client is given, its
owners are matched to Slack users; Slack's failures are reported in the note, never fail the sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Literal, TypeVar

import httpx
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import (
    Agreement,
    DealsCsvSource,
    HttpJsonSource,
    HubspotSource,
    LeadsCsvSource,
    MetricsCsvSource,
    Source,
)
from models.db import session_scope
from models.ingest import Counts, upsert_deals, upsert_leads, upsert_metrics
from models.tables import SourceState
from scheduler.owners import match_owners
from scheduler.sources.csv_files import BadRow, read_deals, read_leads, read_metrics
from scheduler.sources.http_json import fetch, headers_from_env, read_document
from scheduler.sources.hubspot import sync_hubspot
from scheduler.sources.hubspot_client import HubSpotClient, HubSpotConfig, HubSpotError

R = TypeVar("R")
Progress = Callable[[str, int], None]
"""Called with a source's name and the rows read from it so far."""

READ_CHUNK = 1000
HTTP_TIMEOUT = 30.0  # seconds for an http_json source's GET
KEEP_BAD_ROWS = 1000  # bad rows kept for the report; all of them are counted


@dataclass
class SourceResult:
    """What syncing one source did: rows read, what they changed, the bad rows, or why it failed."""

    name: str
    kind: str
    status: Literal["ok", "failed", "skipped"] = "ok"
    file: str | None = None
    fetched: int = 0
    counts: Counts = field(default_factory=Counts)
    bad: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    @property
    def new(self) -> int:
        return self.counts.new

    @property
    def changed(self) -> int:
        return self.counts.changed

    @property
    def unchanged(self) -> int:
        return self.counts.unchanged


class UnknownSource(ValueError):
    """`only` names no source of the agreement."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        names = ", ".join(known) if known else "none: the agreement lists no sources"
        super().__init__(
            f"--source: {name!r} is not a source of the agreement (its sources: {names})"
        )


async def sync_sources(
    engine: AsyncEngine,
    agreement: Agreement,
    *,
    at: datetime,
    only: str | None = None,
    progress: Progress | None = None,
    hubspot: HubSpotConfig | None = None,
    slack: AsyncWebClient | None = None,
) -> list[SourceResult]:
    """Sync every source of `agreement` (or only the one named `only`) as of instant `at`.

    `hubspot` says how to reach HubSpot; without it a HubSpot source fails, naming HUBSPOT_TOKEN.
    `slack`, when given, matches the owners a HubSpot source brought to Slack users.
    """
    return [
        await sync_source(
            engine, agreement, source, at=at, progress=progress, hubspot=hubspot, slack=slack
        )
        for source in selected_sources(agreement, only)
    ]


def selected_sources(agreement: Agreement, only: str | None = None) -> list[Source]:
    """The sources of `agreement`, or only the one named `only` (`UnknownSource` if none is)."""
    sources = list(agreement.sources)
    if only is not None:
        sources = [source for source in sources if source.name == only]
        if not sources:
            raise UnknownSource(only, [source.name for source in agreement.sources])
    return sources


async def sync_source(
    engine: AsyncEngine,
    agreement: Agreement,
    source: Source,
    *,
    at: datetime,
    progress: Progress | None = None,
    hubspot: HubSpotConfig | None = None,
    slack: AsyncWebClient | None = None,
) -> SourceResult:
    """Sync one source in its own transaction and record its health in `SourceState`."""
    if isinstance(source, HubspotSource):
        return await _sync_hubspot(engine, source, hubspot, at, progress, slack)
    where = source.url if isinstance(source, HttpJsonSource) else source.path
    result = SourceResult(source.name, source.kind, file=where)
    try:
        async with session_scope(engine) as session:
            result.counts = await _store(session, agreement, source, result, at, progress)
            await _record_success(session, result, at)
    except Exception as exc:
        result.status = "failed"
        result.error = _cause(exc)
        result.counts = Counts()  # the transaction was rolled back: nothing of it is stored
        await _record_failure(engine, result, at)
    return result


async def _sync_hubspot(
    engine: AsyncEngine,
    source: HubspotSource,
    config: HubSpotConfig | None,
    at: datetime,
    progress: Progress | None,
    slack: AsyncWebClient | None = None,
) -> SourceResult:
    """A HubSpot source: its pages are committed as they come, so on failure they stay stored."""
    result = SourceResult(source.name, source.kind)
    try:
        if config is None:
            raise HubSpotError(
                "HUBSPOT_TOKEN is not set; a HubSpot source needs a private app's token"
            )
        budget = max(1, source.requests_per_ten_seconds * 9 // 10)
        if budget != config.limits.per_ten_seconds:
            config = replace(config, limits=replace(config.limits, per_ten_seconds=budget))
        async with HubSpotClient(config) as client:
            await sync_hubspot(engine, source, client, result, at=at, progress=progress)
        async with session_scope(engine) as session:
            await _record_success(session, result, at)
    except Exception as exc:
        result.status = "failed"
        result.error = _cause(exc)
        await _record_failure(engine, result, at)
        return result
    if slack is not None:
        await _match_owners(engine, slack, result, at)
    return result


async def _match_owners(
    engine: AsyncEngine, slack: AsyncWebClient, result: SourceResult, at: datetime
) -> None:
    """Owners to Slack users after a successful sync; what happened goes to the result's note."""
    try:
        async with session_scope(engine) as session:
            summary = (await match_owners(session, slack, at=at)).summary()
    except Exception as exc:  # the source's data is stored: matching owners is an extra
        summary = f"Slack users not matched: {_cause(exc)}"
    if summary:
        result.note = f"{result.note}; {summary}" if result.note else summary


async def _store(
    session: AsyncSession,
    agreement: Agreement,
    source: Source,
    result: SourceResult,
    at: datetime,
    progress: Progress | None,
) -> Counts:
    name = source.name
    if isinstance(source, MetricsCsvSource):
        metrics = read_metrics(source.path, teams=list(agreement.teams))
        async with aclosing(_good(metrics, result, progress)) as rows:
            return await upsert_metrics(session=session, source=name, rows=rows, at=at)
    if isinstance(source, LeadsCsvSource):
        leads = read_leads(source.path, stages=agreement.stage_names)
        async with aclosing(_good(leads, result, progress)) as rows:
            return await upsert_leads(session=session, source=name, rows=rows, at=at)
    if isinstance(source, DealsCsvSource):
        deals = read_deals(source.path)
        async with aclosing(_good(deals, result, progress)) as rows:
            return await upsert_deals(session=session, source=name, rows=rows, at=at)
    if isinstance(source, HttpJsonSource):
        headers = headers_from_env(source)
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=True) as client:
            document = await fetch(client, source, headers)
        values = read_document(document, source, agreement.zone)
        async with aclosing(_good(values, result, progress)) as rows:
            return await upsert_metrics(session=session, source=name, rows=rows, at=at)
    raise ValueError(f"unknown source kind {source.kind!r}")  # pragma: no cover - schema refuses


async def _good(
    rows: Iterator[R | BadRow], result: SourceResult, progress: Progress | None
) -> AsyncGenerator[R, None]:
    """The good rows of a reader; bad ones go to `result`. The file is read in a worker thread."""
    try:
        while chunk := await asyncio.to_thread(lambda: list(islice(rows, READ_CHUNK))):
            for row in chunk:
                result.fetched += 1
                if isinstance(row, BadRow):
                    result.bad += 1
                    if len(result.bad_rows) < KEEP_BAD_ROWS:
                        result.bad_rows.append(row)
                else:
                    yield row
            if progress is not None:
                progress(result.name, result.fetched)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # the reader's file, even when the store gave up half-way


async def _state(session: AsyncSession, result: SourceResult) -> SourceState:
    state = await session.get(SourceState, result.name)
    if state is None:
        state = SourceState(name=result.name, kind=result.kind)
    state.kind = result.kind
    return state


async def _record_success(session: AsyncSession, result: SourceResult, at: datetime) -> None:
    """Counts of this sync; `last_error` stays, so health is `last_success_at >= last_error_at`."""
    state = await _state(session, result)
    state.last_attempt_at = at
    state.last_success_at = at
    state.fetched = result.fetched
    state.stored = result.counts.total
    state.bad = result.bad
    session.add(state)


async def _record_failure(engine: AsyncEngine, result: SourceResult, at: datetime) -> None:
    """The cause, in a transaction of its own; the counts of the last success stay."""
    async with session_scope(engine) as session:
        state = await _state(session, result)
        state.last_attempt_at = at
        state.last_error_at = at
        state.last_error = result.error
        session.add(state)


def _cause(exc: Exception) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    plain = isinstance(exc, ValueError | HubSpotError)
    return first if plain and first else f"{type(exc).__name__}: {first}"
