"""Synthetic stores for the benchmarks: seeded leads, hand-offs, touches, deals and daily metrics.

Rows are written in bulk (PostgreSQL COPY through asyncpg, SQLite Core `executemany`), never
through the ORM upserts that sync uses: those are built for correctness, not for a million rows.
The same seed gives the same store on every machine and every database.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table, insert
from sqlalchemy.engine import make_url

from models.agreement import Agreement
from models.agreement_loader import load_agreement
from models.agreements import apply_agreement
from models.db import create_engine, session_scope, upgrade
from models.tables import Deal, Lead, LeadStage, MetricValue, Owner, SourceState

AGREEMENT_FILE = Path(__file__).resolve().parent.parent / "examples" / "agreement.yaml"
# A Tuesday afternoon in the example agreement's period (America/Chicago business hours).
AT = datetime(2027, 6, 15, 15, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)
CHUNK = 10_000
SOURCE = "bench"
METRICS_SOURCE = "bench-metrics"
# (metric, team, daily base as a share of the day's leads, or an absolute number)
METRICS: tuple[tuple[str, str, float, bool], ...] = (
    ("visits", "marketing", 50.0, True),
    ("signups", "marketing", 0.6, True),
    ("calls", "sales", 120.0, False),
    ("meetings", "sales", 25.0, False),
    ("churned_customers", "customer_success", 1.0, False),
    ("active_customers", "customer_success", 400.0, False),
)

Row = tuple[Any, ...]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Shape:
    """How big a synthetic store is; every other proportion is fixed (see `generate`)."""

    leads: int
    open_leads: int
    days: int = 730
    owners: int = 50
    mql_share: float = 0.9
    seed: int = 2027

    @property
    def mqls(self) -> int:
        return round(self.leads * self.mql_share)

    def __post_init__(self) -> None:
        if not 0 <= self.open_leads <= self.mqls:
            raise ValueError(f"open_leads must be within 0..{self.mqls} (the hand-offs)")


@dataclass
class Batch:
    """Rows for a chunk of leads, by table, in insertion order."""

    leads: list[Row] = field(default_factory=list)
    stages: list[Row] = field(default_factory=list)
    deals: list[Row] = field(default_factory=list)


LEAD_COLUMNS = (
    "id",
    "source",
    "external_id",
    "owner_email",
    "owner_external_id",
    "stage",
    "first_touch_at",
    "first_touch_by",
    "disqualified_at",
    "disqualify_reason",
    "disqualified_by",
    "updated_at",
)
# Each entry as if synced when it happened (`changed_at`, see `bot.followup_deadlines`).
STAGE_COLUMNS = ("lead_id", "stage", "entered_at", "changed_at")
DEAL_COLUMNS = (
    "id",
    "source",
    "external_id",
    "owner_email",
    "amount",
    "stage",
    "created_at",
    "closed_won_at",
)
METRIC_COLUMNS = ("id", "source", "metric", "day", "team", "value", "entered_by", "entered_at")
OWNER_COLUMNS = ("id", "source", "external_id", "email", "name", "slack_user_id", "archived")


def handoff_instants(count: int, *, at: datetime, days: int, seed: int) -> Iterator[datetime]:
    """`count` instants in time order, spread evenly (with jitter) over `days` ending at `at`."""
    rng = random.Random(seed)
    start = at - timedelta(days=days)
    step = days * 86_400 / max(count, 1)
    for i in range(count):
        yield start + timedelta(seconds=int((i + rng.random()) * step))


def owner_email(index: int) -> str:
    return f"rep{index:02d}@example.com"


def generate(shape: Shape, *, at: datetime) -> Iterator[Batch]:
    """The leads of `shape` in chunks of `CHUNK`, each with its stages and deals.

    Every lead enters `leads`; `mql_share` of them are handed off (`mqls`), exactly
    `open_leads` of those stay untouched; of the rest 80% are touched within hours, 17% late
    (4 h to 5 days) and 3% disqualified. Touched leads move on: half to `sqls`, half of those
    to `proposals` (a deal), 30% of those to `customers` (the deal won). Nothing is after `at`.
    """
    rng = random.Random(shape.seed + 1)
    mqls_left, open_left = shape.mqls, shape.open_leads
    mqls_seen = 0
    batch = Batch()
    instants = handoff_instants(shape.leads, at=at, days=shape.days, seed=shape.seed)
    for lead_id, handoff in enumerate(instants, start=1):
        # Selection sampling (Knuth's algorithm S): exactly `mqls` and `open_leads`, streaming.
        is_mql = rng.random() * (shape.leads - lead_id + 1) < mqls_left
        is_open = False
        if is_mql:
            is_open = rng.random() * (shape.mqls - mqls_seen) < open_left
            mqls_left -= 1
            mqls_seen += 1
            open_left -= is_open
        _lead(batch, rng, shape, lead_id, handoff, at=at, is_mql=is_mql, is_open=is_open)
        if len(batch.leads) >= CHUNK:
            yield batch
            batch = Batch()
    if batch.leads:
        yield batch


def _lead(
    batch: Batch,
    rng: random.Random,
    shape: Shape,
    lead_id: int,
    handoff: datetime,
    *,
    at: datetime,
    is_mql: bool,
    is_open: bool,
) -> None:
    owner = rng.randrange(shape.owners)
    email = owner_email(owner)
    created = handoff - timedelta(seconds=rng.randrange(0, 3 * 86_400)) if is_mql else handoff
    batch.stages.append((lead_id, "leads", created, created))
    stage, touch, disqualified, updated = "leads", None, None, created
    if is_mql:
        batch.stages.append((lead_id, "mqls", handoff, handoff))
        stage, updated = "mqls", handoff
        if not is_open:
            draw = rng.random()
            if draw < 0.03:
                disqualified = _before(rng, handoff, rng.uniform(1_800, 3 * 86_400), at)
            elif draw < 0.83:
                touch = _before(rng, handoff, rng.expovariate(1 / 5_400), at)
            else:
                touch = _before(rng, handoff, rng.uniform(4 * 3_600, 5 * 86_400), at)
            updated = touch or disqualified or handoff
    if touch is not None:
        stage, updated = _progress(batch, rng, lead_id, email, touch, at=at)
        updated = max(updated, touch)
    batch.leads.append(
        (
            lead_id,
            SOURCE,
            f"L{lead_id:07d}",
            email,
            str(1000 + owner),
            stage,
            touch,
            email if touch else None,
            disqualified,
            "not a fit" if disqualified else None,
            email if disqualified else None,
            updated,
        )
    )


def _before(rng: random.Random, start: datetime, seconds: float, at: datetime) -> datetime:
    """`start + seconds`, or a point in (start, at] when that would be after `at`."""
    moment = start + timedelta(seconds=int(seconds))
    if moment <= at:
        return moment
    return start + timedelta(seconds=int((at - start).total_seconds() * rng.random()))


def _progress(
    batch: Batch, rng: random.Random, lead_id: int, email: str, touch: datetime, *, at: datetime
) -> tuple[str, datetime]:
    """Later stages of a touched lead (and its deal); returns its stage and last change."""
    stage, moment = "mqls", touch
    deal: list[Any] | None = None
    steps = (("sqls", 0.5, 1, 10), ("proposals", 0.5, 3, 20), ("customers", 0.3, 5, 40))
    for name, share, low, high in steps:
        if rng.random() >= share:
            break
        following = moment + timedelta(seconds=rng.randrange(low * 86_400, high * 86_400))
        if following > at:
            break
        stage, moment = name, following
        batch.stages.append((lead_id, name, moment, moment))
        if name == "proposals":
            amount = Decimal(rng.randrange(50, 800) * 100)
            outcome = rng.choice(("open", "closedlost"))
            deal = [lead_id, SOURCE, f"D{lead_id:07d}", email, amount, outcome, moment, None]
        elif deal is not None:  # customers: the deal is won
            deal[5], deal[7] = "closedwon", moment
    if deal is not None:
        batch.deals.append(tuple(deal))
    return stage, moment


def metric_rows(shape: Shape, *, at: datetime, zone: ZoneInfo) -> list[Row]:
    """`shape.days` of daily values per metric and team, ending on the local date of `at`."""
    rng = random.Random(shape.seed + 2)
    last = at.astimezone(zone).date()
    per_day = shape.leads / shape.days
    rows: list[Row] = []
    for offset in range(shape.days - 1, -1, -1):
        day = last - timedelta(days=offset)
        weekend = day.weekday() >= 5
        entered = datetime.combine(day + timedelta(days=1), time(1), zone).astimezone(UTC)
        for metric, team, base, by_leads in METRICS:
            mean = base * per_day if by_leads else base
            value = round(mean * (0.4 if weekend else 1.0) * rng.uniform(0.7, 1.3))
            rows.append(
                (
                    len(rows) + 1,
                    METRICS_SOURCE,
                    metric,
                    day,
                    team,
                    float(value),
                    None,
                    min(entered, at),
                )
            )
    return rows


def owner_rows(shape: Shape) -> list[Row]:
    """The owners; nine in ten are matched to a Slack user."""
    return [
        (
            k + 1,
            SOURCE,
            str(1000 + k),
            owner_email(k),
            f"Rep {k:02d}",
            f"U0REP{k:04d}" if k % 10 else None,
            False,
        )
        for k in range(shape.owners)
    ]


def source_rows(agreement: Agreement, *, at: datetime) -> list[dict[str, Any]]:
    """Each source of the agreement synced five minutes before `at`."""
    synced = at - timedelta(minutes=5)
    return [
        {
            "name": source.name,
            "kind": source.kind,
            "last_attempt_at": synced,
            "last_success_at": synced,
            "fetched": 0,
            "stored": 0,
            "bad": 0,
        }
        for source in agreement.sources
    ]


# -- writing ----------------------------------------------------------------------------------


class _Writer:
    """Bulk inserts into one store: COPY on PostgreSQL, Core executemany on SQLite."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        self.engine = create_engine(url)
        self._pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> _Writer:
        if self.backend != "sqlite":
            self._pg = await asyncpg.connect(_plain_dsn(self.url))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._pg is not None:
            await self._pg.close()
        await self.engine.dispose()

    async def write(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        if self._pg is not None:
            await self._pg.copy_records_to_table(table.name, records=rows, columns=list(columns))
            return
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
            )

    async def finish(self, tables: Sequence[Table]) -> None:
        """Move PostgreSQL's id sequences past the explicit ids."""
        if self._pg is None:
            return
        for table in tables:
            await self._pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )


async def tidy(url: str) -> None:
    """`VACUUM ANALYZE` on PostgreSQL (nothing on SQLite), as autovacuum would after a bulk change.

    Done explicitly so that every run measures the same plans, whether or not the server's
    autovacuum is on and however soon it would have woken up.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return
    connection = await asyncpg.connect(_plain_dsn(url))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def read_agreement(path: Path) -> tuple[Agreement, str]:
    """The validated agreement and its text (stored with the applied version)."""
    return load_agreement(path), path.read_text(encoding="utf-8")


async def load(
    url: str,
    shape: Shape,
    *,
    at: datetime = AT,
    agreement_file: Path = AGREEMENT_FILE,
    progress: Progress | None = None,
) -> Agreement:
    """Migrate the empty store at `url`, apply the agreement and fill it; returns the agreement."""
    agreement, source_text = read_agreement(agreement_file)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with session_scope(engine) as session:
            await apply_agreement(
                session,
                agreement=agreement,
                source_text=source_text,
                file=str(agreement_file),
                by="bench",
                at=at - timedelta(days=shape.days + 7),
            )
            await session.exec(insert(SourceState), params=source_rows(agreement, at=at))
    finally:
        await engine.dispose()
    async with _Writer(url) as writer:
        await writer.write(_table(Owner), OWNER_COLUMNS, owner_rows(shape))
        await writer.write(
            _table(MetricValue), METRIC_COLUMNS, metric_rows(shape, at=at, zone=agreement.zone)
        )
        for batch in generate(shape, at=at):
            await writer.write(_table(Lead), LEAD_COLUMNS, batch.leads)
            await writer.write(_table(LeadStage), STAGE_COLUMNS, batch.stages)
            await writer.write(_table(Deal), DEAL_COLUMNS, batch.deals)
            if progress is not None:
                progress(len(batch.leads))
        await writer.finish([_table(Owner), _table(MetricValue), _table(Lead), _table(Deal)])
    await tidy(url)
    return agreement


# -- scratch stores ---------------------------------------------------------------------------


async def postgres_problem(admin_url: str) -> str | None:
    """Why PostgreSQL at `admin_url` cannot hold scratch databases, or None when it can."""
    try:
        connection = await asyncpg.connect(_plain_dsn(admin_url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    await connection.close()
    return None


@contextmanager
def scratch_store(
    backend: str, name: str, *, postgres_url: str, folder: Path | None = None
) -> Iterator[str]:
    """A new, empty database (`slabot_bench_*` on PostgreSQL, a temp SQLite file), dropped after."""
    tag = f"{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="slabot_bench_", dir=folder) as directory:
            yield f"sqlite:///{Path(directory) / f'{tag}.db'}"
        return
    database = f"slabot_bench_{tag}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(postgres_url).set(database=database).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def _admin(postgres_url: str, sql: str) -> None:
    connection = await asyncpg.connect(_plain_dsn(postgres_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
