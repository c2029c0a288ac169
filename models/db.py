"""The store's engine, sessions and migrations (a SQLite file by default, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """The URL with an async driver: `sqlite:///x.db` -> `sqlite+aiosqlite:///x.db`, and so on."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("is not a database URL; e.g. sqlite:///./slabot.db") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ValueError(f"unsupported database {backend!r}; use sqlite:/// or postgresql://")
    if "+" not in parsed.drivername or parsed.drivername in (
        "sqlite+pysqlite",
        "postgresql+psycopg2",
    ):
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets foreign keys, WAL and a busy timeout, and
    PostgreSQL connections are tested as they leave the pool."""
    url = async_url(url)
    if url.startswith("postgresql"):
        # After the server restarted (or a fail-over) the pooled connections are dead; without
        # the ping, the first use of each fails the job or the request that drew it.
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block ends and rolls back everything if it raises."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


T = TypeVar("T")

# Ids per `IN (…)` list: well under SQLite's and PostgreSQL's (32,767) limits on bound parameters.
ID_CHUNK = 500


def id_chunks(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    """`ids` in slices of `ID_CHUNK`, one statement each."""
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


MIGRATION_LOCK = 0x51A_B07  # the advisory lock replicas starting at once take turns on


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the latest by default). On PostgreSQL, replicas that
    start at the same moment take turns (an advisory lock held until the migration commits), so
    the second finds the schema up to date instead of racing the first."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)
