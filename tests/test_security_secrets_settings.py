"""Secrets never show when the settings hold them and the bot cannot start: a database URL
with a password that cannot be reached, and settings that are refused; not in output or logs,
text or JSON, with or without --debug."""

from __future__ import annotations

import pytest

from bot.sandbox.hubspot import TOKEN as PORTAL_TOKEN
from bot.sandbox.slack import APP_TOKEN, TOKEN
from tests.conftest import CLI
from tests.utils.secrets import (
    PASSWORD,
    UNREACHABLE_DB,
    assert_no_secret,
)
from tests.utils.slack_bot import SIGNING_SECRET

# --- a database URL with a password that cannot be reached ----------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("agreement", "history"),
        ("--debug", "agreement", "history"),
        ("--debug", "status", "--json"),
        ("--debug", "run"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_unreachable_database(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    logs: pytest.LogCaptureFixture,
    args: tuple[str, ...],
    log_format: str,
) -> None:
    from tests.conftest import _runner

    for name, value in {
        "SLABOT_DATABASE_URL": UNREACHABLE_DB,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "HUBSPOT_TOKEN": PORTAL_TOKEN,
        "SLABOT_LOG_LEVEL": "DEBUG",
        "SLABOT_LOG_FORMAT": log_format,
    }.items():
        cli_env.setenv(name, value)
    result = _runner(capsys)(*args)
    assert result.code == 1
    assert "slabot:***@127.0.0.1:1/x" in result.err  # where it looked, the password masked
    if "--debug" in args:
        assert "Traceback (most recent call last)" in result.err
    assert_no_secret(out=result.out, err=result.err, logs=logs.text)


# --- settings that are refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-1234567890-0987654321-usertokensecret"),
        ("SLACK_APP_TOKEN", TOKEN),
        ("SLABOT_DATABASE_URL", f"mysql://slabot:{PASSWORD}@db.internal/sla"),
        ("SLABOT_DATABASE_URL", f"postgresql://slabot:{PASSWORD}@db.internal:port/sla"),
        ("SLABOT_PORT", "http"),
    ],
)
@pytest.mark.parametrize("command", [("--debug", "agreement", "history"), ("--debug", "run")])
def test_a_refused_setting(
    sqlite_cli: CLI,
    cli_env: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
    name: str,
    value: str,
    command: tuple[str, ...],
) -> None:
    cli_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    cli_env.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    cli_env.setenv("HUBSPOT_TOKEN", PORTAL_TOKEN)
    cli_env.setenv(name, value)
    result = sqlite_cli(*command)
    assert result.code == 2
    assert result.err.startswith(f"invalid setting: {name}: ")
    assert value not in result.err
    assert_no_secret(out=result.out, err=result.err, logs=logs.text)
