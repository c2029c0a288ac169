"""Syncs one `kind: hubspot` source into the store: owners, contacts' stage entries and deals.

- Incremental: contacts by `lastmodifieddate`, deals by `hs_lastmodifieddate`, in that order.
  Each page asks for records modified at or after a position (no `after` offsets, so the
  10,000-result cap of search never applies and records changing meanwhile shift nothing); the
  page's last instant may have more records than the page holds, so those are taken with the next
  page (a page of one instant only is read through by `hs_object_id`).
- The cursor (`SourceState.cursor`) is committed in the same transaction as the rows of its page:
  everything modified before it is stored. A sync starts `OVERLAP` before it, because search
  shows a change only seconds after it is made; a crash resumes there with the same result.
- Archived (deleted) contacts and deals are not counted: search never returns them, and those
  stored before they were archived are removed from the store (their stage entries and follow-up
  state with them), read from HubSpot's list of archived records at each sync.
- A missing or malformed value is reported and counted, never a crash (`hubspot_records`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import HubspotSource
from models.db import session_scope
from models.ingest import Counts, upsert_deals, upsert_leads
from models.tables import Deal, Lead, SourceState
from models.tables import Owner as OwnerRow
from scheduler.sources.csv_values import guess
from scheduler.sources.hubspot_client import Filter, HubSpotClient, LifecycleStage, Record, Sort
from scheduler.sources.hubspot_records import (
    BadRecord,
    contact_rows,
    deal_rows,
    parse_instant,
    stage_date_property,
)

if TYPE_CHECKING:
    from scheduler.sync import SourceResult

OVERLAP = timedelta(minutes=10)
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
CONTACT_PROPERTIES = ("hubspot_owner_id", "hs_sa_first_engagement_date", "notes_last_contacted")
DEAL_PROPERTIES = (
    "amount",
    "closedate",
    "createdate",
    "dealstage",
    "hs_is_closed_won",
    "hubspot_owner_id",
)
KEEP_BAD = 1000  # bad records kept for the report; all of them are counted


class StageMappingError(ValueError):
    """The agreement maps a funnel stage to a lifecycle stage the portal does not have."""


def resolve_stages(source: HubspotSource, portal: list[LifecycleStage]) -> dict[str, str]:
    """Funnel stage -> the portal's lifecycle stage id; a label is taken for its id too."""
    by_id = {stage.id: stage for stage in portal}
    by_label = {stage.label.lower(): stage for stage in portal}
    resolved: dict[str, str] = {}
    problems: list[str] = []
    for funnel, wanted in source.stages.items():
        found = by_id.get(wanted) or by_label.get(wanted.lower())
        if found is not None:
            resolved[funnel] = found.id
        else:
            problems.append(
                f"stages.{funnel}: {wanted!r} is not a lifecycle stage of the HubSpot portal"
                + guess(wanted, list(by_id))
            )
    if problems:
        known = ", ".join(f"{s.id} ({s.label})" for s in portal) or "none"
        raise StageMappingError(
            f"source {source.name}: " + "; ".join(problems) + f" (the portal's stages: {known})"
        )
    return resolved


async def sync_hubspot(
    engine: AsyncEngine,
    source: HubspotSource,
    client: HubSpotClient,
    result: SourceResult,
    *,
    at: datetime,
    progress: Callable[[str, int], None] | None = None,
    overlap: timedelta = OVERLAP,
) -> None:
    """Sync `source` through `client`; each page is stored (with the cursor) as it comes."""
    stages = resolve_stages(source, await client.lifecycle_stages())
    owners = await _sync_owners(engine, client, source.name)
    sync = _Sync(engine, client, source.name, result, at, progress, overlap)
    if stages:
        key = ",".join(f"{funnel}={sid}" for funnel, sid in sorted(stages.items()))
        properties = [*CONTACT_PROPERTIES, *(stage_date_property(s) for s in stages.values())]
        rows = partial(contact_rows, stages=stages, owners=owners)
        await sync.run("contacts", key, properties, rows, upsert_leads)
    deals = partial(deal_rows, owners=owners)
    await sync.run("deals", "", list(DEAL_PROPERTIES), deals, upsert_deals)
    removed = await sync.remove_archived()
    if removed:
        result.note = f"removed {removed} archived record{'s' if removed != 1 else ''}"


class _Sync:
    """The pages of one source's sync, each stored in a transaction with its cursor."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: HubSpotClient,
        name: str,
        result: SourceResult,
        at: datetime,
        progress: Callable[[str, int], None] | None,
        overlap: timedelta,
    ) -> None:
        self.engine, self.client, self.name, self.result = engine, client, name, result
        self.at, self.progress, self.overlap = at, progress, overlap

    async def run(
        self,
        kind: str,
        key: str,
        properties: list[str],
        rows_of: Callable[[Record], tuple[list[Any], list[BadRecord]]],
        upsert: Callable[..., Awaitable[Counts]],
    ) -> None:
        """Store the records of `kind` changed since the cursor (all, if `key` changed)."""
        async with session_scope(self.engine) as session:
            state = await session.get(SourceState, self.name)
            cursor = ((state.cursor if state else None) or {}).get(kind) or {}
        since = cursor.get("since") if cursor.get("key") == key else None
        start = max(0, int(since) - int(self.overlap.total_seconds() * 1000)) if since else 0
        async for records, position, dropped in changed(self.client, kind, properties, start):
            rows: list[Any] = []
            bad = [_without_id(kind, n) for n in range(dropped)]
            for record in records:
                good, problems = rows_of(record)
                rows.extend(good)
                bad.extend(problems)
            async with session_scope(self.engine) as session:
                counts = await upsert(session=session, source=self.name, rows=rows, at=self.at)
                await _save_cursor(session, self.name, kind, {"since": position, "key": key})
            self._tally(len(records) + dropped, counts, bad)

    def _tally(self, fetched: int, counts: Counts, bad: list[BadRecord]) -> None:
        result = self.result
        result.fetched += fetched
        result.counts = Counts(
            result.counts.new + counts.new,
            result.counts.changed + counts.changed,
            result.counts.unchanged + counts.unchanged,
        )
        result.bad += len({b.record for b in bad})
        result.bad_rows.extend(bad[: max(0, KEEP_BAD - len(result.bad_rows))])
        if self.progress is not None:
            self.progress(self.name, result.fetched)

    async def remove_archived(self) -> int:
        """Remove the stored contacts and deals that HubSpot lists as archived."""
        removed = 0
        for kind, table in (("contacts", Lead), ("deals", Deal)):
            async for records in self.client.archived(kind):
                ids = [record.id for record in records]
                async with session_scope(self.engine) as session:
                    gone = await session.exec(
                        delete(table).where(
                            col(table.source) == self.name, col(table.external_id).in_(ids)
                        )
                    )
                    removed += gone.rowcount
        return removed


async def changed(
    client: HubSpotClient, kind: str, properties: list[str], start: int
) -> AsyncIterator[tuple[list[Record], int, int]]:
    """Pages of the records modified at or after `start` (epoch ms), oldest first, each once.

    Each page comes with its position (every record modified before it has been given) and how
    many results it dropped for want of an id.
    """
    prop = MODIFIED[kind]
    while True:
        page = await client.search_page(
            kind, [[Filter(prop, "GTE", str(start))]], properties, [Sort(prop)]
        )
        if not page.records:
            if page.dropped:
                yield [], start, page.dropped
            return
        stamps = [_stamp(record, prop, start) for record in page.records]
        last = max(stamps)
        if page.after is None:
            yield page.records, last, page.dropped
            return
        if min(stamps) == last:  # a whole page modified at one instant: read it by id
            async for tied in client.search(kind, [[Filter(prop, "EQ", str(last))]], properties):
                yield tied.records, last, tied.dropped
            start = last + 1
            continue
        kept = [r for r, stamp in zip(page.records, stamps, strict=True) if stamp < last]
        yield kept, last, page.dropped
        start = last


def _without_id(kind: str, n: int) -> BadRecord:
    """A search result HubSpot gave without an id: counted and reported, never stored."""
    what = "contact" if kind == "contacts" else "deal"
    return BadRecord(
        0, "id", "a search result without an id (skipped)", f"{what} without id #{n + 1}"
    )


def _stamp(record: Record, prop: str, floor: int) -> int:
    """When `record` was modified (epoch ms); `floor` if HubSpot's value cannot be read."""
    for text in (record.properties.get(prop), record.updated_at):
        try:
            instant = parse_instant(text)
        except ValueError:
            continue
        if instant is not None:
            return int(instant.timestamp() * 1000)
    return floor


async def _sync_owners(engine: AsyncEngine, client: HubSpotClient, name: str) -> dict[str, str]:
    """Store the portal's owners (archived ones too) and return owner id -> email."""
    everyone = {o.id: o for o in await client.owners(archived=True)}
    everyone.update({o.id: o for o in await client.owners()})
    async with session_scope(engine) as session:
        rows = await session.exec(select(OwnerRow).where(OwnerRow.source == name))
        stored = {row.external_id: row for row in rows.all()}
        for owner_id, owner in everyone.items():
            row = stored.get(owner_id) or OwnerRow(source=name, external_id=owner_id)
            if row.email != owner.email:
                row.slack_user_id = None  # found by email: look it up again
                row.slack_checked_at = None
            row.email, row.name, row.archived = owner.email, owner.name, owner.archived
            session.add(row)
        for owner_id, row in stored.items():
            if owner_id not in everyone and not row.archived:
                row.archived = True
                session.add(row)
    return {owner_id: o.email for owner_id, o in everyone.items() if o.email}


async def _save_cursor(session: AsyncSession, name: str, kind: str, value: dict[str, Any]) -> None:
    """The cursor of `kind`, in the transaction that stores the rows it covers."""
    state = await session.get(SourceState, name)
    if state is None:
        state = SourceState(name=name, kind="hubspot")
    state.cursor = {**(state.cursor or {}), kind: value}
    session.add(state)
