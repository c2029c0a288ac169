"""`slabot run`: check settings, migrate the store, apply SLABOT_AGREEMENT, then serve Slack and
run the scheduler while this replica leads (`bot.service`)."""

from __future__ import annotations

import logging

from bot.app import Deps, build_app
from bot.cli.app import app
from bot.cli.common import open_store, parse_at, run, settings
from bot.errors import BadInput
from bot.logs import configure_logging
from bot.service import run_bot
from bot.settings import Settings, SettingsError
from models.agreement import Agreement
from models.agreement_loader import AgreementError, load_agreement
from models.agreements import apply_agreement
from models.db import session_scope

log = logging.getLogger("slabot.run")


@app.command("run")
def run_command() -> None:
    """Start the bot (Socket Mode if SLACK_APP_TOKEN, else HTTP on SLABOT_PORT)."""
    config = settings()
    try:
        config.require_slack()
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    configure_logging(config.log_level_number, config.log_format)
    agreement = None
    if config.agreement is not None:
        try:
            agreement = load_agreement(config.agreement)
        except AgreementError as exc:
            raise BadInput(f"SLABOT_AGREEMENT: {exc}") from None
    run(_serve(config, agreement))


async def _serve(config: Settings, agreement: Agreement | None) -> None:
    async with open_store(config) as engine:
        log.info("store migrated")
        if agreement is not None and config.agreement is not None:
            async with session_scope(engine) as session:
                applied = await apply_agreement(
                    session,
                    agreement=agreement,
                    source_text=config.agreement.read_text(encoding="utf-8"),
                    file=str(config.agreement),
                    by="SLABOT_AGREEMENT",
                    at=parse_at(None),
                )
            state = "stored" if applied.created else "unchanged"
            log.info("agreement version %s %s", applied.version.version, state)
        deps = Deps(engine=engine, settings=config)
        await run_bot(build_app(deps), deps)
