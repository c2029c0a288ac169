"""`slabot demo`: the whole job offline, in under a minute (`bot.sandbox.demo`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from bot.cli.app import app
from bot.cli.common import run
from bot.logs import configure_logging
from bot.sandbox.demo import run_demo

OUT = Path("demo-output")


@app.command("demo")
def demo_command(
    out: Path = typer.Option(
        OUT, "--out", help="Where to write the charts, reports and transcript."
    ),
) -> None:
    """Show the whole job offline: sample data, the real pipeline, a fake Slack printing it all."""
    configure_logging(logging.WARNING, "text")  # the story is the output; warnings still show
    out.mkdir(parents=True, exist_ok=True)
    run(run_demo(out, sys.stdout))
