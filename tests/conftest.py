"""Shared fixtures: a real SQLite file and a real PostgreSQL database, migrated, per test."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (the tables, for truncation)
from bot.cli import main
from bot.sandbox.slack import FakeSlack
from models.db import create_engine, upgrade

if TYPE_CHECKING:
    from tests.utils.slack_bot import SlackBot

PG_URL = os.environ.get("SLABOT_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("SLABOT_TEST_REQUIRE_POSTGRES") == "1"
NO_PG = (
    "PostgreSQL tests need SLABOT_TEST_POSTGRES_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/postgres); .ci/run sets it"
)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    assert PG_URL is not None
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def create_pg_database() -> str:
    """A new, empty PostgreSQL database; returns its URL."""
    if PG_URL is None:
        if REQUIRE_PG:
            pytest.fail("SLABOT_TEST_REQUIRE_POSTGRES=1 but SLABOT_TEST_POSTGRES_URL is not set")
        pytest.skip(NO_PG)
    name = f"slabot_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        if REQUIRE_PG:
            raise
        pytest.skip(f"PostgreSQL at SLABOT_TEST_POSTGRES_URL is not reachable: {exc}")
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "slabot.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_session_database() -> Iterator[str]:
    url = create_pg_database()
    asyncio.run(_migrate(url))
    yield url
    drop_pg_database(url)


async def _truncate(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file of this test's own."""
    path = tmp_path / "slabot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    url: str = request.getfixturevalue("pg_session_database")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs on a real SQLite file and on a real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@dataclass
class Result:
    code: int
    out: str
    err: str


CLI = Callable[..., Result]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: no SLABOT_/SLACK_/HUBSPOT_ variables, cwd in a temp folder."""
    for name in list(os.environ):
        if name.startswith(("SLABOT_", "SLACK_", "HUBSPOT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return monkeypatch


def _runner(capsys: pytest.CaptureFixture[str]) -> CLI:
    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli(cli_env: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]) -> CLI:
    """Runs `slabot ARGS…` in-process against this test's store (SQLite and PostgreSQL)."""
    cli_env.setenv("SLABOT_DATABASE_URL", database_url)
    return _runner(capsys)


@pytest.fixture
def sqlite_cli(
    cli_env: pytest.MonkeyPatch, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> CLI:
    """Runs `slabot ARGS…` in-process against this test's SQLite store only."""
    cli_env.setenv("SLABOT_DATABASE_URL", sqlite_url)
    return _runner(capsys)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`slabot run` configures the root logger; give the next test the logger it had."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on a loopback port."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def slack_bot(
    database_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackBot]:
    """The bot's HTTP listener on this test's store (SQLite and PostgreSQL), at a fixed instant."""
    from tests.utils.slack_bot import SlackBot, settings_for

    bot = SlackBot(
        fake=fake_slack,
        engine=engine,
        settings=settings_for(database_url, fake_slack),
        at=datetime(2027, 3, 3, 15, 0, tzinfo=UTC),  # Wednesday 09:00 in Chicago
    )
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger, from DEBUG up (the secrets tests read them all)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog
