"""Migrations build the whole schema on an empty store, match the models, and go down cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from models.db import alembic_config, create_engine, current_revision, downgrade, upgrade
from tests.conftest import CLI, create_pg_database, drop_pg_database

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store with nothing in it at all (no schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_upgrade_builds_every_table_and_matches_the_models(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == HEAD
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            assert set(SQLModel.metadata.tables) <= tables
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_harmless_and_downgrade_removes_everything(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        await upgrade(engine)
        await upgrade(engine)
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await upgrade(engine)
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_replicas_starting_at_once_migrate_one_after_the_other() -> None:
    """Four replicas upgrading a fresh PostgreSQL database at the same moment: the advisory
    lock makes them take turns, so none fails on a table another is creating."""
    url = create_pg_database()

    async def start_four() -> str | None:
        engines = [create_engine(url) for _ in range(4)]
        try:
            # Without the lock they deadlock on each other's DDL: fail, don't hang.
            await asyncio.wait_for(asyncio.gather(*(upgrade(e) for e in engines)), 120)
            return await current_revision(engines[0])
        finally:
            for engine in engines:
                await engine.dispose()

    try:
        assert asyncio.run(start_four()) == HEAD
    finally:
        drop_pg_database(url)


def test_db_upgrade_command(
    cli_env: pytest.MonkeyPatch, empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import _runner

    cli_env.setenv("SLABOT_DATABASE_URL", empty_url)
    run: CLI = _runner(capsys)
    first = run("db", "upgrade")
    assert first.code == 0, first.err
    assert f"migration {HEAD}" in first.out
    assert run("db", "upgrade").code == 0


def test_unreachable_database_is_one_line_exit_1(
    sqlite_cli: CLI, cli_env: pytest.MonkeyPatch
) -> None:
    cli_env.setenv("SLABOT_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = sqlite_cli("db", "upgrade")
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.err


async def test_0005_backfills_the_closure_and_the_change_stamps(empty_url: str) -> None:
    """Existing follow-up rows get their lead's first touch and closure; entries a stamp."""
    engine = create_engine(empty_url)
    early, late = datetime(2027, 1, 1, 10, tzinfo=UTC), datetime(2027, 1, 2, 10, tzinfo=UTC)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as connection:
            for pk, touched, disqualified in ((1, late, early), (2, late, None), (3, None, None)):
                await connection.execute(
                    text(
                        "INSERT INTO lead (id, source, external_id, first_touch_at, disqualified_at)"
                        " VALUES (:pk, 's', :name, :touched, :disqualified)"
                    ),
                    {"pk": pk, "name": str(pk), "touched": touched, "disqualified": disqualified},
                )
                await connection.execute(
                    text(
                        "INSERT INTO lead_stage (lead_id, stage, entered_at) VALUES (:pk, 'mqls', :at)"
                    ),
                    {"pk": pk, "at": early},
                )
                await connection.execute(
                    text(
                        "INSERT INTO followup_state (rule, lead_id, rule_key, handed_off_at, warn_at,"
                        " deadline, state, updated_at) VALUES ('r', :pk, 'k', :at, :at, :at,"
                        " 'pending', :at)"
                    ),
                    {"pk": pk, "at": early},
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT f.first_touch_at, f.closed_at, l.first_touch_at, l.disqualified_at,"
                        " s.changed_at, s.entered_at FROM followup_state f"
                        " JOIN lead l ON l.id = f.lead_id JOIN lead_stage s ON s.lead_id = l.id"
                        " ORDER BY f.lead_id"
                    )
                )
            ).all()
        (one, two, three) = rows
        assert (one[0], one[1]) == (one[2], one[3])  # disqualified before the touch
        assert (two[0], two[1]) == (two[2], two[2])
        assert (three[0], three[1]) == (None, None)
        assert all(row[4] == row[5] for row in rows)
    finally:
        await engine.dispose()
