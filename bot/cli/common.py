"""What every command shares: settings, the store, instants, and output for people or JSON."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import BadInput, NotReady
from bot.settings import Settings, SettingsError, load_settings
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force
from models.db import create_engine, upgrade

T = TypeVar("T")


def _width() -> int | None:
    # On a terminal rich measures it; in a pipe or a file a table should not be cut at 80.
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return None
    return 200


console = Console(highlight=False, soft_wrap=True, width=_width())
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise BadInput(str(exc)) from None


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def open_store(config: Settings) -> AsyncIterator[AsyncEngine]:
    """The store, migrated to the latest schema, closed when the block ends."""
    engine = create_engine(config.database_url)
    try:
        try:
            await upgrade(engine)
        except (OSError, SQLAlchemyError) as exc:
            where = engine.url.render_as_string(hide_password=True)
            cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NotReady(
                f"cannot open the store at {where}: {cause}; check SLABOT_DATABASE_URL"
            ) from exc
        yield engine
    finally:
        await engine.dispose()


NO_AGREEMENT = (
    "No agreement yet: run `slabot agreement apply FILE` first (see examples/agreement.yaml)."
)


async def agreement_in_force(session: AsyncSession, at: datetime) -> Agreement:
    """The agreement governing `at`, or NotReady saying how to store one."""
    version = await version_in_force(session, at)
    if version is None:
        raise NotReady(NO_AGREEMENT)
    return agreement_of(version)


def who(by: str | None) -> str:
    """Who acts from the command line: `--by`, else `cli:<login>`."""
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse_at(text: str | None, option: str = "--at") -> datetime:
    """`--at` as an aware instant (ISO 8601 with offset), or now when not given."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{option}: {text!r} is not an ISO 8601 instant; e.g. 2027-03-01T09:00:00-06:00"
        ) from None
    if value.tzinfo is None:
        raise BadInput(f"{option}: {text!r} has no UTC offset; add one, e.g. {text}+00:00")
    return value.astimezone(UTC)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
