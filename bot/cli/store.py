"""`slabot db upgrade`: bring the store's schema to the latest migration."""

from __future__ import annotations

from bot.cli.app import db_app
from bot.cli.common import console, open_store, run, settings
from models.db import current_revision


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Apply migrations (run also does this at start)."""
    config = settings()

    async def go() -> str | None:
        async with open_store(config) as engine:
            return await current_revision(engine)

    revision = run(go())
    console.print(f"Store is at migration {revision} (latest).", markup=False)
