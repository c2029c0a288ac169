"""`slabot sandbox`: the fake Slack and HubSpot of the demo, kept running for `slabot run`.

They are seeded with six months of sample data up to now; the folder gets the sample agreement,
its traffic CSV and a `.env` that points the bot at the fakes, so `slabot run` started there
talks to them, and `slabot sandbox say` sends it signed requests as Slack would.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import typer

from bot.cli.app import sandbox_app
from bot.sandbox.demo import Transcript
from bot.sandbox.world import DATABASE_FILE, open_world

FOLDER = Path("sandbox")
SLACK_PORT, HUBSPOT_PORT, BOT_PORT = 3001, 3002, 3000


@sandbox_app.callback(invoke_without_command=True)
def sandbox_command(
    ctx: typer.Context,
    folder: Path = typer.Option(FOLDER, "--folder", help="Where the agreement, data and .env go."),
    slack_port: int = typer.Option(SLACK_PORT, "--slack-port", help="The fake Slack's port."),
    hubspot_port: int = typer.Option(HUBSPOT_PORT, "--hubspot-port", help="The fake HubSpot's."),
    bot_port: int = typer.Option(BOT_PORT, "--bot-port", help="SLABOT_PORT written to .env."),
) -> None:
    """Start the fake Slack and HubSpot (until Ctrl-C) and print what the bot sends them."""
    if ctx.invoked_subcommand is not None:
        return
    (folder / DATABASE_FILE).unlink(missing_ok=True)  # a fresh store for fresh sample data
    now = datetime.now(UTC)  # the composition root: the sandbox lives in the present
    with open_world(
        folder.resolve(),
        at=now,
        fixed_period=False,
        slack_port=slack_port,
        hubspot_port=hubspot_port,
    ) as world:
        env = {**world.environment(), "SLABOT_PORT": str(bot_port)}
        (folder / ".env").write_text(
            "# Written by `slabot sandbox`: the bot's settings for the local fakes.\n"
            + "".join(f"{name}={value}\n" for name, value in env.items()),
            encoding="utf-8",
        )
        show = Transcript(sys.stdout, world.names)
        world.slack.watch(show.shown)
        show.paragraph(
            f"Sandbox ready: fake Slack at {world.slack.url}, fake HubSpot at"
            f" {world.hubspot.url} ({world.summary.line()})."
        )
        slabot = _command_from(folder)
        show.say(f"{folder / '.env'} points the bot at them. In another terminal:")
        show.say(f"  cd {folder} && {slabot} run")
        show.say("and then talk to the bot as Slack would:")
        show.say(f'  cd {folder} && {slabot} sandbox say "/sla status"')
        show.say("Everything the bot sends to Slack is printed here. Ctrl-C stops the sandbox.")
        _wait_for_a_signal()


def _command_from(folder: Path) -> str:
    """How to call this same `slabot` from inside `folder` (`../.venv/bin/slabot`)."""
    program = Path(sys.argv[0])
    if program.name != "slabot" or not program.exists():
        return "slabot"  # run as `python -m bot.cli`, or found on the PATH
    return os.path.relpath(program.resolve(), folder.resolve())


def _wait_for_a_signal() -> None:
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    while not stopped.wait(0.5):  # wake now and then, so the signal handler runs
        pass
