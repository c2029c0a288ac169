"""The command line's promises: exit statuses, one-line failures, --debug tracebacks, help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import CLI

COMMANDS = ("run", "agreement", "plan", "db")


def test_help_lists_the_commands(sqlite_cli: CLI) -> None:
    result = sqlite_cli("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert command in result.out


def test_unknown_command_and_bad_option_are_usage_errors(sqlite_cli: CLI) -> None:
    assert sqlite_cli("nope").code == 2
    assert sqlite_cli("plan", "--bogus").code == 2


@pytest.mark.parametrize("value", ["yesterday", "2027-13-01T00:00:00Z", "2027-03-01T09:00:00"])
def test_bad_at_is_exit_2_and_says_how(sqlite_cli: CLI, value: str) -> None:
    result = sqlite_cli("agreement", "show", "--at", value)
    assert result.code == 2
    assert "--at" in result.err
    assert "Traceback" not in result.err


def test_unreachable_store_is_one_line_without_the_password(
    sqlite_cli: CLI, cli_env: pytest.MonkeyPatch
) -> None:
    cli_env.setenv("SLABOT_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:1/none")
    result = sqlite_cli("agreement", "history")
    assert result.code == 1
    assert result.err.startswith(
        "error: cannot open the store at postgresql+asyncpg://u:***@127.0.0.1:1/none"
    )
    assert "hunter2" not in result.err
    assert "Traceback" not in result.err
    debug = sqlite_cli("--debug", "agreement", "history")
    assert debug.code == 1
    assert "Traceback" in debug.err
    assert "hunter2" not in debug.err


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "slabot" in result.stdout
