"""Helpers for tests that start the bot as a real process: a free port, a clean environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the child imports this tree, like the tests
BOT_SETTINGS = ("SLABOT_", "SLACK_", "HUBSPOT_")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(**settings: str) -> dict[str, str]:
    """This environment without the bot's own settings (a developer's shell may have some),
    importing this tree, with `settings` added."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(BOT_SETTINGS)}
    return {**env, "PYTHONPATH": str(ROOT), **settings}


def start_run(env: dict[str, str], folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """`slabot run` in `folder`, its output in the file `log`: not a pipe read only at the end,
    which would block the bot once full."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
